"""An indicator of a report: its Chinese name as the seeds write it, its value, and the
numerator and denominator it was worked out from, so every rate can be checked by hand."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    COUNT = "件"  # cases
    CALLS = "次"  # calls
    RATIO = "%"  # a rate: value in [0, 1], shown as a percentage
    SECONDS = "秒"


@dataclass(frozen=True)
class Indicator:
    key: str  # stable, for machines (CSV consumers, /metrics, snapshots)
    name: str  # as the seeds write it: 受理量, 15秒接通率, 按期处置率 …
    unit: Unit
    value: float | None  # None: nothing to divide by (no calls, no cases due)
    numerator: float | None = None
    denominator: float | None = None

    @property
    def is_rate(self) -> bool:
        return self.unit is Unit.RATIO

    def shown(self) -> str:
        """The value as a report prints it: 98.75%, 1234, 12.3 秒, or — when undefined."""
        return format_value(self.unit, self.value)


def format_value(unit: Unit, value: float | None) -> str:
    if value is None:
        return "—"
    if unit is Unit.RATIO:
        return f"{value * 100:.2f}%"
    if unit is Unit.SECONDS:
        return f"{value:.1f}"
    return f"{value:.0f}"


def count(key: str, name: str, value: float, unit: Unit = Unit.COUNT) -> Indicator:
    return Indicator(key, name, unit, value)


def calls(key: str, name: str, value: float) -> Indicator:
    return count(key, name, value, Unit.CALLS)


def rate(key: str, name: str, numerator: float, denominator: float) -> Indicator:
    """numerator ÷ denominator; None (not 0) when there is nothing to divide by."""
    value = numerator / denominator if denominator > 0 else None
    return Indicator(key, name, Unit.RATIO, value, numerator, denominator)


def mean(key: str, name: str, total: float, n: float, unit: Unit = Unit.SECONDS) -> Indicator:
    value = total / n if n > 0 else None
    return Indicator(key, name, unit, value, total, n)


@dataclass(frozen=True)
class Change:
    """How an indicator moved against an earlier period (环比 or 同比)."""

    before: float | None
    # For a rate: percentage points (0.012 = +1.2 个百分点); for a count or a mean: relative
    # (0.05 = +5%). None when either side is undefined (or a count was 0 before).
    delta: float | None


def change(now: Indicator, before: Indicator | None) -> Change:
    if before is None or before.value is None or now.value is None:
        return Change(None if before is None else before.value, None)
    if now.is_rate:
        return Change(before.value, now.value - before.value)
    if before.value == 0:
        return Change(before.value, None)
    return Change(before.value, (now.value - before.value) / before.value)


def format_change(unit: Unit, delta: float | None) -> str:
    """+1.20个百分点 for a rate, +5.00% otherwise, — when undefined."""
    if delta is None:
        return "—"
    if unit is Unit.RATIO:
        return f"{delta * 100:+.2f}个百分点"
    return f"{delta * 100:+.2f}%"
