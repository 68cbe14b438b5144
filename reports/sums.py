"""Adding tallies up fast, and the grains they are summed at: calls per local day, hour and
hotline (totals, hours, lines, trends) and per local day and agent (the agent table); cases
per source, department and category, and per local day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from operator import add, attrgetter
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from reports.calls import CallOptions, CallRow, CallTally, tally_call
from reports.cases import CaseOptions, CaseRow, CaseTally, tally_case
from reports.periods import Period

K = TypeVar("K")
T = TypeVar("T")

LineKey = tuple[date, int, str]  # local day, hour, hotline
AgentKey = tuple[date, str]  # local day, agent id

_GETTERS: dict[type[Any], attrgetter[Any]] = {}


def _values(kind: type[Any]) -> attrgetter[Any]:
    getter = _GETTERS.get(kind)
    if getter is None:
        getter = _GETTERS[kind] = attrgetter(*(f.name for f in fields(kind)))
    return getter


def add_up(items: Iterable[tuple[K, T]], kind: type[T]) -> dict[K, T]:
    """Tallies summed by key: one new tally per key, not one per addition."""
    values = _values(kind)
    sums: dict[K, list[Any]] = {}
    for key, tally in items:
        current = sums.get(key)
        sums[key] = (
            list(values(tally)) if current is None else list(map(add, current, values(tally)))
        )
    return {key: kind(*numbers) for key, numbers in sums.items()}


def total(tallies: Iterable[T], kind: type[T]) -> T:
    return add_up(((None, t) for t in tallies), kind).get(None) or kind()


@dataclass
class CallSums:
    """A set of local days' calls, summed at both grains."""

    lines: dict[LineKey, CallTally] = field(default_factory=dict)
    agents: dict[AgentKey, CallTally] = field(default_factory=dict)

    def merge(self, other: CallSums) -> None:
        """Adds other days' sums (the days must differ)."""
        self.lines.update(other.lines)
        self.agents.update(other.agents)

    def within(self, period: Period) -> CallSums:
        return CallSums(
            {k: t for k, t in self.lines.items() if period.first <= k[0] < period.end},
            {k: t for k, t in self.agents.items() if period.first <= k[0] < period.end},
        )

    def total(self) -> CallTally:
        return total(self.lines.values(), CallTally)


def sum_calls(calls: Iterable[CallRow], zone: ZoneInfo, options: CallOptions) -> CallSums:
    """Each call's tally added into its (day, hour, hotline) and, if answered, (day, agent)."""
    lines: list[tuple[LineKey, CallTally]] = []
    agents: list[tuple[AgentKey, CallTally]] = []
    for call in calls:
        local = call.arrived_at.astimezone(zone)
        tally = tally_call(call, options)
        lines.append(((local.date(), local.hour, call.line), tally))
        if call.agent_id:
            agents.append(((local.date(), call.agent_id), tally))
    return CallSums(add_up(lines, CallTally), add_up(agents, CallTally))


CaseUnit = tuple[date, str, str]  # local day accepted, source, department ("" when none)
CategoryKey = tuple[date, str]  # local day accepted, category ("" when none)


@dataclass
class CaseSums:
    """Cases summed by the local day they were accepted: per source and department, and per
    category."""

    units: dict[CaseUnit, CaseTally] = field(default_factory=dict)
    categories: dict[CategoryKey, CaseTally] = field(default_factory=dict)

    def merge(self, other: CaseSums) -> None:
        """Adds other days' sums (the days must differ)."""
        self.units.update(other.units)
        self.categories.update(other.categories)

    def within(self, period: Period) -> CaseSums:
        return CaseSums(
            {k: t for k, t in self.units.items() if period.first <= k[0] < period.end},
            {k: t for k, t in self.categories.items() if period.first <= k[0] < period.end},
        )

    def total(self) -> CaseTally:
        return total(self.units.values(), CaseTally)


def sum_cases(
    cases: Iterable[CaseRow], as_of: datetime, options: CaseOptions, zone: ZoneInfo
) -> CaseSums:
    """Each case tallied once, as it stood at `as_of`, and added into its day's sums."""
    units: list[tuple[CaseUnit, CaseTally]] = []
    categories: list[tuple[CategoryKey, CaseTally]] = []
    for case in cases:
        if case.accepted_at > as_of:
            continue
        tally = tally_case(case, as_of, options)
        day = case.accepted_at.astimezone(zone).date()
        units.append(((day, case.source, case.department or ""), tally))
        categories.append(((day, case.category or ""), tally))
    return CaseSums(add_up(units, CaseTally), add_up(categories, CaseTally))
