"""The wallboard's picture of the centre at one moment (pure, takes `now`).

Per queue: calls waiting and the longest wait, answered and abandoned calls, service level and
15 s 接通率 for today and for the last hour (each the reports' one definition,
`reports/calls.py`); every agent with state, pause reason and current call; calls in progress.
Times are given as the moments things started, so a page can count on without being told.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reports.calls import (
    CallOptions,
    CallRow,
    CallTally,
    answer_rate_in_time,
    service_level,
    tally_calls,
)
from routing import AgentState, RoutingEngine

LAST_HOUR = timedelta(hours=1)
# Agents who take calls now; the others are idle, paused or away.
BUSY = frozenset({AgentState.OFFERED, AgentState.TALKING, AgentState.WRAP_UP})


@dataclass(frozen=True)
class WaitingCall:
    """A caller on the line waiting for an agent (callback requests and 回访 are not)."""

    call_id: str
    queue: str
    since: datetime  # when the caller joined the line


@dataclass(frozen=True)
class AgentSeat:
    """An agent as routing knows them (state LOGGED_OUT when routing has not met them)."""

    agent_id: str
    name: str
    state: AgentState
    since: datetime | None
    reason: str = ""
    queues: frozenset[str] | None = None  # None: every queue
    call_id: str | None = None

    def serves(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues


@dataclass(frozen=True)
class CallBoard:
    """A call in progress: waiting, ringing an agent or connected."""

    call_id: str
    queue: str
    hotline: str
    state: str  # queued | offered | connected | callback | transferred
    arrived_at: datetime
    caller: str  # masked: the wall screen is seen by everyone in the room
    agent_id: str | None = None
    connected_at: datetime | None = None
    # A lead on the call (监听/密语/强插): who, the mode, ringing or connected.
    monitor_lead: str = ""
    monitor_mode: str = ""
    monitor_state: str = ""


@dataclass(frozen=True)
class PeriodFigures:
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    answer_rate_in_time: float | None  # 15 s 接通率


@dataclass(frozen=True)
class QueueBoard:
    queue: str
    waiting: int
    oldest_since: datetime | None
    on_duty: int  # agents logged in who serve the queue
    ready: int
    busy: int
    today: PeriodFigures
    last_hour: PeriodFigures

    def longest_wait_seconds(self, now: datetime) -> float:
        if self.oldest_since is None:
            return 0.0
        return max(0.0, (now - self.oldest_since).total_seconds())


@dataclass(frozen=True)
class AgentBoard:
    agent_id: str
    name: str
    state: AgentState
    reason: str
    since: datetime | None
    call_id: str | None
    call_connected_at: datetime | None
    hotline: str

    def seconds_in_state(self, now: datetime) -> float:
        return 0.0 if self.since is None else max(0.0, (now - self.since).total_seconds())

    def call_seconds(self, now: datetime) -> float:
        if self.call_connected_at is None:
            return 0.0
        return max(0.0, (now - self.call_connected_at).total_seconds())


@dataclass(frozen=True)
class Board:
    at: datetime
    queues: tuple[QueueBoard, ...]
    agents: tuple[AgentBoard, ...]
    calls: tuple[CallBoard, ...]

    def queue(self, name: str) -> QueueBoard:
        return next(q for q in self.queues if q.queue == name)

    def agent(self, agent_id: str) -> AgentBoard:
        return next(a for a in self.agents if a.agent_id == agent_id)


def waiting_calls(routing: RoutingEngine) -> list[WaitingCall]:
    """Callers waiting in routing's queues, oldest first within each queue."""
    return [
        WaitingCall(call.call_id, queue, call.enqueued_at)
        for queue in routing.queues()
        for call in routing.waiting(queue)
        if call.callback_number is None and call.visit_ticket is None
    ]


def period_figures(
    rows: Iterable[CallRow], options: CallOptions, earlier: CallTally | None = None
) -> PeriodFigures:
    """The figures of `rows`, plus `earlier` (calls of the period already tallied)."""
    tally = tally_calls(rows, options)
    if earlier is not None:
        tally = tally + earlier
    return PeriodFigures(
        offered=tally.offered,
        answered=tally.answered,
        abandoned=tally.abandoned,
        service_level=service_level(tally, options).value,
        answer_rate_in_time=answer_rate_in_time(tally, options).value,
    )


