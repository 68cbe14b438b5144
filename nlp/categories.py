"""The directory category: the rules' keyword weights and the learned heads' probabilities,
blended and ranked among the categories that agree with the department, so the agent sees
the best three with their scores and picks one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# The first category is suggested when its score reaches SUGGEST_MIN, or the department is
# this sure (cross-validation: suggesting the best even when its score is low is right more
# often than leaving the field empty); the three are always listed for the agent to pick from.
SUGGEST_MIN = 0.2
SURE_DEPARTMENT = 0.4
TOP = 3
# Of a head's hundreds of categories only the likeliest are weighed against the rules.
CANDIDATES = 20


@dataclass(frozen=True)
class CategoryScore:
    code: str
    name: str
    score: float


def rule_shares(weights: Mapping[str, float], minimum: float) -> dict[str, float]:
    """Keyword weights as shares; a category below `minimum` weight is not evidence."""
    kept = {code: weight for code, weight in weights.items() if weight >= minimum}
    total = sum(kept.values())
    return {code: weight / total for code, weight in kept.items()} if total else {}


def rank(
    rules: Mapping[str, float],
    learned: Sequence[tuple[Mapping[str, float], float]],
    agrees: Callable[[str], bool],
    name_of: Callable[[str], str | None],
) -> list[CategoryScore]:
    """Top categories that agree with the department, best first. `rules` are shares that
    sum to at most 1; each learned entry is (probabilities, weight) and takes that share of
    the score from what came before it. Without rules a head speaks alone."""
    scores: dict[str, float] = {code: share for code, share in rules.items() if agrees(code)}
    for probabilities, weight in learned:
        likely = sorted(probabilities.items(), key=lambda item: -item[1])[:CANDIDATES]
        fitting = {code: p for code, p in likely if name_of(code) and agrees(code)}
        total = sum(fitting.values())
        if not total:
            continue
        share = weight if scores else 1.0
        scores = {
            code: (1.0 - share) * scores.get(code, 0.0) + share * fitting.get(code, 0.0) / total
            for code in scores.keys() | fitting.keys()
        }
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return [
        CategoryScore(code, name_of(code) or code, score) for code, score in ranked if score > 0
    ]
