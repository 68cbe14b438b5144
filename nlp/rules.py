"""The classifier's data: departments, the category directory, keyword rules and user words."""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from importlib.resources.abc import Traversable
from typing import Any

# The directory lists each item twice (部件 and 事件 share a code); a complaint is an event.
CATEGORY_KIND = "事件"
# S1 is GB/T 47678.5-2026 (5-digit codes); S2 is the older CJ/T 214-style list (6-digit codes),
# used only where S1 has no item. The code lengths differ, so the two never collide.
CATEGORY_SOURCES = ("S1", "S2")


class TargetKind(Enum):
    DEPARTMENT = "department"
    CATEGORY = "category"
    URGENT = "urgent"
    # Unclear ownership (确权): the target is the topic, shown with the coordinator.
    OWNERSHIP = "ownership"


@dataclass(frozen=True)
class Pattern:
    """Tokens that must all occur in one clause; each part is a set of alternatives."""

    parts: tuple[frozenset[str], ...]

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """Read "a|b+c|d": one of a/b and one of c/d; ValueError if a part is empty."""
        parts = tuple(
            frozenset(word.strip() for word in part.split("|")) for part in text.split("+")
        )
        if not parts or any("" in part for part in parts):
            raise ValueError(f"bad keyword pattern {text!r}")
        return cls(parts)

    def tokens(self) -> Iterator[str]:
        """Every token the pattern names."""
        for part in self.parts:
            yield from part


@dataclass(frozen=True)
class Rule:
    pattern: Pattern
    kind: TargetKind
    # A department code, a category code or, for urgency, the reason shown to the agent.
    target: str
    weight: float


@dataclass(frozen=True)
class Department:
    code: str
    name: str


@dataclass(frozen=True)
class CategoryEntry:
    code: str
    name: str
    # The routings the category agrees with.
    departments: frozenset[str]
    # Position in rules.toml: on equal weight the earlier entry wins.
    order: int


@dataclass(frozen=True)
class UserWord:
    word: str
    freq: int | None
    tag: str | None


@dataclass(frozen=True)
class RuleBook:
    departments: tuple[Department, ...]
    categories: Mapping[str, CategoryEntry]
    rules: tuple[Rule, ...]
    prior: Mapping[str, float]
    evidence_half: float
    category_min: float
    # Every event category of the directory, code → name (a learned model may name any).
    directory: Mapping[str, str] = field(default_factory=dict)

    def tokens(self) -> set[str]:
        """Every token some rule names (the tokenizer must keep each of them whole)."""
        return {token for rule in self.rules for token in rule.pattern.tokens()}


def read_departments(text: str) -> tuple[Department, ...]:
    """The department list (code,name,covers) in file order."""
    rows = csv.DictReader(io.StringIO(text))
    return tuple(Department(row["code"].strip(), row["name"].strip()) for row in rows)


def read_directory(text: str) -> dict[str, str]:
    """Category code → name, from the event rows of the national directory."""
    names: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = (row.get("code") or "").strip()
        if row.get("kind") == CATEGORY_KIND and row.get("source") in CATEGORY_SOURCES and code:
            names.setdefault(code, (row.get("minor") or "").strip())
    return names


def read_user_words(text: str) -> list[UserWord]:
    """Lines of "word [freq] [tag]" as jieba reads them; blank lines and # comments skipped."""
    words = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        freq = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
        tag = fields[-1] if len(fields) > 1 and not fields[-1].isdigit() else None
        words.append(UserWord(fields[0], freq, tag))
    return words


def _weighted(table: Mapping[str, Any], where: str) -> Iterator[tuple[Pattern, float]]:
    for pattern, weight in table.items():
        if not isinstance(weight, int | float) or weight <= 0:
            raise ValueError(f"{where}: weight of {pattern!r} must be a positive number")
        yield Pattern.parse(pattern), float(weight)


