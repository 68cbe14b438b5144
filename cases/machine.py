"""The work order state machine: an event in, the next derived state out; replay of the log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cases.deadlines import DeadlinePolicy, TimeLimit
from cases.events import CORE_EVENT_TYPES, CaseEvent, EventType
from cases.events import LABELS as EVENT_LABELS
from cases.states import HANDLING_STATES, CaseState
from cases.states import LABELS as STATE_LABELS

S = CaseState
E = EventType
_HANDLING = frozenset({S.ACCEPTED, S.FORWARDED, S.DISPATCHED, S.HANDLING})

# event → (states it may happen in, the state it leads to; None: the state does not change).
TRANSITIONS: dict[EventType, tuple[frozenset[CaseState], CaseState | None]] = {
    E.FORWARDED: (frozenset({S.ACCEPTED}), S.FORWARDED),
    E.DISPATCHED: (frozenset({S.ACCEPTED, S.FORWARDED, S.DISPATCHED}), S.DISPATCHED),
    E.HANDLING: (frozenset({S.DISPATCHED}), S.HANDLING),
    E.HANDLED: (frozenset({S.DISPATCHED, S.HANDLING}), S.HANDLED),
    E.RETURNED: (frozenset({S.FORWARDED, S.DISPATCHED, S.HANDLING}), S.RETURNED),
    E.EXTENSION_REQUESTED: (frozenset({S.DISPATCHED, S.HANDLING}), None),
    E.VERIFIED: (frozenset({S.HANDLED}), S.VERIFYING),
    E.VERIFICATION_FAILED: (frozenset({S.HANDLED, S.VERIFYING}), S.HANDLING),
    E.CORE_CLOSED: (frozenset({S.HANDLED, S.VERIFYING}), S.CALLBACK),
    E.REASSIGNED: (frozenset({S.RETURNED}), S.FORWARDED),
    E.REJECTED: (frozenset({S.RETURNED}), S.REJECTED),
    E.SENT_BACK: (frozenset({S.ACCEPTED, S.FORWARDED, S.RETURNED}), S.SENT_BACK),
    E.URGED: (_HANDLING | {S.RETURNED}, None),
    E.SUPERVISED: (_HANDLING | {S.RETURNED}, None),
    E.VISIT_SATISFIED: (frozenset({S.CALLBACK}), S.CLOSED),
    E.VISIT_FAIRLY_SATISFIED: (frozenset({S.CALLBACK}), S.CLOSED),
    E.VISIT_UNSATISFIED: (frozenset({S.CALLBACK}), S.FORWARDED),  # 重办
    E.VISIT_UNREACHED: (frozenset({S.CALLBACK}), None),  # stays until attempts run out
}
NEEDS_REASON = frozenset({E.RETURNED, E.REJECTED, E.SENT_BACK, E.EXTENSION_REQUESTED})
OPENING = frozenset({E.ACCEPTED, E.MERGED})


class CaseError(ValueError):
    """An event the case cannot take; `error_id` is stable for API clients."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class Case:
    """What a case's event log adds up to at its last event."""

    state: CaseState
    accepted_at: datetime
    limit: TimeLimit
    deadline: datetime  # the department's handling deadline (延期 and 重办 move it)
    deadline_started: datetime
    remind_at: datetime
    forward_due: datetime
    last_at: datetime
    last_core_at: datetime | None = None
    department: str | None = None
    dispatched_at: datetime | None = None
    extensions: int = 0
    urged: bool = False  # 催办 raised for the current deadline
    supervised: bool = False  # 督办 raised for the current deadline
    returns: int = 0
    late_return: bool = False  # the last 退单 came after the 退单 window
    handled_at: datetime | None = None
    handled_on_time: bool | None = None
    reopened: int = 0  # 重办 after an unsatisfied 回访
    visit_due: datetime | None = None
    visit_attempts: int = 0
    next_visit_at: datetime | None = None  # a 未接通 回访 is offered again from then
    satisfaction: EventType | None = None
    closed_at: datetime | None = None

    @property
    def current_deadline(self) -> datetime | None:
        """The deadline that runs now: handling, the 回访's, or none."""
        if self.state in HANDLING_STATES or self.state is S.RETURNED:
            return self.deadline
        if self.state is S.CALLBACK:
            return self.visit_due
        return None

    def overdue(self, now: datetime) -> bool:
        deadline = self.current_deadline
        return deadline is not None and now > deadline

    def forward_overdue(self, now: datetime) -> bool:
        return self.state is S.ACCEPTED and now > self.forward_due


def allowed(state: CaseState) -> list[EventType]:
    """The events a case in `state` can take (for the console and the error messages)."""
    return [event for event, (sources, _) in TRANSITIONS.items() if state in sources]


def _not_allowed(case: Case, event: CaseEvent) -> CaseError:
    return CaseError(
        "transition-not-allowed",
        f"{event.type.value}（{EVENT_LABELS[event.type]}）is not allowed in state "
        f"{case.state.value}（{STATE_LABELS[case.state]}）",
    )


def open_case(event: CaseEvent, limit: TimeLimit, policy: DeadlinePolicy) -> Case:
    """The case its first event (受理 or 并单) opens."""
    if event.type not in OPENING:
        raise CaseError("not-opened", f"a case opens with accepted or merged, not {event.type}")
    deadline = policy.deadline(event.at, limit)
    return Case(
        state=S.ACCEPTED if event.type is E.ACCEPTED else S.MERGED,
        accepted_at=event.at,
        limit=limit,
        deadline=deadline,
        deadline_started=event.at,
        remind_at=policy.remind_at(event.at, deadline, limit),
        forward_due=policy.forward_deadline(event.at),
        last_at=event.at,
        department=event.department,
    )


