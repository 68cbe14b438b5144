"""The classifier: jieba segmentation with a city-management dictionary, keyword rules that
point to departments and directory categories, urgency and unclear-ownership patterns, and,
once `hotline nlp train` has run, a learned model blended in.

Everything is read once when the classifier is built; `classify` does no I/O.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jieba

from nlp.focus import weigh_sentences
from nlp.location import Location, extract_location
from nlp.model import TrainedModel, features
from nlp.rules import RuleBook, TargetKind, UserWord, load_rule_book, with_category_departments

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
# Share of the learned model in a department score once one is trained (config: model_weight).
DEFAULT_MODEL_WEIGHT = 0.6
# The model's category replaces the rules' only when this sure; fills a gap when this sure.
MODEL_CATEGORY_OVERRIDE = 0.6
MODEL_CATEGORY_MIN = 0.35


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
        }


@dataclass
class _Tally:
    """What one text has matched so far."""

    departments: defaultdict[str, float]
    categories: defaultdict[str, float]
    reasons: dict[str, None]
    matched: dict[str, None]
    hits: defaultdict[int, int]
    # (kind, target) → words, in the order they matched.
    evidence: defaultdict[tuple[TargetKind, str], dict[str, None]]
    # 确权 topic → parts of the most specific pattern that named it.
    ownership: dict[str, int]


class Classifier:
    """Keyword rules over jieba tokens, blended with a learned model when one is trained;
    explains itself through `reasons`."""

    def __init__(
        self,
        book: RuleBook,
        user_words: Iterable[UserWord] = (),
        model: TrainedModel | None = None,
        model_weight: float = DEFAULT_MODEL_WEIGHT,
    ) -> None:
        if not 0.0 <= model_weight <= 1.0:
            raise ValueError("model_weight must be between 0 and 1")
        self._book = book
        self._names = {department.code: department.name for department in book.departments}
        self._order = {department.code: index for index, department in enumerate(book.departments)}
        self._model = model
        self._model_weight = model_weight
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
    def from_directory(
        cls,
        data: Traversable,
        override: Traversable | None = None,
        category_departments: Mapping[str, frozenset[str]] | None = None,
        model: TrainedModel | None = None,
        model_weight: float = DEFAULT_MODEL_WEIGHT,
    ) -> Classifier:
        """Build from a directory laid out like nlp/data/; files in `override` replace the
        shipped ones and `category_departments` replaces the category → department mapping."""
        book, words = load_rule_book(data, override)
        if category_departments:
            book = with_category_departments(book, category_departments)
        return cls(book, words, model, model_weight)

    @property
    def departments(self) -> dict[str, str]:
        """Department code → name, in the order of the rule book's list."""
        return dict(self._names)

    @property
    def model(self) -> TrainedModel | None:
        return self._model

    def use_model(self, model: TrainedModel | None) -> None:
        """Swap the learned model (after `hotline nlp train`); None goes back to rules alone."""
        self._model = model

    @classmethod
    def load_default(cls) -> Classifier:
        """The shipped rules, dictionary, departments and directory."""
        return cls.from_directory(resources.files("nlp").joinpath("data"))

    def normalise(self, text: str) -> str:
        return unicodedata.normalize("NFKC", text).lower()

    def tokens(self, text: str) -> list[str]:
        """The text as the rules see it: NFKC-normalised jieba tokens."""
        return self._cut(self.normalise(text))

    def _cut(self, normalised: str) -> list[str]:
        # Without HMM an unknown run stays single characters, so 树 and 坑 are still seen.
        return self._tokenizer.lcut(normalised, HMM=False)

    def features(self, text: str) -> list[str]:
        """What the learned model sees of a text (see nlp.model.features)."""
        normalised = self.normalise(text)
        return features(self._cut(normalised), normalised)

    def classify(self, text: str) -> Classification:
        """Three departments best first, a category if one fits, urgency, location and why."""
        tally = _Tally(
            defaultdict(float), defaultdict(float), {}, {}, defaultdict(int), defaultdict(dict), {}
        )
        normalised = self.normalise(text)
        tokens = self._cut(normalised)
        # Single words count per clause; patterns of several words match within a sentence.
        sentences: defaultdict[int, dict[str, float]] = defaultdict(dict)
        for clause, sentence in weigh_sentences(tokens):
            present = sentences[sentence]
            for token, weight in clause:
                for index in self._single.get(token, ()):
                    self._count(tally, index, token, weight)
                present[token] = max(weight, present.get(token, 0.0))
        whole: dict[str, float] = {}
        for present in sentences.values():
            for index in self._compound:
                if self._book.rules[index].kind is not TargetKind.OWNERSHIP:
                    self._match_compound(tally, index, present)
            for token, weight in present.items():
                whole[token] = max(weight, whole.get(token, 0.0))
        # Who owns a thing is often said apart from the thing: "井盖坏了，问了几家都说不归他们管".
        for index in self._compound:
            if self._book.rules[index].kind is TargetKind.OWNERSHIP:
                self._match_compound(tally, index, whole)
        scores = self._rule_scores(tally.departments)
        reasons: list[Reason] = []
        model = self._model
        feats = features(tokens, normalised) if model is not None else []
        if model is not None and feats:
            learned = model.departments.probabilities(feats)
            weight = self._model_weight
            scores = {
                code: (1.0 - weight) * score + weight * learned.get(code, 0.0)
                for code, score in scores.items()
            }
        departments = self._top(scores)
        top = departments[0].code
        category = self._category(tally.categories, top, feats)
        for department in departments:
            words = tally.evidence.get((TargetKind.DEPARTMENT, department.code))
            if words:
                reasons.append(Reason("department", department.code, tuple(words)))
        if model is not None and feats:
            words_of_model = model.departments.evidence(feats, top)
            if words_of_model:
                reasons.append(Reason("model", top, tuple(words_of_model)))
        if category is not None:
            words = tally.evidence.get((TargetKind.CATEGORY, category.code))
            reasons.append(Reason("category", category.code, tuple(words or ())))
        urgent_reason = next(iter(tally.reasons), None)
        if urgent_reason is not None:
            words = tally.evidence.get((TargetKind.URGENT, urgent_reason), {})
            reasons.append(Reason("urgent", urgent_reason, tuple(words)))
        # "井盖…都说不归他们管" names the manhole-cover gap, not only the generic one.
        unclear = max(tally.ownership, key=tally.ownership.__getitem__, default=None)
        if unclear is not None:
            words = tally.evidence.get((TargetKind.OWNERSHIP, unclear), {})
            reasons.append(Reason("ownership", unclear, tuple(words)))
        return Classification(
            departments=departments,
            category=category,
            urgent=urgent_reason is not None,
            matched=tuple(tally.matched),
            urgent_reason=urgent_reason,
            reasons=tuple(reasons),
            location=extract_location(normalised),
            unclear_ownership=unclear,
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
        elif weight < URGENT_MIN_WEIGHT:
            return  # denied or solved: neither urgent nor an ownership question
        elif rule.kind is TargetKind.URGENT:
            tally.reasons[rule.target] = None
        else:
            parts = len(rule.pattern.parts)
            tally.ownership[rule.target] = max(parts, tally.ownership.get(rule.target, 0))
        tally.evidence[(rule.kind, rule.target)][word] = None

    def _rule_scores(self, raw: dict[str, float]) -> dict[str, float]:
        """Weight share scaled by how much evidence there is, on top of a small prior."""
        total = sum(raw.values())
        confidence = total / (total + self._book.evidence_half)
        return {
            code: (confidence * raw.get(code, 0.0) / total if total else 0.0)
            + (1.0 - confidence) * prior
            for code, prior in self._book.prior.items()
        }

    def _top(self, scores: Mapping[str, float]) -> tuple[DepartmentScore, ...]:
        best = sorted(scores, key=lambda code: (-scores[code], self._order[code]))[:3]
        return tuple(DepartmentScore(code, self._names[code], scores[code]) for code in best)

    def _agrees(self, code: str, department: str) -> bool:
        entry = self._book.categories.get(code)
        return entry is None or department in entry.departments

    def _category(
        self, raw: dict[str, float], department: str, feats: list[str]
    ) -> Category | None:
        """The heaviest rule category that agrees with the top department, if heavy enough;
        the learned model's when it is confident or the rules found none."""
        if department == OUT_OF_SCOPE:
            return None
        entries = self._book.categories
        fitting = [
            code
            for code, weight in raw.items()
            if weight >= self._book.category_min and self._agrees(code, department)
        ]
        chosen = max(fitting, key=lambda c: (raw[c], -entries[c].order)) if fitting else None
        head = self._model.categories if self._model is not None else None
        if head is not None and feats:
            learned = head.probabilities(feats)
            directory = self._book.directory
            agreeing = [c for c in learned if c in directory and self._agrees(c, department)]
            if agreeing:
                best = max(agreeing, key=learned.__getitem__)
                floor = MODEL_CATEGORY_OVERRIDE if chosen is not None else MODEL_CATEGORY_MIN
                if learned[best] >= floor:
                    chosen = best
        if chosen is None:
            return None
        return Category(chosen, self._book.directory.get(chosen) or entries[chosen].name)


def classify_lines(lines: Iterable[str], classifier: Classifier | None = None) -> Iterator[str]:
    """One JSON object per input line; a blank line gives the result for an empty text."""
    classifier = classifier or Classifier.load_default()
    for line in lines:
        yield json.dumps(
            classifier.classify(line.rstrip("\r\n")).to_json_dict(), ensure_ascii=False
        )
