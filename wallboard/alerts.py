"""Alert rules for the shift lead (pure, takes `now`).

`conditions` says what is wrong at `now` (a call waiting too long, an agent paused too long,
an abandon spike, a queue nobody serves, forwarding stuck or refused, a case near or past
its deadline); `AlertBook` turns conditions into alerts: raised once when a condition
appears, acknowledged by a lead, cleared when the condition goes away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from routing import AgentState
from wallboard.board import AgentSeat, WaitingCall


class AlertKind(StrEnum):
    LONG_WAIT = "long_wait"
    LONG_PAUSE = "long_pause"
    ABANDON_SPIKE = "abandon_spike"
    NO_AGENT = "no_agent"
    FORWARD_STUCK = "forward_stuck"
    DEAD_LETTER = "dead_letter"
    CASE_DUE = "case_due"
    CASE_OVERDUE = "case_overdue"


LABELS = {
    AlertKind.LONG_WAIT: "来电等待过长",
    AlertKind.LONG_PAUSE: "示忙过长",
    AlertKind.ABANDON_SPIKE: "放弃来电激增",
    AlertKind.NO_AGENT: "队列无人值守",
    AlertKind.FORWARD_STUCK: "转派积压",
    AlertKind.DEAD_LETTER: "转派被拒",
    AlertKind.CASE_DUE: "工单临近时限",
    AlertKind.CASE_OVERDUE: "工单已超时限",
}


class AlertError(ValueError):
    """An acknowledgement the book refuses; `error_id` is stable for API clients."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class AlertRules:
    # A caller waiting longer than this (the 15 s of 15秒接通率).
    wait_seconds: float = 15.0
    # An agent paused longer than this.
    pause_seconds: float = 900.0
    # This many abandons (short ones excluded) in one queue within the window; 0: off.
    abandon_count: int = 5
    abandon_window_seconds: float = 600.0
    # A queue with no agent logged in serving it.
    no_agent: bool = True
    # A case or command not delivered to the dispatch core this long after it was written.
    forward_stuck_seconds: float = 600.0
    # A case whose deadline is this close (or past).
    case_warning_hours: float = 24.0


@dataclass(frozen=True)
class CaseDue:
    number: str
    deadline: datetime


@dataclass(frozen=True)
class OutboxFacts:
    """What the forwarding outbox holds: undelivered rows' creation times, dead letters."""

    pending_since: Sequence[datetime] = ()
    dead_letters: Sequence[tuple[str, datetime]] = ()  # (idempotency key, refused at)


@dataclass(frozen=True)
class Abandon:
    queue: str
    at: datetime


@dataclass(frozen=True)
class Watch:
    """Everything the rules look at."""

    queues: Sequence[str]
    waiting: Sequence[WaitingCall] = ()
    seats: Sequence[AgentSeat] = ()
    abandons: Sequence[Abandon] = ()
    outbox: OutboxFacts = OutboxFacts()
    cases: Sequence[CaseDue] = ()


@dataclass(frozen=True)
class Condition:
    key: str  # one alert per key while the condition lasts
    kind: AlertKind
    subject: str  # the call, agent, queue or case it is about
    text: str  # what the lead reads
    since: datetime


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} 分钟" if seconds >= 120 else f"{seconds:.0f} 秒"


def conditions(watch: Watch, rules: AlertRules, now: datetime) -> list[Condition]:
    """What is wrong at `now`."""
    found: list[Condition] = []
    wait = timedelta(seconds=rules.wait_seconds)
    for call in watch.waiting:
        if now - call.since >= wait:
            found.append(
                Condition(
                    f"long_wait:{call.call_id}",
                    AlertKind.LONG_WAIT,
                    call.queue,
                    f"{call.queue} 有来电等待超过 {_minutes(rules.wait_seconds)}",
                    call.since + wait,
                )
            )
    pause = timedelta(seconds=rules.pause_seconds)
    for seat in watch.seats:
        if seat.state is AgentState.PAUSED and seat.since is not None and now - seat.since >= pause:
            why = f"（{seat.reason}）" if seat.reason else ""
            found.append(
                Condition(
                    f"long_pause:{seat.agent_id}:{seat.since.isoformat()}",
                    AlertKind.LONG_PAUSE,
                    seat.agent_id,
                    f"{seat.name or seat.agent_id} 示忙{why}超过 {_minutes(rules.pause_seconds)}",
                    seat.since + pause,
                )
            )
    found += _abandon_spikes(watch, rules, now)
    if rules.no_agent:
        for queue in watch.queues:
            if not any(
                s.state is not AgentState.LOGGED_OUT and s.serves(queue) for s in watch.seats
            ):
                found.append(
                    Condition(
                        f"no_agent:{queue}",
                        AlertKind.NO_AGENT,
                        queue,
                        f"{queue} 队列无人签入",
                        now,
                    )
                )
    stuck = timedelta(seconds=rules.forward_stuck_seconds)
    late = sorted(t for t in watch.outbox.pending_since if now - t >= stuck)
    if late:
        found.append(
            Condition(
                "forward_stuck",
                AlertKind.FORWARD_STUCK,
                "dispatch",
                f"{len(late)} 件超过 {_minutes(rules.forward_stuck_seconds)} 未送达数字城管平台",
                late[0] + stuck,
            )
        )
    for key, at in watch.outbox.dead_letters:
        found.append(
            Condition(
                f"dead_letter:{key}",
                AlertKind.DEAD_LETTER,
                key,
                f"{key} 被数字城管平台拒收，需人工处理",
                at,
            )
        )
    warning = timedelta(hours=rules.case_warning_hours)
    for case in watch.cases:
        if case.deadline <= now:
            found.append(
                Condition(
                    f"case_overdue:{case.number}",
                    AlertKind.CASE_OVERDUE,
                    case.number,
                    f"工单 {case.number} 已超过办理时限",
                    case.deadline,
                )
            )
        elif case.deadline - now <= warning:
            found.append(
                Condition(
                    f"case_due:{case.number}",
                    AlertKind.CASE_DUE,
                    case.number,
                    f"工单 {case.number} 临近办理时限",
                    case.deadline - warning,
                )
            )
    return found


