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

FORMAT = "hotline-nlp-model/1"


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
    """One linear classifier: per feature its idf and one weight per class."""

    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    idf: Mapping[str, float]
    weights: Mapping[str, tuple[float, ...]]

    def _vector(self, feats: Sequence[str]) -> dict[str, float]:
        counts = Counter(feature for feature in feats if feature in self.idf)
        vector = {f: (1.0 + math.log(n)) * self.idf[f] for f, n in counts.items()}
        norm = math.sqrt(sum(value * value for value in vector.values()))
        return {f: value / norm for f, value in vector.items()} if norm else {}

    def probabilities(self, feats: Sequence[str]) -> dict[str, float]:
        """Softmax over the classes; uniform-ish (intercepts only) when no feature is known."""
        logits = list(self.intercept)
        for feature, value in self._vector(feats).items():
            for index, weight in enumerate(self.weights[feature]):
                logits[index] += value * weight
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
            (value * self.weights[feature][index], feature)
            for feature, value in self._vector(feats).items()
        ]
        best = sorted((p for p in pushes if p[0] > 0), reverse=True)[:limit]
        return [readable(feature) for _, feature in best]

    def to_json(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "intercept": [round(value, 6) for value in self.intercept],
            "features": {
                feature: [round(self.idf[feature], 5), *(round(w, 5) for w in weights)]
                for feature, weights in self.weights.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Head:
        classes = tuple(str(label) for label in data["classes"])
        intercept = tuple(float(value) for value in data["intercept"])
        if len(intercept) != len(classes):
            raise ValueError("model: intercept and classes differ in length")
        idf: dict[str, float] = {}
        weights: dict[str, tuple[float, ...]] = {}
        for feature, row in data["features"].items():
            if len(row) != len(classes) + 1:
                raise ValueError(f"model: feature {feature!r} has {len(row)} numbers")
            idf[feature] = float(row[0])
            weights[feature] = tuple(float(value) for value in row[1:])
        return cls(classes, intercept, idf, weights)


@dataclass(frozen=True)
class TrainedModel:
    """What `hotline nlp train` writes: a department head, maybe a category head, and facts."""

    departments: Head
    categories: Head | None
    examples: int
    trained_at: str

    @property
    def version(self) -> str:
        return f"{self.trained_at} ({self.examples} tickets)"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "trained_at": self.trained_at,
            "examples": self.examples,
            "departments": self.departments.to_json(),
            "categories": None if self.categories is None else self.categories.to_json(),
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
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"model {path}: {error}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"model {path}: not a {FORMAT} file")
        try:
            categories = data.get("categories")
            return cls(
                departments=Head.from_json(data["departments"]),
                categories=None if categories is None else Head.from_json(categories),
                examples=int(data["examples"]),
                trained_at=str(data["trained_at"]),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"model {path}: missing or malformed {error}") from None
