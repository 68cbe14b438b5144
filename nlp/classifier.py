"""The first classifier: jieba segmentation with a city-management dictionary, keyword rules
that point to departments and directory categories, and urgency patterns.

Everything is read once when the classifier is built; `classify` does no I/O.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jieba

from nlp.focus import weigh
from nlp.rules import RuleBook, TargetKind, UserWord, load_rule_book

# jieba logs "Building prefix dict…" at DEBUG to stderr; a library must stay quiet.
jieba.setLogLevel(logging.WARNING)

OUT_OF_SCOPE = "TRANSFER_12345"
# A keyword repeated in a long spoken complaint adds up to this many times, no more.
MAX_HITS = 3
# Frequency of a user word given without one (jieba's dictionary counts; 路灯 has 447).
USER_WORD_FREQ = 3000
# Below this weight (a denied or solved clause) a pattern does not make a case urgent.
URGENT_MIN_WEIGHT = 1.0
# Above any clause weight, so min() over the parts of a pattern starts from it.
FOCUS_CEILING = 10.0


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
class Classification:
    departments: tuple[DepartmentScore, ...]
    category: Category | None
    urgent: bool
    matched: tuple[str, ...]
    # Why the case is urgent, for the agent's screen; None when it is not.
    urgent_reason: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The suggestion as JSON: departments (code, score), category or null, urgent."""
        return {
            "departments": [{"code": d.code, "score": round(d.score, 4)} for d in self.departments],
            "category": None
            if self.category is None
            else {"code": self.category.code, "name": self.category.name},
            "urgent": self.urgent,
        }


@dataclass
class _Tally:
    """What one text has matched so far."""

    departments: defaultdict[str, float]
    categories: defaultdict[str, float]
    reasons: dict[str, None]
    matched: dict[str, None]
    hits: defaultdict[int, int]


class Classifier:
    """Keyword rules over jieba tokens; explains itself through `matched`."""

    def __init__(self, book: RuleBook, user_words: Iterable[UserWord] = ()) -> None:
        self._book = book
        self._names = {department.code: department.name for department in book.departments}
        self._order = {department.code: index for index, department in enumerate(book.departments)}
        # A private tokenizer: the user dictionary must not leak into other users of jieba.
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for entry in user_words:
            self._add_word(entry.word, entry.freq, entry.tag)
        for token in sorted(book.tokens()):
            if not self._tokenizer.FREQ.get(token):
                self._add_word(token, None, None)
        self._single: dict[str, list[int]] = defaultdict(list)
        self._compound: list[int] = []
        for index, rule in enumerate(book.rules):
            if len(rule.pattern.parts) == 1:
                for token in rule.pattern.parts[0]:
                    self._single[token].append(index)
            else:
                self._compound.append(index)

    def _add_word(self, word: str, freq: int | None, tag: str | None) -> None:
        # jieba's suggested frequency only beats the word's own split; a domain word must also
        # beat general words it overlaps (路灯不亮 is 路灯/不亮, not 路/灯不亮).
        known = self._tokenizer.FREQ.get(word, 0)
        self._tokenizer.add_word(
            word, freq if freq is not None else max(known, USER_WORD_FREQ), tag
        )

    @classmethod
    def from_directory(cls, data: Traversable) -> Classifier:
        """Build from a directory laid out like nlp/data/."""
        book, words = load_rule_book(data)
        return cls(book, words)

    @property
    def departments(self) -> dict[str, str]:
        """Department code → name, in the order of the rule book's list."""
        return dict(self._names)

    @classmethod
    def load_default(cls) -> Classifier:
        """The shipped rules, dictionary, departments and directory."""
        return cls.from_directory(resources.files("nlp").joinpath("data"))

    def tokens(self, text: str) -> list[str]:
        """The text as the rules see it: NFKC-normalised jieba tokens."""
        normalised = unicodedata.normalize("NFKC", text).lower()
        # Without HMM an unknown run stays single characters, so 树 and 坑 are still seen.
        return self._tokenizer.lcut(normalised, HMM=False)

    def classify(self, text: str) -> Classification:
        """Three departments best first, a category if one fits, and urgency."""
        tally = _Tally(defaultdict(float), defaultdict(float), {}, {}, defaultdict(int))
        for clause in weigh(self.tokens(text)):
            present: dict[str, float] = {}
            for token, weight in clause:
                for index in self._single.get(token, ()):
                    self._count(tally, index, token, weight)
                present[token] = max(weight, present.get(token, 0.0))
            for index in self._compound:
                self._match_compound(tally, index, present)
        departments = self._rank(tally.departments)
        reason = next(iter(tally.reasons), None)
        return Classification(
            departments=departments,
            category=self._category(tally.categories, departments[0].code),
            urgent=reason is not None,
            matched=tuple(tally.matched),
            urgent_reason=reason,
        )

    def _match_compound(self, tally: _Tally, index: int, present: dict[str, float]) -> None:
        words = []
        weight = FOCUS_CEILING
        for part in self._book.rules[index].pattern.parts:
            found = [token for token in part if token in present]
            if not found:
                return
            best = max(found, key=present.__getitem__)
            words.append(best)
            # The whole pattern counts as much as its least-meant part.
            weight = min(weight, present[best])
        self._count(tally, index, "+".join(words), weight)

    def _count(self, tally: _Tally, index: int, word: str, weight: float) -> None:
        if tally.hits[index] >= MAX_HITS:
            return
        tally.hits[index] += 1
        rule = self._book.rules[index]
        tally.matched[word] = None
        if rule.kind is TargetKind.DEPARTMENT:
            tally.departments[rule.target] += rule.weight * weight
        elif rule.kind is TargetKind.CATEGORY:
            tally.categories[rule.target] += rule.weight * weight
        elif weight >= URGENT_MIN_WEIGHT:
            tally.reasons[rule.target] = None

    def _rank(self, raw: dict[str, float]) -> tuple[DepartmentScore, ...]:
        """Weight share scaled by how much evidence there is, on top of a small prior."""
        total = sum(raw.values())
        confidence = total / (total + self._book.evidence_half)
        scores = {
            code: (confidence * raw.get(code, 0.0) / total if total else 0.0)
            + (1.0 - confidence) * prior
            for code, prior in self._book.prior.items()
        }
        best = sorted(scores, key=lambda code: (-scores[code], self._order[code]))[:3]
        return tuple(DepartmentScore(code, self._names[code], scores[code]) for code in best)

    def _category(self, raw: dict[str, float], department: str) -> Category | None:
        """The heaviest category that agrees with the top department, if heavy enough."""
        if department == OUT_OF_SCOPE:
            return None
        entries = self._book.categories
        fitting = [
            code
            for code, weight in raw.items()
            if weight >= self._book.category_min and department in entries[code].departments
        ]
        if not fitting:
            return None
        code = max(fitting, key=lambda c: (raw[c], -entries[c].order))
        return Category(code, entries[code].name)


def classify_lines(lines: Iterable[str], classifier: Classifier | None = None) -> Iterator[str]:
    """One JSON object per input line; a blank line gives the result for an empty text."""
    classifier = classifier or Classifier.load_default()
    for line in lines:
        yield json.dumps(
            classifier.classify(line.rstrip("\r\n")).to_json_dict(), ensure_ascii=False
        )
