"""What the classifier suggests for one complaint, and why; the JSON of `hotline classify`
and of `POST /api/classify`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nlp.categories import CategoryScore
from nlp.danger import Hazard
from nlp.location import Location


@dataclass(frozen=True)
class DepartmentScore:
    code: str
    name: str
    score: float


@dataclass(frozen=True)
class Category:
    code: str
    name: str


@dataclass(frozen=True)
class Reason:
    """Why a suggestion was made: the words that matched, and where they counted."""

    kind: str  # department | category | urgent | ownership | model
    target: str  # department or category code, urgency reason, ownership topic
    words: tuple[str, ...]

    def to_json_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "words": list(self.words)}


@dataclass(frozen=True)
class Classification:
    departments: tuple[DepartmentScore, ...]
    category: Category | None
    urgent: bool
    matched: tuple[str, ...]
    # Why the case is urgent, for the agent's screen; None when it is not.
    urgent_reason: str | None = None
    reasons: tuple[Reason, ...] = ()
    location: Location | None = None
    # The 确权 topic when ownership is unclear and the coordinator should decide.
    unclear_ownership: str | None = None
    # The danger that makes the case urgent: object, failure state, exposure.
    hazard: Hazard | None = None
    # The best directory categories for the department, for the agent to pick from.
    categories: tuple[CategoryScore, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """The suggestion as JSON: departments (code, score), category or null, urgent, and
        the reasons and location that explain and complete it."""
        return {
            "departments": [{"code": d.code, "score": round(d.score, 4)} for d in self.departments],
            "category": None
            if self.category is None
            else {"code": self.category.code, "name": self.category.name},
            "urgent": self.urgent,
            "urgent_reason": self.urgent_reason,
            "reasons": [reason.to_json_dict() for reason in self.reasons],
            "location": None if self.location is None else self.location.to_json_dict(),
            "unclear_ownership": self.unclear_ownership,
            "hazard": None if self.hazard is None else self.hazard.to_json_dict(),
            "categories": [
                {"code": c.code, "name": c.name, "score": round(c.score, 4)}
                for c in self.categories
            ],
        }