def _abandon_spikes(watch: Watch, rules: AlertRules, now: datetime) -> list[Condition]:
    if rules.abandon_count <= 0:
        return []
    window = timedelta(seconds=rules.abandon_window_seconds)
    found = []
    for queue in watch.queues:
        recent = sorted(
            a.at for a in watch.abandons if a.queue == queue and now - window < a.at <= now
        )
        if len(recent) >= rules.abandon_count:
            found.append(
                Condition(
                    f"abandon_spike:{queue}",
                    AlertKind.ABANDON_SPIKE,
                    queue,
                    f"{queue} 近 {_minutes(rules.abandon_window_seconds)}放弃来电 {len(recent)} 个",
                    recent[rules.abandon_count - 1],
                )
            )
    return found


def next_check(watch: Watch, rules: AlertRules, now: datetime) -> datetime | None:
    """The next moment the conditions can change with no event: a wait or a pause reaching
    its limit, an abandon leaving the window, a pending case or a deadline coming close."""
    moments: list[datetime] = []
    moments += [w.since + timedelta(seconds=rules.wait_seconds) for w in watch.waiting]
    moments += [
        s.since + timedelta(seconds=rules.pause_seconds)
        for s in watch.seats
        if s.state is AgentState.PAUSED and s.since is not None
    ]
    window = timedelta(seconds=rules.abandon_window_seconds)
    moments += [a.at + window for a in watch.abandons]
    moments += [
        t + timedelta(seconds=rules.forward_stuck_seconds) for t in watch.outbox.pending_since
    ]
    warning = timedelta(hours=rules.case_warning_hours)
    for case in watch.cases:
        moments += [case.deadline - warning, case.deadline]
    later = [m for m in moments if m > now]
    return min(later, default=None)


@dataclass(frozen=True)
class Alert:
    id: int
    key: str
    kind: AlertKind
    subject: str
    text: str
    raised_at: datetime
    acked_by: str | None = None
    acked_at: datetime | None = None
    cleared_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "label": LABELS[self.kind],
            "subject": self.subject,
            "text": self.text,
            "raised_at": self.raised_at.isoformat(),
            "acked_by": self.acked_by,
            "acked_at": None if self.acked_at is None else self.acked_at.isoformat(),
            "cleared_at": None if self.cleared_at is None else self.cleared_at.isoformat(),
        }


@dataclass
class AlertBook:
    """Alerts open now: one per condition key, raised once, kept until the condition clears."""

    _open: dict[str, Alert] = field(default_factory=dict)
    _next_id: int = 1

    def open(self) -> list[Alert]:
        return sorted(self._open.values(), key=lambda a: a.id)

    def update(self, found: Sequence[Condition], now: datetime) -> list[Alert]:
        """Raise alerts for new conditions and clear those gone; the alerts that changed."""
        changed: list[Alert] = []
        current: Mapping[str, Condition] = {c.key: c for c in found}
        for key in [k for k in self._open if k not in current]:
            changed.append(replace(self._open.pop(key), cleared_at=now))
        for key, condition in current.items():
            alert = self._open.get(key)
            if alert is None:
                alert = Alert(
                    self._next_id, key, condition.kind, condition.subject, condition.text, now
                )
                self._next_id += 1
                self._open[key] = alert
                changed.append(alert)
            elif alert.text != condition.text:
                # Same trouble, new figures (more cases stuck): the lead sees them, no new alert.
                self._open[key] = replace(alert, text=condition.text)
                changed.append(self._open[key])
        return changed

    def ack(self, alert_id: int, by: str, now: datetime) -> Alert:
        """A lead has seen the alert; it stays listed until its condition clears."""
        for key, alert in self._open.items():
            if alert.id == alert_id:
                if alert.acked_at is not None:
                    raise AlertError("already-acknowledged", f"alert {alert_id} is acknowledged")
                self._open[key] = replace(alert, acked_by=by, acked_at=now)
                return self._open[key]
        raise AlertError("unknown-alert", f"no open alert {alert_id}")
