"""The first classifier: jieba segmentation with a city-management dictionary, keyword rules
that point to departments and directory categories, and urgency words. Pure: no I/O after load."""

from __future__ import annotations

import csv
import json
import logging
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jieba

jieba.setLogLevel(logging.WARNING)

DATA = resources.files("nlp").joinpath("data")
CLAUSE_SPLIT = re.compile(r"[，,。．.；;！!？?\n]+")
# When nothing matches, city-management complaints are most often these (the seeds' top four).
PRIOR = ("ENFORCEMENT", "SANITATION", "MUNICIPAL")
NEGATION = ("不是", "并非", "不属于")
PAST = ("上次", "之前", "以前", "已经解决", "解决了", "处理好了", "修好了")
FOCUS = ("这次", "而是", "现在是", "主要是", "真正")


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
    urgent_reason: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "departments": [{"code": d.code, "score": round(d.score, 3)} for d in self.departments],
            "category": None
            if self.category is None
            else {"code": self.category.code, "name": self.category.name},
            "urgent": self.urgent,
            "urgent_reason": self.urgent_reason,
            "matched": list(self.matched),
        }


def clause_weight(clause: str) -> float:
    """How much a clause counts: what is denied or already solved counts less (focus)."""
    if any(word in clause for word in FOCUS):
        return 1.5
    if any(word in clause for word in NEGATION) or any(word in clause for word in PAST):
        return 0.25
    return 1.0


class Classifier:
    """Keyword rules over jieba tokens; explains itself through `matched`."""

    def __init__(
        self,
        departments: dict[str, str],
        department_keywords: dict[str, dict[str, float]],
        categories: dict[str, list[str]],
        category_names: dict[str, str],
        urgent: dict[str, str],
        user_words: Iterable[str],
    ) -> None:
        self._departments = departments
        self._keywords: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for code, words in department_keywords.items():
            for word, weight in words.items():
                self._keywords[word].append((code, float(weight)))
        self._categories: dict[str, list[str]] = defaultdict(list)
        for code, category_words in categories.items():
            for word in category_words:
                self._categories[word].append(code)
        # Forward maximum matching: at each position the longest keyword starting there.
        self._phrases: dict[str, list[str]] = defaultdict(list)
        for word in sorted({*self._keywords, *self._categories}, key=len, reverse=True):
            if len(word) > 1:
                self._phrases[word[0]].append(word)
        self._category_names = category_names
        self._urgent = urgent
        self._tokenizer = jieba.Tokenizer()
        for word in user_words:
            self._tokenizer.add_word(word, freq=2000)
        self._tokenizer.initialize()

    @classmethod
    def load_default(cls) -> Classifier:
        rules = tomllib.loads(DATA.joinpath("rules.toml").read_text(encoding="utf-8"))
        with DATA.joinpath("departments.csv").open(encoding="utf-8") as handle:
            departments = {row["code"]: row["name"] for row in csv.DictReader(handle)}
        with DATA.joinpath("management_items.csv").open(encoding="utf-8") as handle:
            names: dict[str, str] = {}
            for row in csv.DictReader(handle):
                names.setdefault(row["code"], row["minor"])
        user_words = [
            line.split()[0]
            for line in DATA.joinpath("userdict.txt").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        keywords = {code: entry["keywords"] for code, entry in rules["departments"].items()}
        return cls(departments, keywords, rules["categories"], names, rules["urgent"], user_words)

    def _matches(self, clause: str) -> list[tuple[str, int]]:
        """Keywords in a clause with where they end, leftmost-longest and never overlapping
        (红绿灯不亮 is a signal, not also a street light). A one-character keyword (树, 坑)
        counts only as a whole jieba token, so 树立 is not a tree."""
        taken = [False] * len(clause)
        found: list[tuple[str, int]] = []
        index = 0
        while index < len(clause):
            word = next(
                (w for w in self._phrases.get(clause[index], ()) if clause.startswith(w, index)),
                None,
            )
            if word is None:
                index += 1
                continue
            end = index + len(word)
            taken[index:end] = [True] * len(word)
            found.append((word, end))
            index = end
        position = 0
        for token in self._tokenizer.lcut(clause):
            position += len(token)
            if (
                len(token) == 1
                and not taken[position - 1]
                and (token in self._keywords or token in self._categories)
            ):
                found.append((token, position))
        return found

    def classify(self, text: str) -> Classification:
        scores: dict[str, float] = defaultdict(float)
        category_scores: dict[str, float] = defaultdict(float)
        matched: list[str] = []
        urgent_reason: str | None = None
        for clause in CLAUSE_SPLIT.split(text):
            if not clause.strip():
                continue
            weight = clause_weight(clause)
            for word, end in self._matches(clause):
                matched.append(word)
                for code, value in self._keywords.get(word, ()):
                    scores[code] += value * weight
                # In a Chinese compound the head comes last (烧烤油烟 is smoke): on a tie the
                # later word wins.
                for code in self._categories.get(word, ()):
                    category_scores[code] += len(word) * weight + end / (100 * (len(clause) + 1))
            if weight >= 1.0 and urgent_reason is None:
                urgent_reason = next((r for w, r in self._urgent.items() if w in clause), None)
        total = sum(scores.values())
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        chosen = [code for code, _ in ranked[:3]]
        for code in PRIOR:
            if len(chosen) == 3:
                break
            if code not in chosen:
                chosen.append(code)
        # +2 smooths: one weak keyword should not look certain.
        departments = tuple(
            DepartmentScore(
                code, self._departments.get(code, code), scores.get(code, 0.0) / (total + 2.0)
            )
            for code in chosen
        )
        category = None
        if category_scores:
            best = max(category_scores.items(), key=lambda item: (item[1], item[0]))[0]
            category = Category(best, self._category_names.get(best, best))
        return Classification(
            departments,
            category,
            urgent_reason is not None,
            tuple(dict.fromkeys(matched)),
            urgent_reason,
        )


def classify_lines(lines: Iterable[str], classifier: Classifier | None = None) -> Iterator[str]:
    """One JSON object per input line (the `hotline classify` contract)."""
    classifier = classifier or Classifier.load_default()
    for line in lines:
        yield json.dumps(classifier.classify(line).to_json_dict(), ensure_ascii=False)