def parse_rules(
    document: Mapping[str, Any],
    departments: tuple[Department, ...],
    directory: Mapping[str, str],
) -> RuleBook:
    """Check rules.toml against the department list and the directory; ValueError if wrong."""
    known = {department.code for department in departments}
    rules: list[Rule] = []
    for code, table in document.get("departments", {}).items():
        if code not in known:
            raise ValueError(f"rules: unknown department {code!r}")
        for pattern, weight in _weighted(table, f"departments.{code}"):
            rules.append(Rule(pattern, TargetKind.DEPARTMENT, code, weight))
    categories: dict[str, CategoryEntry] = {}
    for order, (code, entry) in enumerate(document.get("categories", {}).items()):
        if code not in directory:
            raise ValueError(f"rules: category {code!r} is not in the directory")
        routed = frozenset(entry.get("departments", ()))
        if not routed or not routed <= known:
            raise ValueError(f"rules: category {code!r} needs known departments")
        categories[code] = CategoryEntry(code, directory[code], routed, order)
        for pattern, weight in _weighted(entry.get("keywords", {}), f"categories.{code}"):
            rules.append(Rule(pattern, TargetKind.CATEGORY, code, weight))
    for entry in document.get("urgent", []):
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason:
            raise ValueError("rules: every urgent entry needs a reason")
        for pattern in entry.get("keywords", []):
            rules.append(Rule(Pattern.parse(pattern), TargetKind.URGENT, reason, 1.0))
    for entry in document.get("unclear", []):
        topic = entry.get("topic")
        if not isinstance(topic, str) or not topic:
            raise ValueError("rules: every unclear-ownership entry needs a topic")
        for pattern in entry.get("keywords", []):
            rules.append(Rule(Pattern.parse(pattern), TargetKind.OWNERSHIP, topic, 1.0))
    prior = dict(document.get("prior", {}))
    if not set(prior) <= known:
        raise ValueError(f"rules: prior names unknown departments {set(prior) - known}")
    scoring = document.get("scoring", {})
    default = float(scoring.get("prior_default", 0.01))
    return RuleBook(
        departments=departments,
        categories=categories,
        rules=tuple(rules),
        prior={d.code: float(prior.get(d.code, default)) for d in departments},
        evidence_half=float(scoring.get("evidence_half", 1.5)),
        category_min=float(scoring.get("category_min", 1.5)),
        directory=dict(directory),
    )


def parse_category_departments(entries: Iterable[str]) -> dict[str, frozenset[str]]:
    """Config lines "200404=MUNICIPAL" or "01001=WATER|MUNICIPAL"; ValueError if malformed."""
    mapping: dict[str, frozenset[str]] = {}
    for entry in entries:
        code, sep, departments = entry.partition("=")
        routed = frozenset(part.strip() for part in departments.split("|") if part.strip())
        if not sep or not code.strip() or not routed:
            raise ValueError(f"category mapping {entry!r}: write CODE=DEPARTMENT[|DEPARTMENT]")
        mapping[code.strip()] = routed
    return mapping


def with_category_departments(book: RuleBook, overrides: Mapping[str, frozenset[str]]) -> RuleBook:
    """The book with a city's own category → department mapping; ValueError on unknown codes."""
    known = {department.code for department in book.departments}
    categories = dict(book.categories)
    for code, routed in overrides.items():
        if code not in book.directory:
            raise ValueError(f"category mapping: {code!r} is not in the directory")
        if not routed <= known:
            raise ValueError(f"category mapping: {code!r} names unknown {sorted(routed - known)}")
        entry = categories.get(code)
        categories[code] = (
            CategoryEntry(code, book.directory[code], routed, len(categories))
            if entry is None
            else replace(entry, departments=routed)
        )
    return replace(book, categories=categories)


DATA_FILES = (
    "departments.csv",
    "management_items.csv",
    "rules.toml",
    "userdict.txt",
    "danger.toml",
)


def read_data(data: Traversable, override: Traversable | None, name: str) -> str:
    """One data file: the city's own (`override`) if it has it, else the shipped one."""
    if override is not None and override.joinpath(name).is_file():
        return override.joinpath(name).read_text(encoding="utf-8")
    return data.joinpath(name).read_text(encoding="utf-8")


def load_rule_book(
    data: Traversable, override: Traversable | None = None
) -> tuple[RuleBook, list[UserWord]]:
    """Read the rule files of a directory laid out like nlp/data/; a file present in
    `override` (a city's own directory) replaces the shipped one."""

    def read(name: str) -> str:
        return read_data(data, override, name)

    departments = read_departments(read("departments.csv"))
    directory = read_directory(read("management_items.csv"))
    document = tomllib.loads(read("rules.toml"))
    words = read_user_words(read("userdict.txt"))
    return parse_rules(document, departments, directory), words
