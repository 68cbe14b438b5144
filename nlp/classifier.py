"""The classifier: jieba segmentation with a city-management dictionary, keyword rules that
point to departments and directory categories, urgency and unclear-ownership patterns, and,
once `hotline nlp train` has run, a learned model blended in.

Everything is read once when the classifier is built; `classify` does no I/O.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import jieba

from nlp import categories as ranking
from nlp import focus
from nlp.danger import DangerModel
from nlp.focus import weigh_sentences
from nlp.hazards import DangerBook, load_danger
from nlp.location import extract_location
from nlp.model import URGENT, Features, TrainedModel, features
from nlp.rules import (
    RuleBook,
    TargetKind,
    UserWord,
    load_rule_book,
    read_data,
    with_category_departments,
)
from nlp.segment import Segmenter
from nlp.suggestion import Category, Classification, DepartmentScore, Reason
from nlp.text import rejoin_spelled_out

# The words the focus cues are made of must be tokens of their own ("盖上", "没事").
FOCUS_WORDS = (
    focus.SOLVING | focus.PAST | focus.DENIALS | focus.LEADS | focus.NOT_DONE | focus.AGAIN
) - {"好", "管", "换", "修", "撤", "补", "填", "铺"}

log = logging.getLogger(__name__)

# jieba logs "Building prefix dict…" at DEBUG to stderr; a library must stay quiet.
jieba.setLogLevel(logging.WARNING)

OUT_OF_SCOPE = "TRANSFER_12345"
# The shipped model trained on the project's corpus (`hotline nlp pretrain`).
BASE_MODEL = "base_model.json"
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
# Share of the shipped base model (nlp/data/base_model.json) beside the rules, in the
# department and in the category score; chosen by cross-validation (docs/CLASSIFICATION.md).
BASE_WEIGHT = 0.5
BASE_CATEGORY_WEIGHT = 0.5
# A learned urgency head makes a case urgent from this probability, besides the danger model.
URGENT_PROBABILITY = 0.5
URGENT_PROBABILITY_JUDGED = 0.6
# Keyword weight of the category the danger model names for what it found.
HAZARD_CATEGORY_WEIGHT = 4.0
MODEL_URGENT_REASON = "描述与以往紧急工单相近，请核实是否紧急"


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
        danger: DangerBook | None = None,
        base: TrainedModel | None = None,
    ) -> None:
        if not 0.0 <= model_weight <= 1.0:
            raise ValueError("model_weight must be between 0 and 1")
        self._book = book
        self._names = {department.code: department.name for department in book.departments}
        self._order = {department.code: index for index, department in enumerate(book.departments)}
        self._model = model
        self._model_weight = model_weight
        self._base = base
        self._fit_cache: dict[tuple[int, str], list[str]] = {}
        # A private tokenizer: the user dictionary must not leak into other users of jieba.
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for entry in user_words:
            self._add_word(entry.word, entry.freq, entry.tag)
        self._danger = DangerModel(danger) if danger is not None else None
        words = book.tokens() | FOCUS_WORDS
        if danger is not None:
            words |= danger.tokens()
        for token in sorted(words):
            if not self._tokenizer.FREQ.get(token):
                self._add_word(token, None, None)
        self._segmenter = Segmenter(self._tokenizer)
        self._single: dict[str, list[int]] = defaultdict(list)
        # Patterns of several words, by a word of their first part: a sentence is checked
        # only against the patterns it can start to match (ownership ones over the whole text).
        self._compound: dict[str, set[int]] = defaultdict(set)
        self._ownership: dict[str, set[int]] = defaultdict(set)
        for index, rule in enumerate(book.rules):
            parts = rule.pattern.parts
            if len(parts) == 1:
                for token in parts[0]:
                    self._single[token].append(index)
                continue
            by_first = self._ownership if rule.kind is TargetKind.OWNERSHIP else self._compound
            for token in parts[0]:
                by_first[token].add(index)

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
        danger = load_danger(read_data(data, override, "danger.toml"))
        base = None
        for folder in (override, data):
            if folder is not None and folder.joinpath(BASE_MODEL).is_file():
                try:
                    base = TrainedModel.from_text(folder.joinpath(BASE_MODEL).read_text("utf-8"))
                except ValueError as error:
                    # Like a broken learned model: the rest of the classifier still works.
                    log.error("base model not used: %s", error)
                break
        return cls(book, words, model, model_weight, danger, base)

    @property
    def departments(self) -> dict[str, str]:
        """Department code → name, in the order of the rule book's list."""
        return dict(self._names)

    @property
    def model(self) -> TrainedModel | None:
        return self._model

    @property
    def base(self) -> TrainedModel | None:
        """The shipped model trained on the project's corpus, if any."""
        return self._base

    def use_base(self, base: TrainedModel | None) -> None:
        """Swap the base model (cross-validation trains one per fold)."""
        self._base = base
        self._fit_cache = {}

    def use_model(self, model: TrainedModel | None) -> None:
        """Swap the learned model (after `hotline nlp train`); None goes back to rules alone."""
        self._model = model
        self._fit_cache = {}

    @classmethod
    def load_default(cls) -> Classifier:
        """The shipped rules, dictionary, departments and directory."""
        return cls.from_directory(resources.files("nlp").joinpath("data"))

    def normalise(self, text: str) -> str:
        return rejoin_spelled_out(unicodedata.normalize("NFKC", text).lower())

    def tokens(self, text: str) -> list[str]:
        """The text as the rules see it: NFKC-normalised jieba tokens."""
        return self._cut(self.normalise(text))

    def _cut(self, normalised: str) -> list[str]:
        # Without HMM an unknown run stays single characters, so 树 and 坑 are still seen.
        # (jieba's own cut, faster: nlp/segment.py)
        return self._segmenter.cut(normalised)

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
        weighed = weigh_sentences(tokens)
        for clause, sentence in weighed:
            present = sentences[sentence]
            for token, weight in clause:
                for index in self._single.get(token, ()):
                    self._count(tally, index, token, weight)
                present[token] = max(weight, present.get(token, 0.0))
        whole: dict[str, float] = {}
        for present in sentences.values():
            for index in _candidates(self._compound, present):
                self._match_compound(tally, index, present)
            for token, weight in present.items():
                whole[token] = max(weight, whole.get(token, 0.0))
        # Who owns a thing is often said apart from the thing: "井盖坏了，问了几家都说不归他们管".
        for index in _candidates(self._ownership, whole):
            self._match_compound(tally, index, whole)
        scores = self._rule_scores(tally.departments)
        reasons: list[Reason] = []
        model, base = self._model, self._base
        # Counted once, shared by every head of both models.
        feats: Counter[str] = (
            Counter(features(tokens, normalised)) if (model or base) is not None else Counter()
        )
        learned = [(m, w) for m, w in ((base, BASE_WEIGHT), (model, self._model_weight)) if m]
        for source, weight in learned if feats else []:
            if not source.departments.knows(feats):
                continue  # nothing it has seen: its intercepts say nothing about this text
            probabilities = source.departments.probabilities(feats)
            scores = {
                code: (1.0 - weight) * score + weight * probabilities.get(code, 0.0)
                for code, score in scores.items()
            }
        departments = self._top(scores)
        top = departments[0].code
        hazard = self._danger.assess(weighed) if self._danger is not None else None
        if hazard is not None and hazard.category is not None:
            # The danger model knows what it found: a caved-in road is 路面塌陷, not 道路破损.
            tally.categories[hazard.category] += HAZARD_CATEGORY_WEIGHT
        ranked = self._categories(tally.categories, top, feats)
        # The first category is the suggestion when the text is clearly about something
        # (a confident department), or the category itself is clear.
        sure = departments[0].score >= ranking.SURE_DEPARTMENT
        category = (
            Category(ranked[0].code, ranked[0].name)
            if ranked and (sure or ranked[0].score >= ranking.SUGGEST_MIN)
            else None
        )
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
        if hazard is not None:
            urgent_reason = hazard.reason
            reasons.append(Reason("urgent", hazard.reason, hazard.words()))
        elif urgent_reason is not None:
            words = tally.evidence.get((TargetKind.URGENT, urgent_reason), {})
            reasons.append(Reason("urgent", urgent_reason, tuple(words)))
        elif feats and top != OUT_OF_SCOPE:
            # Where the danger model saw a hazard object and judged its state not dangerous,
            # a learned head must be surer to overrule it.
            seen = self._danger is not None and self._danger.sees_hazard_object(weighed)
            needed = URGENT_PROBABILITY_JUDGED if seen else URGENT_PROBABILITY
            for source, _ in learned:
                probability = source.urgency(feats)
                if probability is not None and probability >= needed:
                    urgent_reason = MODEL_URGENT_REASON
                    pushed = source.urgent.evidence(feats, URGENT) if source.urgent else []
                    reasons.append(Reason("urgent", urgent_reason, tuple(pushed)))
                    break
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
            hazard=hazard,
            categories=tuple(ranked),
        )

    def _match_compound(self, tally: _Tally, index: int, present: dict[str, float]) -> None:
        words = []
        weight = FOCUS_CEILING
        for part in self._book.rules[index].pattern.parts:
            # In the sentence's order: of equally meant words the first said is shown (a set's
            # order would change from one process to the next).
            found = [token for token in present if token in part]
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

    def _fitting(self, source: TrainedModel, department: str) -> list[str]:
        """The classes of a category head that may go with the department (cached)."""
        key = (id(source), department)
        found = self._fit_cache.get(key)
        if found is None:
            head = source.categories
            found = [c for c in head.classes if self._agrees(c, department)] if head else []
            self._fit_cache[key] = found
        return found

    def _agrees(self, code: str, department: str) -> bool:
        """The category may go with the department: by rules.toml (or the city's mapping),
        else by what the base model's examples were saved with."""
        entry = self._book.categories.get(code)
        if entry is not None:
            return department in entry.departments
        seen = self._base.category_departments.get(code) if self._base is not None else None
        return seen is None or department in seen

    def _categories(
        self, raw: dict[str, float], department: str, feats: Features
    ) -> list[ranking.CategoryScore]:
        """The best categories that agree with the top department: the rules' keyword
        weights blended with the base and the centre's learned category heads."""
        if department == OUT_OF_SCOPE:
            return []
        learned = [
            (
                source.categories.probabilities_among(feats, self._fitting(source, department)),
                weight,
            )
            for source, weight in ((self._base, BASE_CATEGORY_WEIGHT), (self._model, 0.6))
            if source is not None and source.categories is not None and feats
        ]
        entries, directory = self._book.categories, self._book.directory
        return ranking.rank(
            ranking.rule_shares(raw, self._book.category_min),
            learned,
            lambda code: self._agrees(code, department),
            lambda code: directory.get(code) or (entries[code].name if code in entries else None),
        )


def _candidates(by_first: Mapping[str, set[int]], present: Mapping[str, float]) -> list[int]:
    """The patterns whose first part a word of `present` may match, in the rule book's order
    (the order in which matches count)."""
    found: set[int] = set()
    for token in present:
        indices = by_first.get(token)
        if indices is not None:
            found |= indices
    return sorted(found)


def classify_lines(lines: Iterable[str], classifier: Classifier | None = None) -> Iterator[str]:
    """One JSON object per input line; a blank line gives the result for an empty text."""
    classifier = classifier or Classifier.load_default()
    for line in lines:
        yield json.dumps(
            classifier.classify(line.rstrip("\r\n")).to_json_dict(), ensure_ascii=False
        )
