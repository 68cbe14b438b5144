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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

FORMAT = "hotline-nlp-model/2"
# Files of the first format (dense weights, no urgency head) still load.
FORMATS = ("hotline-nlp-model/1", FORMAT)
URGENT = "urgent"
# A text's features as a list, or counted once (Counter) to be shared by several heads.
Features = Sequence[str] | Mapping[str, int]
# A feature's non-zero weights as (class index, weight) pairs: looping over pairs is about
# twice as fast as zipping the two parallel lists of the file for every feature of a text.
_Row = tuple[tuple[int, float], ...]


@lru_cache(maxsize=16384)
def _has_alnum(token: str) -> bool:
    return any(char.isalnum() for char in token)


def features(tokens: Iterable[str], normalised: str) -> list[str]:
    """Words (jieba tokens with letters or digits) and character bigrams of the CJK runs:
    bigrams catch colloquial spellings the dictionary does not know (井盖没了 / 盖子没了)."""
    words = [f"w:{token}" for token in tokens if _has_alnum(token)]
    bigrams = [
        f"c:{a}{b}"
        for a, b in itertools.pairwise(normalised)
        if "\u4e00" <= a <= "\u9fff" and "\u4e00" <= b <= "\u9fff"
    ]
    return words + bigrams


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _weight_of(row: _Row, index: int) -> float:
    """A feature's weight for one class (the last if a file names the class twice)."""
    found = 0.0
    for i, weight in row:
        if i == index:
            found = weight
    return found


def readable(feature: str) -> str:
    """The text a feature stands for, for the agent's screen."""
    return feature.split(":", 1)[1]


@dataclass(frozen=True)
class _Subset:
    """A head narrowed to some classes: their labels, the weights that reach them (by
    position among them), their intercepts and, for one-vs-rest, each one's sigmoid when no
    feature moves it."""

    labels: tuple[str, ...]
    weights: dict[str, _Row]
    intercept: tuple[float, ...]
    resting: tuple[float, ...]


