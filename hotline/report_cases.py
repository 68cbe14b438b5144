"""Cases for reports: the tickets accepted in a range and their case event logs, read in bulk
(the tickets in one query, their events in one ordered, streamed query) and turned into
`CaseRow`s by the pure `reports.case_history.case_row`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cases import CaseEvent, CaseState, DeadlinePolicy, EventType
from hotline.models import Call, CaseEventRow, Ticket
from reports import CaseRow
from reports.calls import VOICEMAIL_REASON
from reports.case_history import LoggedEvent, TicketFacts, case_row

DRAFT = "draft"  # a voicemail's ticket nobody has completed yet: not accepted
MASTERS_PER_QUERY = 500  # numbers in one IN list
EVENTS_PER_FETCH = 20_000

Query = Select[*tuple[Any, ...]]
Moment = datetime | None  # a report's as_of; None: everything logged


def _ticket_columns() -> Query:
    return select(
        Ticket.id,
        Ticket.number,
        Ticket.created_at,
        Ticket.hotline,
        Ticket.source,
        Ticket.department_code,
        Ticket.category_code,
        Ticket.urgent,
        Ticket.merged_into,
        Ticket.status,
        Call.end_reason,
    ).outerjoin(Call, Ticket.call_id == Call.id)


def _event_columns() -> Query:
    return (
        select(
            CaseEventRow.ticket_id,
            CaseEventRow.type,
            CaseEventRow.at,
            CaseEventRow.to_state,
            CaseEventRow.department,
            CaseEventRow.new_deadline,
        )
        .join(Ticket, CaseEventRow.ticket_id == Ticket.id)
        .order_by(CaseEventRow.ticket_id, CaseEventRow.seq)
    )


def _facts(row: Any) -> TicketFacts:
    _id, number, accepted, line, source, department, category, urgent, merged, _s, reason = row
    if not source:  # saved before tickets recorded their source
        source = "voicemail" if reason == VOICEMAIL_REASON else line
    return TicketFacts(number, accepted, source, department or None, category or None,
                       bool(urgent), merged)  # fmt: skip


class _Builder:
    """Rows of the tickets read so far, at each of the moments asked for."""

    def __init__(self, policy: DeadlinePolicy, moments: Sequence[Moment]) -> None:
        self.policy = policy
        self.moments = moments
        self.tickets: dict[int, TicketFacts] = {}
        self.rows: dict[str, list[CaseRow]] = {}  # number → its row at each moment

    def build(self, ticket_id: int, log: list[LoggedEvent]) -> None:
        facts = self.tickets.get(ticket_id)
        if facts is not None and facts.merged_into is None:
            self.rows[facts.number] = [
                case_row(facts, log, self.policy, as_of=m) for m in self.moments
            ]

    async def read_events(self, connection: AsyncConnection, query: Query) -> None:
        """Each ticket's log, streamed in order, built as soon as it is complete."""
        result = await connection.stream(query.execution_options(yield_per=EVENTS_PER_FETCH))
        current: int | None = None
        log: list[LoggedEvent] = []
        async for chunk in result.partitions(EVENTS_PER_FETCH):
            for ticket_id, kind, at, state, department, new_deadline in chunk:
                if ticket_id != current:
                    if current is not None:
                        self.build(current, log)
                    current, log = ticket_id, []
                event = CaseEvent(EventType(kind), at, "", "", department, new_deadline)
                log.append(LoggedEvent(event, CaseState(state)))
        if current is not None:
            self.build(current, log)
        for ticket_id, facts in self.tickets.items():  # tickets without a log
            if facts.merged_into is None and facts.number not in self.rows:
                self.build(ticket_id, [])


async def _masters(
    connection: AsyncConnection, builder: _Builder, numbers: Iterable[str]
) -> dict[str, list[CaseRow]]:
    """The rows of cases merged into from outside the range (read in a few IN lists)."""
    wanted = sorted(numbers)
    outside = _Builder(builder.policy, builder.moments)
    for first in range(0, len(wanted), MASTERS_PER_QUERY):
        chunk = wanted[first : first + MASTERS_PER_QUERY]
        for row in await connection.execute(_ticket_columns().where(Ticket.number.in_(chunk))):
            if row.status != DRAFT:
                outside.tickets[row.id] = _facts(row)
        await outside.read_events(connection, _event_columns().where(Ticket.number.in_(chunk)))
    return outside.rows


async def read_case_rows(
    connection: AsyncConnection,
    zone: ZoneInfo,
    policy: DeadlinePolicy,
    start: datetime,
    end: datetime,
    moments: Sequence[Moment],
) -> tuple[list[list[CaseRow]], set[date]]:
    """Tickets accepted in [start, end) as case rows at each of `moments` (one list per
    moment), and the local days that still have drafts (a voicemail's ticket, accepted once an
    agent completes it)."""
    builder = _Builder(policy, moments)
    drafts: set[date] = set()
    in_range = (Ticket.created_at >= start, Ticket.created_at < end)
    for row in await connection.execute(_ticket_columns().where(*in_range)):
        if row.status == DRAFT:
            drafts.add(row.created_at.astimezone(zone).date())
        else:
            builder.tickets[row.id] = _facts(row)
    await builder.read_events(connection, _event_columns().where(*in_range))
    merged = [f for f in builder.tickets.values() if f.merged_into is not None]
    masters = dict(builder.rows)
    missing = {f.merged_into for f in merged if f.merged_into not in masters}
    if missing:
        masters.update(await _masters(connection, builder, missing))  # type: ignore[arg-type]
    for facts in merged:
        master = masters.get(facts.merged_into)  # type: ignore[arg-type]
        builder.rows[facts.number] = [
            case_row(facts, [], policy, master=None if master is None else master[n], as_of=m)
            for n, m in enumerate(moments)
        ]
    columns: list[list[CaseRow]] = [[] for _ in moments]
    for at_moments in builder.rows.values():
        for n, case in enumerate(at_moments):
            columns[n].append(case)
    return columns, drafts