def apply(case: Case, event: CaseEvent, policy: DeadlinePolicy) -> Case:
    """The case after `event`; CaseError (naming the state and the event) if it cannot be."""
    if event.type in OPENING:
        raise CaseError("already-open", f"the case is already open ({case.state.value})")
    sources, target = TRANSITIONS[event.type]
    if case.state not in sources:
        raise _not_allowed(case, event)
    if event.type in NEEDS_REASON and not event.reason.strip():
        raise CaseError("missing-reason", f"{event.type.value} needs a reason")
    if event.type in CORE_EVENT_TYPES:
        if case.last_core_at is not None and event.at < case.last_core_at:
            raise CaseError(
                "out-of-order",
                f"{event.type.value} at {event.at.isoformat()} is older than the last event "
                f"from the dispatch core ({case.last_core_at.isoformat()})",
            )
        case = replace(case, last_core_at=event.at)
    state = case.state if target is None else target
    changes: dict[str, object] = {"state": state, "last_at": max(case.last_at, event.at)}
    kind = event.type
    if kind is E.DISPATCHED or kind is E.REASSIGNED:
        if kind is E.REASSIGNED and not event.department:
            raise CaseError("missing-department", "改派 needs the department to send it to")
        changes["department"] = event.department or case.department
        if kind is E.DISPATCHED:
            changes["dispatched_at"] = event.at
    elif kind is E.RETURNED:
        dispatched_at = case.dispatched_at or case.accepted_at
        changes["returns"] = case.returns + 1
        changes["late_return"] = event.at > policy.return_deadline(dispatched_at)
    elif kind is E.EXTENSION_REQUESTED:
        if event.new_deadline is None:
            raise CaseError("missing-new-deadline", "延期 needs new_deadline (a date)")
        problem = policy.extension_problem(case.deadline, event.new_deadline, case.extensions)
        if problem is not None:
            raise CaseError("extension-refused", problem)
        deadline = policy.extended_deadline(case.deadline, event.new_deadline)
        changes.update(
            extensions=case.extensions + 1,
            deadline=deadline,
            deadline_started=event.at,
            remind_at=policy.remind_at(event.at, deadline, case.limit),
            urged=False,
            supervised=False,
        )
    elif kind is E.HANDLED:
        changes.update(handled_at=event.at, handled_on_time=event.at <= case.deadline)
    elif kind is E.VERIFICATION_FAILED:
        changes.update(handled_at=None, handled_on_time=None)
    elif kind is E.CORE_CLOSED:
        changes.update(
            visit_due=policy.visit_deadline(event.at),
            visit_attempts=0,
            next_visit_at=event.at,
            satisfaction=None,
        )
    elif kind is E.URGED:
        changes["urged"] = True
    elif kind is E.SUPERVISED:
        changes.update(urged=True, supervised=True)
    elif kind in (E.VISIT_SATISFIED, E.VISIT_FAIRLY_SATISFIED):
        changes.update(
            satisfaction=kind,
            visit_attempts=case.visit_attempts + 1,
            next_visit_at=None,
            closed_at=event.at,
        )
    elif kind is E.VISIT_UNSATISFIED:
        deadline = policy.deadline(event.at, case.limit)
        changes.update(
            satisfaction=kind,
            visit_attempts=case.visit_attempts + 1,
            next_visit_at=None,
            visit_due=None,
            reopened=case.reopened + 1,
            deadline=deadline,
            deadline_started=event.at,
            remind_at=policy.remind_at(event.at, deadline, case.limit),
            urged=False,
            supervised=False,
            handled_at=None,
            handled_on_time=None,
        )
    elif kind is E.VISIT_UNREACHED:
        attempts = case.visit_attempts + 1
        if attempts >= policy.visit_attempts:
            changes.update(
                state=S.CLOSED, visit_attempts=attempts, next_visit_at=None, closed_at=event.at
            )
        else:
            retry = event.at + timedelta(minutes=policy.visit_retry_minutes)
            changes.update(visit_attempts=attempts, next_visit_at=retry)
    elif kind in (E.REJECTED, E.SENT_BACK):
        changes["closed_at"] = event.at
    return replace(case, **changes)  # type: ignore[arg-type]


def replay(events: Iterable[CaseEvent], limit: TimeLimit, policy: DeadlinePolicy) -> Case:
    """The case its whole event log adds up to (the first event opens it)."""
    iterator = iter(events)
    first = next(iterator, None)
    if first is None:
        raise CaseError("no-events", "a case needs at least its opening event")
    case = open_case(first, limit, policy)
    for event in iterator:
        case = apply(case, event, policy)
    return case


def due_reminders(case: Case, now: datetime) -> list[EventType]:
    """催办 and 督办 that are due and not yet raised for the case's current deadline."""
    if case.state not in HANDLING_STATES and case.state is not S.RETURNED:
        return []
    due: list[EventType] = []
    if not case.urged and not case.supervised and case.remind_at <= now < case.deadline:
        due.append(E.URGED)
    if not case.supervised and now >= case.deadline:
        due.append(E.SUPERVISED)
    return due


def next_reminder_at(case: Case) -> datetime | None:
    """When `due_reminders` next has something to say for this case."""
    if case.state not in HANDLING_STATES and case.state is not S.RETURNED:
        return None
    if not case.urged and not case.supervised and case.remind_at < case.deadline:
        return case.remind_at
    if not case.supervised:
        return case.deadline
    return None