@dataclass(frozen=True)
class Head:
    """One linear classifier: per feature its idf and its non-zero weights by class index."""

    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    idf: Mapping[str, float]
    # feature → (class indices, weights): parallel sequences, as stored in the file.
    weights: Mapping[str, tuple[Sequence[int], Sequence[float]]]
    # "softmax" (multinomial regression) or "ovr" (one-vs-rest: sigmoids, then normalised).
    link: str = "softmax"

    def _vector(self, feats: Features) -> list[tuple[str, float, _Row]]:
        """The text's TF-IDF vector over the features this head knows, with each feature's
        weights, in the order the features first occur (the order fixes the float sums,
        hence the exact scores)."""
        counts = feats if isinstance(feats, Mapping) else Counter(feats)
        table = self._table
        # (1 + log 1) * idf is idf itself: the logarithm only for repeated features.
        vector = [
            (feature, entry[0] if count == 1 else (1.0 + math.log(count)) * entry[0], entry[1])
            for feature, count in counts.items()
            if (entry := table.get(feature)) is not None
        ]
        norm = math.sqrt(sum([value * value for _, value, _ in vector]))
        return [(feature, value / norm, row) for feature, value, row in vector] if norm else []

    @property
    def _table(self) -> dict[str, tuple[float, _Row]]:
        """Feature → (idf, weights): one lookup per feature of a text."""
        table: dict[str, tuple[float, _Row]] | None = self.__dict__.get("_features")
        if table is None:
            weights = self.weights
            table = {
                feature: (idf, tuple(zip(*weights[feature], strict=True)))
                for feature, idf in self.idf.items()
            }
            object.__setattr__(self, "_features", table)
        return table

    def knows(self, feats: Features) -> bool:
        """Whether any of the features is one this head has weights for."""
        idf = self.idf
        return any(feature in idf for feature in feats)

    def logits(self, feats: Features) -> list[float]:
        logits = list(self.intercept)
        for _, value, row in self._vector(feats):
            for index, weight in row:
                logits[index] += value * weight
        return logits

    def probabilities_among(self, feats: Features, labels: Sequence[str]) -> dict[str, float]:
        """Probabilities of some classes only, normalised among them: a category head of
        hundreds of classes is asked only about those that fit the department. The weights
        of each such set of classes are gathered once and reused, and for one-vs-rest the
        sigmoids of classes no feature of the text moves are those of their intercepts."""
        key = tuple(labels)
        cache: dict[tuple[str, ...], _Subset] = self.__dict__.setdefault("_subsets", {})
        found = cache.get(key)
        if found is None:
            found = cache[key] = self._subset(labels)
        if not found.labels:
            return {}
        narrowed = found.weights
        # Class positions within the subset; the same additions in the same order as over
        # all classes, so the same floats.
        logits = list(found.intercept)
        for feature, value, _ in self._vector(feats):
            pairs = narrowed.get(feature)
            if pairs is not None:
                for position, weight in pairs:
                    logits[position] += value * weight
        if self.link == "ovr":
            exps = [
                rest if z == start else _sigmoid(z)
                for z, start, rest in zip(logits, found.intercept, found.resting, strict=False)
            ]
        else:
            top = max(logits)
            exps = [math.exp(z - top) for z in logits]
        total = sum(exps) or 1.0
        return {label: exp / total for label, exp in zip(found.labels, exps, strict=False)}

    def _subset(self, labels: Sequence[str]) -> _Subset:
        index = self._index
        wanted = list(dict.fromkeys(index[label] for label in labels if label in index))
        position = {i: p for p, i in enumerate(wanted)}
        narrowed: dict[str, _Row] = {}
        classes = position.keys()
        for feature, (indices, weights) in self.weights.items():
            if classes.isdisjoint(indices):
                continue  # most features: decided in C, without a Python loop
            kept = [
                (position[i], w) for i, w in zip(indices, weights, strict=True) if i in position
            ]
            if kept:
                narrowed[feature] = tuple(kept)
        intercept = tuple(self.intercept[i] for i in wanted)
        return _Subset(
            tuple(self.classes[i] for i in wanted),
            narrowed,
            intercept,
            tuple(_sigmoid(z) for z in intercept),
        )

    @property
    def _index(self) -> dict[str, int]:
        index: dict[str, int] | None = self.__dict__.get("_class_index")
        if index is None:
            index = {label: i for i, label in enumerate(self.classes)}
            object.__setattr__(self, "_class_index", index)
        return index

    def probabilities(self, feats: Features) -> dict[str, float]:
        """Softmax over the classes; uniform-ish (intercepts only) when no feature is known."""
        logits = self.logits(feats)
        if self.link == "ovr":
            exps = [_sigmoid(z) for z in logits]
        else:
            top = max(logits)
            exps = [math.exp(logit - top) for logit in logits]
        total = sum(exps) or 1.0
        return {label: exp / total for label, exp in zip(self.classes, exps, strict=True)}

    def evidence(self, feats: Features, label: str, limit: int = 3) -> list[str]:
        """The features that pushed hardest toward `label`, as text."""
        if label not in self.classes:
            return []
        index = self.classes.index(label)
        pushes = [
            (value * _weight_of(row, index), feature) for feature, value, row in self._vector(feats)
        ]
        best = sorted((p for p in pushes if p[0] > 0), reverse=True)[:limit]
        return [readable(feature) for _, feature in best]

    def to_json(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "link": self.link,
            "intercept": [round(value, 6) for value in self.intercept],
            "features": {
                feature: [
                    round(self.idf[feature], 5),
                    list(indices),
                    [round(w, 4) for w in weights],
                ]
                for feature, (indices, weights) in self.weights.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Head:
        """A head of either format: [idf, w0, w1 …] (dense, format 1) or [idf, [class
        indices], [weights]] (sparse, format 2)."""
        classes = tuple(str(label) for label in data["classes"])
        intercept = tuple(float(value) for value in data["intercept"])
        if len(intercept) != len(classes):
            raise ValueError("model: intercept and classes differ in length")
        count = len(classes)
        idf: dict[str, float] = {}
        weights: dict[str, tuple[Sequence[int], Sequence[float]]] = {}
        table: dict[str, tuple[float, _Row]] = {}
        for feature, row in data["features"].items():
            if len(row) == 3 and isinstance(row[1], list):
                indices, values = row[1], row[2]
                if len(indices) != len(values) or (
                    indices and (min(indices) < 0 or max(indices) >= count)
                ):
                    raise ValueError(f"model: feature {feature!r} names an unknown class")
            elif len(row) == count + 1:
                indices = [i for i, w in enumerate(row[1:]) if w]
                values = [float(row[1 + i]) for i in indices]
            else:
                raise ValueError(f"model: feature {feature!r} has {len(row)} numbers")
            idf[feature] = weight = float(row[0])
            weights[feature] = (indices, values)
            table[feature] = (weight, tuple(zip(indices, values, strict=True)))
        link = str(data.get("link", "softmax"))
        if link not in ("softmax", "ovr"):
            raise ValueError(f"model: unknown link {link!r}")
        head = cls(classes, intercept, idf, weights, link)
        # Built here, in the loop that reads the file, rather than on the first text.
        object.__setattr__(head, "_features", table)
        return head


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
    # Category → the departments it was saved with in the examples (the long tail of the
    # directory that rules.toml does not route).
    category_departments: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def urgency(self, feats: Features) -> float | None:
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
            "category_departments": {k: list(v) for k, v in self.category_departments.items()},
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
                category_departments={
                    str(code): tuple(str(d) for d in departments)
                    for code, departments in data.get("category_departments", {}).items()
                },
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"model {path}: missing or malformed {error}") from None
