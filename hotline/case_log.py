"""The case event log in the database: append an event (once), derive the case from its log.

Each append is one transaction: the event row, the ticket's projected state and deadline, and
any command for the dispatch core (or 12345) in the outbox. A crash before the commit leaves
nothing; the sender of the event retries and its event id makes the retry apply once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases import Case, CaseError, CaseEvent, CaseState, DeadlinePolicy, EventType, apply, replay
from cases.deadlines import TimeLimit
from cases.machine import open_case
from hotline.models import CaseEventRow, OutboxMessage, Ticket

log = logging.getLogger(__name__)

APPEND_RETRIES = 5
# What the centre tells the dispatch core (or 12345) when it records these events.
COMMANDS: dict[EventType, tuple[str, str]] = {
    EventType.REASSIGNED: ("reassign", "core"),  # 改派
    EventType.REJECTED: ("reject", "core"),  # 不予受理
    EventType.URGED: ("urge", "core"),  # 催办
    EventType.SUPERVISED: ("supervise", "core"),  # 督办
    EventType.VISIT_UNSATISFIED: ("reopen", "core"),  # 重办
    EventType.SENT_BACK: ("send_back", "12345"),  # 退回 12345
}


class UnknownCase(LookupError):
    """No ticket has that number (or it is a draft, not yet a case)."""


@dataclass(frozen=True)
class CaseRecord:
    ticket: Ticket
    case: Case
    events: list[CaseEventRow]


@dataclass(frozen=True)
class Appended:
    record: CaseRecord
    event: CaseEvent
    duplicate: bool  # the event id (or dedupe key) was already in the log: nothing changed


def to_event(row: CaseEventRow) -> CaseEvent:
    return CaseEvent(
        EventType(row.type),
        row.at,
        row.by,
        row.reason,
        row.department,
        row.new_deadline,
    )


def command_payload(ticket: Ticket, case: Case, event: CaseEvent, command: str) -> dict[str, Any]:
    """What the core (or 12345) receives for a command about a case it already has."""
    deadline = case.current_deadline
    payload: dict[str, Any] = {
        "command": command,
        "ticket": ticket.number,
        "at": event.at.isoformat(),
        "reason": event.reason,
        "department": event.department,
        "deadline": None if deadline is None else deadline.isoformat(),
    }
    if ticket.external_number is not None:
        payload["external_number"] = ticket.external_number
    return payload


class CaseLog:
    """Appends case events and derives cases; `on_change` hears each applied event."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: DeadlinePolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self.policy = policy
        self._clock = clock
        self._listeners: list[Callable[[Appended], None]] = []

    def subscribe(self, listener: Callable[[Appended], None]) -> None:
        self._listeners.append(listener)

    def limit_for(self, ticket: Ticket) -> TimeLimit:
        return self.policy.limit_for(ticket.category_code, ticket.urgent)

    def open(self, db: AsyncSession, ticket: Ticket, by: str, now: datetime) -> Case:
        """Write a new ticket's opening event (受理 or 并单) in the caller's transaction."""
        kind = EventType.MERGED if ticket.merged_into else EventType.ACCEPTED
        event = CaseEvent(kind, now, by, department=ticket.department_code)
        case = open_case(event, self.limit_for(ticket), self.policy)
        db.add(self._row(ticket, 1, event, None, case, now))
        ticket.status = case.state.value
        ticket.deadline = case.current_deadline
        return case

    async def get(self, number: str) -> CaseRecord | None:
        async with self._sessions() as db:
            return await self._load(db, number)

    async def _load(self, db: AsyncSession, number: str) -> CaseRecord | None:
        ticket = await db.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            return None
        rows = list(
            (
                await db.scalars(
                    select(CaseEventRow)
                    .where(CaseEventRow.ticket_id == ticket.id)
                    .order_by(CaseEventRow.seq)
                )
            ).all()
        )
        if not rows:
            return None
        case = replay((to_event(r) for r in rows), self.limit_for(ticket), self.policy)
        return CaseRecord(ticket, case, rows)

    async def record(
        self,
        number: str,
        event: CaseEvent,
        *,
        source_event_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> Appended:
        """Apply `event` to the case and append it; CaseError if the case cannot take it,
        UnknownCase if there is no such case. An event id seen before changes nothing."""
        for attempt in range(APPEND_RETRIES):
            try:
                appended = await self._append(number, event, source_event_id, dedupe_key)
            except IntegrityError:
                # Another append won the race for this seq, or the same event id arrived
                # twice at once: look again.
                if attempt == APPEND_RETRIES - 1:
                    raise
                continue
            if not appended.duplicate:
                log.info(
                    "case event",
                    extra={
                        "ticket": number,
                        "event": event.type.value,
                        "state": appended.record.case.state.value,
                    },
                )
                for listener in self._listeners:
                    try:
                        listener(appended)
                    except Exception:  # a listener must not undo what is committed
                        log.exception("case listener failed", extra={"ticket": number})
            return appended
        raise AssertionError("unreachable")

    async def _already(
        self, db: AsyncSession, source_event_id: str | None, key: str | None
    ) -> bool:
        if source_event_id is not None and await db.scalar(
            select(CaseEventRow.id).where(CaseEventRow.source_event_id == source_event_id)
        ):
            return True
        return key is not None and bool(
            await db.scalar(select(CaseEventRow.id).where(CaseEventRow.dedupe_key == key))
        )

    async def _append(
        self, number: str, event: CaseEvent, source_event_id: str | None, key: str | None
    ) -> Appended:
        now = self._clock()
        async with self._sessions.begin() as db:
            record = await self._load(db, number)
            if record is None:
                raise UnknownCase(number)
            if await self._already(db, source_event_id, key):
                return Appended(record, event, duplicate=True)
            case = apply(record.case, event, self.policy)
            row = self._row(record.ticket, len(record.events) + 1, event, record.case, case, now)
            row.source_event_id, row.dedupe_key = source_event_id, key
            db.add(row)
            ticket = record.ticket
            ticket.status = case.state.value
            ticket.deadline = case.current_deadline
            commands = [COMMANDS[event.type]] if event.type in COMMANDS else []
            if event.type is EventType.SENT_BACK and record.case.state is CaseState.FORWARDED:
                # The core has it but has not dispatched it yet: it withdraws its copy.
                commands.append(("withdraw", "core"))
            for name, target in commands:
                db.add(
                    OutboxMessage(
                        ticket_id=ticket.id,
                        idempotency_key=f"{ticket.number}/{row.seq}/{name}",
                        payload=command_payload(ticket, case, event, name),
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                        kind="command",
                        target=target,
                    )
                )
            await db.flush()
            return Appended(CaseRecord(ticket, case, [*record.events, row]), event, False)

    def _row(
        self,
        ticket: Ticket,
        seq: int,
        event: CaseEvent,
        before: Case | None,
        after: Case,
        now: datetime,
    ) -> CaseEventRow:
        return CaseEventRow(
            ticket_id=ticket.id,
            seq=seq,
            type=event.type.value,
            at=event.at,
            by=event.by[:40],
            from_state=None if before is None else before.state.value,
            to_state=after.state.value,
            reason=event.reason,
            department=event.department,
            new_deadline=event.new_deadline,
            recorded_at=now,
        )

    async def forwarded(self, number: str) -> None:
        """The dispatch core acknowledged the case: 转派, unless it has moved on already."""
        record = await self.get(number)
        if record is None or record.case.state.value != "accepted":
            return
        try:
            await self.record(
                number,
                CaseEvent(EventType.FORWARDED, self._clock(), "system"),
                dedupe_key=f"{number}/forwarded",
            )
        except CaseError:
            pass  # a core event got there first; the case is past 转派