def build_board(
    queues: Sequence[str],
    waiting: Sequence[WaitingCall],
    seats: Sequence[AgentSeat],
    calls: Sequence[CallBoard],
    rows: Sequence[CallRow],
    now: datetime,
    day_start: datetime,
    options: CallOptions,
    earlier: Mapping[str, CallTally] | None = None,
) -> Board:
    """The wallboard at `now`: `rows` are the calls that arrived since `day_start` (and in the
    last hour, if that began the day before), as the call log has them; `earlier`, per queue,
    tallies today's calls that are not among `rows` (wallboard/day_calls.py)."""
    today: dict[str, list[CallRow]] = defaultdict(list)
    hour: dict[str, list[CallRow]] = defaultdict(list)
    for row in rows:
        if day_start <= row.arrived_at <= now:
            today[row.queue].append(row)
        if now - LAST_HOUR <= row.arrived_at <= now:
            hour[row.queue].append(row)
    boards = []
    for name in queues:
        in_line = [w.since for w in waiting if w.queue == name]
        serving = [s for s in seats if s.state is not AgentState.LOGGED_OUT and s.serves(name)]
        boards.append(
            QueueBoard(
                queue=name,
                waiting=len(in_line),
                oldest_since=min(in_line, default=None),
                on_duty=len(serving),
                ready=sum(1 for s in serving if s.state is AgentState.READY),
                busy=sum(1 for s in serving if s.state in BUSY),
                today=period_figures(today[name], options, (earlier or {}).get(name)),
                last_hour=period_figures(hour[name], options),
            )
        )
    by_call = {c.call_id: c for c in calls}
    agents = []
    for seat in sorted(seats, key=lambda s: (s.state is AgentState.LOGGED_OUT, s.agent_id)):
        call = by_call.get(seat.call_id or "")
        agents.append(
            AgentBoard(
                agent_id=seat.agent_id,
                name=seat.name,
                state=seat.state,
                reason=seat.reason,
                since=seat.since,
                call_id=seat.call_id,
                call_connected_at=call.connected_at if call is not None else None,
                hotline=call.hotline if call is not None else "",
            )
        )
    in_progress = tuple(sorted(calls, key=lambda c: c.arrived_at))
    return Board(now, tuple(boards), tuple(agents), in_progress)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def period_json(figures: PeriodFigures) -> dict[str, Any]:
    return {
        "offered": figures.offered,
        "answered": figures.answered,
        "abandoned": figures.abandoned,
        "service_level": figures.service_level,
        "answer_rate_in_time": figures.answer_rate_in_time,
    }


def queue_json(board: QueueBoard) -> dict[str, Any]:
    return {
        "queue": board.queue,
        "waiting": board.waiting,
        "oldest_since": _when(board.oldest_since),
        "on_duty": board.on_duty,
        "ready": board.ready,
        "busy": board.busy,
        "today": period_json(board.today),
        "last_hour": period_json(board.last_hour),
    }


def agent_json(board: AgentBoard) -> dict[str, Any]:
    return {
        "agent_id": board.agent_id,
        "name": board.name,
        "state": board.state.value,
        "reason": board.reason,
        "since": _when(board.since),
        "call_id": board.call_id,
        "call_connected_at": _when(board.call_connected_at),
        "hotline": board.hotline,
    }


def call_json(board: CallBoard) -> dict[str, Any]:
    return {
        "call_id": board.call_id,
        "queue": board.queue,
        "hotline": board.hotline,
        "state": board.state,
        "arrived_at": board.arrived_at.isoformat(),
        "caller": board.caller,
        "agent_id": board.agent_id,
        "connected_at": _when(board.connected_at),
        "monitor": (
            {
                "lead_id": board.monitor_lead,
                "mode": board.monitor_mode,
                "state": board.monitor_state,
            }
            if board.monitor_lead
            else None
        ),
    }


def board_json(board: Board) -> dict[str, Any]:
    """The snapshot as the websocket sends it (without the alerts, which the adapter adds)."""
    return {
        "at": board.at.isoformat(),
        "queues": [queue_json(q) for q in board.queues],
        "agents": [agent_json(a) for a in board.agents],
        "calls": [call_json(c) for c in board.calls],
    }
