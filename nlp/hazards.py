"""The danger model's data (danger.toml): hazard objects, failure states and the words of
exposure, of a past or feared danger and of small or long-standing states."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HazardKind:
    name: str
    reason: str
    words: frozenset[str]
    # Words that are the object in its failing state on their own (漏气, 管涌).
    alone: frozenset[str]
    strong: frozenset[str]
    conditional: frozenset[str]
    # Slight, long-standing or small states are as urgent for this kind (a faint gas smell).
    firm: bool = False
    # failure → directory category it says ("caved" → 200401 路面塌陷); "*" for any failure.
    categories: Mapping[str, str] = field(default_factory=dict)

    def category(self, failure: str | None) -> str | None:
        """The directory category this object in this state is filed under, if it says."""
        return self.categories.get(failure or "*") or self.categories.get("*")

    @property
    def hazard(self) -> bool:
        """False for subjects that are no hazard at all (a network cable, a bin)."""
        return bool(self.strong or self.conditional)


@dataclass(frozen=True)
class DangerBook:
    kinds: tuple[HazardKind, ...]
    # failure word → the failure classes it names
    failures: Mapping[str, frozenset[str]]
    exposure: frozenset[str]
    stable: frozenset[str]
    slight: frozenset[str]
    resolved: frozenset[str]
    harmless: frozenset[str]
    hypothetical: frozenset[str]
    minor: frozenset[str]
    window: int
    negation_reach: int
    heads: frozenset[str] = frozenset()

    def tokens(self) -> set[str]:
        """Every word the model names (the tokenizer must keep each whole)."""
        words: set[str] = set(self.failures) | self.exposure | self.stable | self.slight
        words |= self.resolved | self.harmless | self.hypothetical | self.minor
        for kind in self.kinds:
            words |= kind.words | kind.alone
        return words


def _words(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
        raise ValueError(f"danger: {where} must be a list of words")
    return frozenset(value)


def parse_danger(document: Mapping[str, Any]) -> DangerBook:
    """Check danger.toml; ValueError names what is wrong."""
    failures: dict[str, set[str]] = {}
    classes = document.get("failures", {})
    for name, words in classes.items():
        for word in _words(words, f"failures.{name}"):
            failures.setdefault(word, set()).add(name)
    kinds = []
    for name, entry in document.get("objects", {}).items():
        strong = _words(entry.get("strong", []), f"objects.{name}.strong")
        conditional = _words(entry.get("conditional", []), f"objects.{name}.conditional")
        unknown = (strong | conditional) - set(classes)
        if unknown:
            raise ValueError(f"danger: objects.{name} names unknown failures {sorted(unknown)}")
        kinds.append(
            HazardKind(
                name=name,
                reason=str(entry.get("reason", "")),
                words=_words(entry.get("words", []), f"objects.{name}.words"),
                alone=_words(entry.get("alone", []), f"objects.{name}.alone"),
                strong=strong,
                conditional=conditional,
                firm=bool(entry.get("firm", False)),
                categories={str(k): str(v) for k, v in entry.get("categories", {}).items()},
            )
        )
    exposure = document.get("exposure", {})
    scoring = document.get("scoring", {})
    return DangerBook(
        kinds=tuple(kinds),
        failures={word: frozenset(names) for word, names in failures.items()},
        exposure=_words(exposure.get("words", []), "exposure.words"),
        stable=_words(exposure.get("stable", []), "exposure.stable"),
        slight=_words(exposure.get("slight", []), "exposure.slight"),
        resolved=_words(exposure.get("resolved", []), "exposure.resolved"),
        harmless=_words(exposure.get("harmless", []), "exposure.harmless"),
        hypothetical=_words(exposure.get("hypothetical", []), "exposure.hypothetical"),
        minor=_words(exposure.get("minor", []), "exposure.minor"),
        window=int(scoring.get("window", 10)),
        heads=_words(scoring.get("heads", []), "scoring.heads"),
        negation_reach=int(scoring.get("negation_reach", 2)),
    )


def load_danger(text: str) -> DangerBook:
    return parse_danger(tomllib.loads(text))
