"""A case's report row from its ticket and its event log (派遣, 处置, 退单, 延期, 结案, 回访, 重办,
并单, 不予受理, 退回12345): pure, synchronous, no database.

The log was checked by the case machine (`cases.machine.apply`) as each event was appended, and
each logged event carries the state it led to; so this does not replay the transitions again (a
year of cases is millions of events) but reads the facts a report needs off the log. Deadlines
come from the same `cases.DeadlinePolicy` the machine uses: the limit from the category and
urgency, moved by each 延期 (`extended_deadline`) and started again by each 重办 (`deadline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cases import TERMINAL_STATES, CaseEvent, CaseState, DeadlinePolicy, EventType
from reports.cases import CaseRow, Satisfaction

E = EventType
SATISFACTION = {
    E.VISIT_SATISFIED: Satisfaction.SATISFIED,
    E.VISIT_FAIRLY_SATISFIED: Satisfaction.FAIRLY_SATISFIED,
    E.VISIT_UNSATISFIED: Satisfaction.UNSATISFIED,
    E.VISIT_UNREACHED: Satisfaction.UNREACHED,
}


@dataclass(frozen=True)
class TicketFacts:
    """What the ticket itself says of a case."""

    number: str
    accepted_at: datetime  # when the ticket was taken: the day the case is counted under
    source: str  # 12319, 96198, 12345, voicemail, callback
    department: str | None
    category: str | None
    urgent: bool = False
    merged_into: str | None = None


@dataclass(frozen=True)
class LoggedEvent:
    """One row of the case log: the event and the state the machine derived after it."""

    event: CaseEvent
    state: CaseState


def _row(ticket: TicketFacts, **facts: Any) -> CaseRow:
    return CaseRow(
        ticket.number,
        ticket.accepted_at,
        ticket.source,
        category=ticket.category or None,
        merged_into=ticket.merged_into,
        **facts,
    )


def finished_at(row: CaseRow) -> datetime | None:
    """When the case was 办结: after the 回访, or turned away (不予受理, 退回12345)."""
    moments = [m for m in (row.closed_at, row.rejected_at, row.sent_back_at) if m is not None]
    return min(moments, default=None)


def case_row(
    ticket: TicketFacts,
    log: Sequence[LoggedEvent],
    policy: DeadlinePolicy,
    *,
    master: CaseRow | None = None,
    as_of: datetime | None = None,
) -> CaseRow:
    """The report row of a case, from its ticket and its log (oldest first), as it stood at
    `as_of` (events later than that are not seen; None: all of them).

    A merged case (并单) is 办结 when its master is (`master`: the master's row at the same
    moment; None when the master is no longer kept, and then nothing more will be learnt). A
    ticket without a log (saved before the case lifecycle was recorded) is settled as saved.
    """
    department = ticket.department or None
    if ticket.merged_into is not None:
        if master is None:
            return _row(ticket, department=department, settled_at=ticket.accepted_at)
        return _row(
            ticket,
            department=department,
            closed_at=finished_at(master),
            settled_at=master.settled_at,
        )
    if not log:
        return _row(ticket, department=department, settled_at=ticket.accepted_at)
    seen = [e for e in log if as_of is None or e.event.at <= as_of]
    if not seen:
        return _row(ticket, department=department)
    limit = policy.limit_for(ticket.category, ticket.urgent)
    deadline = policy.deadline(seen[0].event.at, limit)
    forwarded_at = handled_at = core_closed_at = closed_at = None
    rejected_at = sent_back_at = visited_at = settled_at = None
    satisfaction: Satisfaction | None = None
    extensions = returns = reopened = 0
    for logged in seen[1:]:
        event = logged.event
        kind, at = event.type, event.at
        if kind is E.FORWARDED or kind is E.DISPATCHED:
            forwarded_at = forwarded_at or at
            if kind is E.DISPATCHED and event.department:
                department = event.department
        elif kind is E.REASSIGNED:
            department = event.department or department
        elif kind is E.RETURNED:
            returns += 1
        elif kind is E.EXTENSION_REQUESTED and event.new_deadline is not None:
            extensions += 1
            deadline = policy.extended_deadline(deadline, event.new_deadline)
        elif kind is E.HANDLED:
            handled_at = at
        elif kind is E.VERIFICATION_FAILED:
            handled_at = None
        elif kind is E.CORE_CLOSED:
            core_closed_at = at
        elif kind in SATISFACTION:
            satisfaction, visited_at = SATISFACTION[kind], at
            if kind is E.VISIT_UNSATISFIED:  # 重办: handled and closed again, by a new deadline
                reopened += 1
                deadline = policy.deadline(at, limit)
                handled_at = core_closed_at = None
        elif kind is E.REJECTED:
            rejected_at = at
        elif kind is E.SENT_BACK:
            sent_back_at = at
        if logged.state is CaseState.CLOSED and closed_at is None:
            closed_at = at
        if logged.state in TERMINAL_STATES and settled_at is None:
            settled_at = at
    return _row(
        ticket,
        department=department,
        rejected_at=rejected_at,
        sent_back_at=sent_back_at,
        forwarded_at=forwarded_at,
        deadline=deadline,
        extensions=extensions,
        returns=returns,
        reopened=reopened,
        handled_at=handled_at,
        core_closed_at=core_closed_at,
        closed_at=closed_at,
        satisfaction=satisfaction,
        visited_at=visited_at,
        settled_at=settled_at,
    )
