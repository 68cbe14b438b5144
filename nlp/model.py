"""The learned part of the classifier: TF-IDF features and a linear model per target
(department, category), trained by `nlp.training` on confirmed tickets and stored as JSON.

Scoring is plain Python over a sparse dict, so loading a model costs no numeric library import
and one suggestion stays well under a millisecond.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "hotline-nlp-model/2"
# Files of the first format (dense weights, no urgency head) still load.
FORMATS = ("hotline-nlp-model/1", FORMAT)
URGENT = "urgent"


def features(tokens: Iterable[str], normalised: str) -> list[str]:
    """Words (jieba tokens with letters or digits) and character bigrams of the CJK runs:
    bigrams catch colloquial spellings the dictionary does not know (井盖没了 / 盖子没了)."""
    words = [f"w:{token}" for token in tokens if any(char.isalnum() for char in token)]
    bigrams = [
        f"c:{a}{b}"
        for a, b in itertools.pairwise(normalised)
        if "\u4e00" <= a <= "\u9fff" and "\u4e00" <= b <= "\u9fff"
    ]
    return words + bigrams


def readable(feature: str) -> str:
    """The text a feature stands for, for the agent's screen."""
    return feature.split(":", 1)[1]


@dataclass(frozen=True)
class Head:
    """One linear classifier: per feature its idf and its non-zero weights by class index."""

    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    idf: Mapping[str, float]
    weights: Mapping[str, tuple[tuple[int, float], ...]]

    def _vector(self, feats: Sequence[str]) -> dict[str, float]:
        counts = Counter(feature for feature in feats if feature in self.idf)
        vector = {f: (1.0 + math.log(n)) * self.idf[f] for f, n in counts.items()}
        norm = math.sqrt(sum(value * value for value in vector.values()))
        return {f: value / norm for f, value in vector.items()} if norm else {}

    def logits(self, feats: Sequence[str]) -> list[float]:
        logits = list(self.intercept)
        for feature, value in self._vector(feats).items():
            for index, weight in self.weights[feature]:
                logits[index] += value * weight
        return logits

    def probabilities(self, feats: Sequence[str]) -> dict[str, float]:
        """Softmax over the classes; uniform-ish (intercepts only) when no feature is known."""
        logits = self.logits(feats)
        top = max(logits)
        exps = [math.exp(logit - top) for logit in logits]
        total = sum(exps)
        return {label: exp / total for label, exp in zip(self.classes, exps, strict=True)}

    def evidence(self, feats: Sequence[str], label: str, limit: int = 3) -> list[str]:
        """The features that pushed hardest toward `label`, as text."""
        if label not in self.classes:
            return []
        index = self.classes.index(label)
        pushes = [
            (value * dict(self.weights[feature]).get(index, 0.0), feature)
            for feature, value in self._vector(feats).items()
        ]
        best = sorted((p for p in pushes if p[0] > 0), reverse=True)[:limit]
        return [readable(feature) for _, feature in best]

    def to_json(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "intercept": [round(value, 6) for value in self.intercept],
            "features": {
                feature: [round(self.idf[feature], 5), [[i, round(w, 5)] for i, w in weights]]
                for feature, weights in self.weights.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Head:
        """A head of either format: [idf, w0, w1 …] (dense) or [idf, [[i, w] …]] (sparse)."""
        classes = tuple(str(label) for label in data["classes"])
        intercept = tuple(float(value) for value in data["intercept"])
        if len(intercept) != len(classes):
            raise ValueError("model: intercept and classes differ in length")
        idf: dict[str, float] = {}
        weights: dict[str, tuple[tuple[int, float], ...]] = {}
        for feature, row in data["features"].items():
            if len(row) == 2 and isinstance(row[1], list):
                pairs = tuple((int(i), float(w)) for i, w in row[1])
                if any(not 0 <= i < len(classes) for i, _ in pairs):
                    raise ValueError(f"model: feature {feature!r} names an unknown class")
            elif len(row) == len(classes) + 1:
                pairs = tuple((i, float(w)) for i, w in enumerate(row[1:]) if w)
            else:
                raise ValueError(f"model: feature {feature!r} has {len(row)} numbers")
            idf[feature] = float(row[0])
            weights[feature] = pairs
        return cls(classes, intercept, idf, weights)


@dataclass(frozen=True)
class TrainedModel:
    """What `hotline nlp train` writes: a department head, maybe category and urgency heads,
    and facts."""

    departments: Head
    categories: Head | None
    examples: int
    trained_at: str
    # Binary head (classes "", "urgent") when the examples say which were urgent.
    urgent: Head | None = None
    # What it was trained on, for `GET /api/nlp/status` and the docs ("tickets", a corpus).
    source: str = "tickets"

    def urgency(self, feats: Sequence[str]) -> float | None:
        """Probability that the text is urgent, if this model has an urgency head."""
        if self.urgent is None:
            return None
        return self.urgent.probabilities(feats).get(URGENT, 0.0)

    @property
    def version(self) -> str:
        return f"{self.trained_at} ({self.examples} tickets)"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "trained_at": self.trained_at,
            "examples": self.examples,
            "source": self.source,
            "departments": self.departments.to_json(),
            "categories": None if self.categories is None else self.categories.to_json(),
            "urgent": None if self.urgent is None else self.urgent.to_json(),
        }

    def save(self, path: Path) -> None:
        """Write atomically: a running server never reads half a model."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".model-", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self.to_json(), out, ensure_ascii=False, separators=(",", ":"))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        """Read a model file; ValueError names what is wrong with it."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"model {path}: {error}") from None
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, where: str = "model") -> TrainedModel:
        """A model from the JSON text of a model file; ValueError if it is not one."""
        path = where
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"model {path}: {error}") from None
        if not isinstance(data, dict) or data.get("format") not in FORMATS:
            raise ValueError(f"model {path}: not a {FORMAT} file")
        try:
            categories = data.get("categories")
            urgent = data.get("urgent")
            return cls(
                departments=Head.from_json(data["departments"]),
                categories=None if categories is None else Head.from_json(categories),
                examples=int(data["examples"]),
                trained_at=str(data["trained_at"]),
                urgent=None if urgent is None else Head.from_json(urgent),
                source=str(data.get("source", "tickets")),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"model {path}: missing or malformed {error}") from None
