"""Repeat reports (并单): is the ticket being written about a matter already open?

Two signs, either enough: the same place and the same category, or descriptions that say
nearly the same thing. Pure; the caller supplies the open cases and `now`.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nlp.location import extract_places, place_name

SAME_PLACE = "same-place-and-category"
SIMILAR_TEXT = "similar-text"
# A place name kept for comparison is at least this long ("解放路", not "路").
MIN_PLACE = 3


@dataclass(frozen=True)
class CaseSketch:
    """What repeat detection needs of a ticket."""

    number: str
    text: str
    address: str
    category_code: str | None
    created_at: datetime


@dataclass(frozen=True)
class RepeatMatch:
    number: str
    reason: str  # SAME_PLACE or SIMILAR_TEXT
    similarity: float
    place: str | None  # the shared place, for the agent's screen


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _bigrams(text: str) -> Counter[str]:
    chars = [char for char in _normalise(text) if char.isalnum()]
    return Counter(a + b for a, b in itertools.pairwise(chars))


def similarity(first: str, second: str) -> float:
    """Cosine of the character-bigram counts: 1.0 for the same wording, 0.0 for nothing shared."""
    a, b = _bigrams(first), _bigrams(second)
    if not a or not b:
        return 0.0
    dot = sum(count * b[gram] for gram, count in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return min(1.0, dot / norm)


def places(*texts: str) -> set[str]:
    """Place names in the texts, without door, side or house number (幸福小区东门 → 幸福小区)."""
    names = set()
    for text in texts:
        for place in extract_places(_normalise(text)):
            core = place_name(place.text)
            if len(core) >= MIN_PLACE:
                names.add(core)
    return names


def find_repeats(
    new: CaseSketch,
    open_cases: Iterable[CaseSketch],
    now: datetime,
    days: int,
    threshold: float,
    limit: int = 3,
) -> list[RepeatMatch]:
    """Open cases of the last `days` that `new` probably repeats, most alike first."""
    since = now - timedelta(days=days)
    here = places(new.address, new.text)
    found: list[RepeatMatch] = []
    for case in open_cases:
        if case.number == new.number or case.created_at < since:
            continue
        alike = similarity(new.text, case.text)
        shared = sorted(here & places(case.address, case.text), key=len, reverse=True)
        if shared and new.category_code and new.category_code == case.category_code:
            found.append(RepeatMatch(case.number, SAME_PLACE, alike, shared[0]))
        elif alike >= threshold:
            place = shared[0] if shared else None
            found.append(RepeatMatch(case.number, SIMILAR_TEXT, alike, place))
    found.sort(key=lambda match: (match.reason != SAME_PLACE, -match.similarity))
    return found[:limit]
