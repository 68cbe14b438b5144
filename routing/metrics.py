"""Contact-centre figures computed from the persisted call and agent-state logs (pure).

Service level, ASA, AHT, abandon rate (short abandons excluded), occupancy, and the 15 s and
overall 接通率 of GB/T 33358, for any window; the same rows always give the same figures, so
they survive restarts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reports.calls import (
    CallOptions,
    CallRow,
    abandon_rate,
    answer_rate,
    answer_rate_in_time,
    average_speed_of_answer,
    service_level,
    tally_calls,
)

# One row type and one set of options for the live figures and the calendar reports.
CallRecord = CallRow
MetricsOptions = CallOptions
DEFAULT_OPTIONS = CallOptions()

BUSY_STATES = frozenset({"offered", "talking", "wrap_up"})
AVAILABLE_STATES = BUSY_STATES | {"ready"}
WRAP_MATCH = timedelta(seconds=2)  # a wrap-up that starts this close to a hang-up belongs to it


@dataclass(frozen=True)
class AgentStateRecord:
    agent_id: str
    state: str
    at: datetime


@dataclass(frozen=True)
class QueueFigures:
    offered: int
    answered: int
    answered_in_time: int
    abandoned: int
    short_abandons: int
    waiting: int
    service_level: float | None
    asa_seconds: float | None
    aht_seconds: float | None
    abandon_rate: float | None
    answer_rate_in_time: float | None  # 15 s 接通率
    answer_rate: float | None  # 接通率 (24 h when the window is a day)
    callbacks: int = 0  # callback requests (counted as offered, not answered, not abandoned)
    refused: int = 0  # turned away by the gateway (queue full, draining): offered, not answered
    voicemails: int = 0  # left a message: offered, not answered, not abandoned


@dataclass(frozen=True)
class AgentFigures:
    agent_id: str
    answered: int
    talk_seconds: float
    wrap_up_seconds: float
    available_seconds: float
    occupancy: float | None
    aht_seconds: float | None


@dataclass
class _Interval:
    state: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def state_intervals(
    records: Iterable[AgentStateRecord], start: datetime, end: datetime
) -> dict[str, list[_Interval]]:
    """Each agent's states as intervals clipped to [start, end). Records must include the last
    change before `start` for the state at the window's opening to be known."""
    by_agent: dict[str, list[AgentStateRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.at):
        by_agent[record.agent_id].append(record)
    intervals: dict[str, list[_Interval]] = {}
    for agent, changes in by_agent.items():
        spans = []
        for current, following in zip(changes, [*changes[1:], None], strict=True):
            span_end = following.at if following is not None else end
            clipped = _Interval(current.state, max(current.at, start), min(span_end, end))
            if clipped.end > clipped.start:
                spans.append(clipped)
        intervals[agent] = spans
    return intervals


@dataclass(frozen=True)
class _WrapUps:
    """One agent's wrap-up spans, by start (sorted), for matching calls to them."""

    starts: list[datetime]
    seconds: list[float]


def _wrap_ups(spans: dict[str, list[_Interval]]) -> dict[str, _WrapUps]:
    index = {}
    for agent, agent_spans in spans.items():
        wraps = sorted((s.start, s.seconds) for s in agent_spans if s.state == "wrap_up")
        index[agent] = _WrapUps([w[0] for w in wraps], [w[1] for w in wraps])
    return index


def _wrap_up_for(call: CallRecord, wraps: _WrapUps | None) -> float:
    """The wrap-up that started within WRAP_MATCH of the call's hang-up (found by bisection:
    an agent has hundreds of spans on a busy day)."""
    if call.ended_at is None or wraps is None:
        return 0.0
    total = 0.0
    at = bisect_left(wraps.starts, call.ended_at - WRAP_MATCH)
    while at < len(wraps.starts) and wraps.starts[at] <= call.ended_at + WRAP_MATCH:
        total += wraps.seconds[at]
        at += 1
    return total


def queue_figures(
    calls: Iterable[CallRecord],
    states: Iterable[AgentStateRecord],
    start: datetime,
    end: datetime,
    options: MetricsOptions = DEFAULT_OPTIONS,
) -> dict[str, QueueFigures]:
    """Figures per queue, and for all queues under the key "*"; calls that arrived in the window."""
    wraps = _wrap_ups(state_intervals(states, start, end))
    groups: dict[str, list[CallRecord]] = defaultdict(list)
    for call in calls:
        if start <= call.arrived_at < end:
            groups[call.queue].append(call)
            groups["*"].append(call)
    return {queue: _figures(group, wraps, options) for queue, group in groups.items()}


def _figures(
    calls: list[CallRecord], wraps: dict[str, _WrapUps], options: MetricsOptions
) -> QueueFigures:
    """The queue's figures; each ratio is the reports' one definition (reports/calls.py)."""
    t = tally_calls(calls, options)
    handle_times = [
        (c.ended_at - c.connected_at).total_seconds() + _wrap_up_for(c, wraps.get(c.agent_id or ""))
        for c in calls
        if c.ended_at is not None and c.connected_at is not None
    ]
    return QueueFigures(
        offered=t.offered,
        answered=t.answered,
        answered_in_time=t.answered_in_time,
        abandoned=t.abandoned,
        short_abandons=t.short_abandons,
        waiting=t.waiting,
        service_level=service_level(t, options).value,
        asa_seconds=average_speed_of_answer(t).value,
        aht_seconds=_ratio(sum(handle_times), len(handle_times)),
        abandon_rate=abandon_rate(t).value,
        answer_rate_in_time=answer_rate_in_time(t, options).value,
        answer_rate=answer_rate(t).value,
        callbacks=t.callbacks,
        refused=t.refused,
        voicemails=t.voicemails,
    )


def agent_figures(
    calls: Iterable[CallRecord],
    states: Iterable[AgentStateRecord],
    start: datetime,
    end: datetime,
) -> dict[str, AgentFigures]:
    """Per agent: calls answered, talk and wrap-up time, occupancy (busy / available time)."""
    spans = state_intervals(states, start, end)
    talk: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for call in calls:
        if call.agent_id and call.connected_at and start <= call.connected_at < end:
            count[call.agent_id] += 1
            finish = min(call.ended_at or end, end)
            talk[call.agent_id] += max(0.0, (finish - call.connected_at).total_seconds())
    figures = {}
    for agent in sorted(set(spans) | set(count)):
        agent_spans = spans.get(agent, [])
        busy = sum(s.seconds for s in agent_spans if s.state in BUSY_STATES)
        available = sum(s.seconds for s in agent_spans if s.state in AVAILABLE_STATES)
        wrap = sum(s.seconds for s in agent_spans if s.state == "wrap_up")
        figures[agent] = AgentFigures(
            agent_id=agent,
            answered=count[agent],
            talk_seconds=talk[agent],
            wrap_up_seconds=wrap,
            available_seconds=available,
            occupancy=_ratio(busy, available),
            aht_seconds=_ratio(talk[agent] + wrap, count[agent]),
        )
    return figures


def hourly_figures(
    calls: Sequence[CallRecord],
    states: Sequence[AgentStateRecord],
    start: datetime,
    end: datetime,
    options: MetricsOptions = DEFAULT_OPTIONS,
) -> dict[datetime, dict[str, QueueFigures]]:
    """Queue figures for each hour of the window that had calls (keys: the hour's start)."""
    hours: dict[datetime, dict[str, QueueFigures]] = {}
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        figures = queue_figures(calls, states, hour, hour + timedelta(hours=1), options)
        if figures:
            hours[hour] = figures
        hour += timedelta(hours=1)
    return hours
