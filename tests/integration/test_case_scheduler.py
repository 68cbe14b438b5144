"""催办/督办 and 回访 offers from the scheduler on SQLite and PostgreSQL: each raised once per
deadline, also after a restart and with two schedulers at once; and the 0020 backfill."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import migrations
from cases import CaseEvent, DeadlinePolicy, EventType, WorkingCalendar
from hotline.accounts import Accounts
from hotline.case_log import CaseLog
from hotline.case_scheduler import CaseScheduler
from hotline.db import create_engine, session_factory
from hotline.models import CaseEventRow, OutboxMessage
from hotline.tickets import TicketDraft, TicketService

# Wednesday 10 June 2026, 10:00 in Beijing: no holiday near.
START = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
POLICY = DeadlinePolicy(WorkingCalendar("Asia/Shanghai"))


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Offers:
    made: list[tuple[str, str, str, int]] = field(default_factory=list)

    def __call__(self, item: str, queue: str, ticket: str, priority: int) -> bool:
        self.made.append((item, queue, ticket, priority))
        return True


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    factory = session_factory(engine)
    await Accounts(factory, "test", 1).add_agent(
        "1001", "A", "password-1", "sip-pass-1", "agent", START
    )
    yield factory
    await engine.dispose()


def urgent_draft() -> TicketDraft:
    return TicketDraft(
        "12319",
        None,
        "李先生",
        "13900001111",
        "解放路1号",
        "燃气味很重",
        "MUNICIPAL",
        "01001",
        True,
    )


def scheduler(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, offers: Offers
) -> tuple[CaseLog, CaseScheduler]:
    log = CaseLog(sessions, POLICY, clock)
    return log, CaseScheduler(sessions, log, clock, 30.0, {"12319": "12319"}, offers, -1)


async def kinds(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> list[str]:
    async with sessions() as db:
        rows = await db.scalars(
            select(CaseEventRow.type)
            .where(CaseEventRow.ticket_id == ticket_id)
            .order_by(CaseEventRow.seq)
        )
        return list(rows.all())


async def test_reminders_are_raised_once_even_after_a_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock, offers = Clock(), Offers()
    log, first = scheduler(sessions, clock, offers)
    ticket = await TicketService(sessions, "Asia/Shanghai", cases=log).save(
        urgent_draft(), "1001", START
    )
    await log.record(ticket.number, CaseEvent(EventType.DISPATCHED, START, "core"))
    # Urgent: 2 hours; 催办 when 3/4 have gone (11:30), 督办 at 12:00.
    clock.now = START + timedelta(minutes=89)
    assert await first.run_once() == START + timedelta(minutes=90)
    clock.now = START + timedelta(minutes=95)
    await first.run_once()
    await first.run_once()
    assert await kinds(sessions, ticket.id) == ["accepted", "dispatched", "urged"]
    # A restart: a new scheduler, and two of them at once past the deadline.
    clock.now = START + timedelta(hours=2, minutes=1)
    _, second = scheduler(sessions, clock, offers)
    _, third = scheduler(sessions, clock, offers)
    await asyncio.gather(second.run_once(), third.run_once(), first.run_once())
    assert await kinds(sessions, ticket.id) == ["accepted", "dispatched", "urged", "supervised"]
    async with sessions() as db:
        commands = (
            await db.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "command")
                .order_by(OutboxMessage.id)
            )
        ).all()
    assert [c.payload["command"] for c in commands] == ["urge", "supervise"]
    assert all(c.payload["ticket"] == ticket.number for c in commands)
    assert offers.made == []


async def test_a_closed_case_is_offered_for_its_visit_and_retried_later(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock, offers = Clock(), Offers()
    log, run = scheduler(sessions, clock, offers)
    ticket = await TicketService(sessions, "Asia/Shanghai", cases=log).save(
        urgent_draft(), "1001", START
    )
    for kind in (EventType.DISPATCHED, EventType.HANDLED, EventType.CORE_CLOSED):
        await log.record(ticket.number, CaseEvent(kind, START, "core"))
    await run.run_once()
    assert offers.made == [(f"visit:{ticket.number}:0", "12319", ticket.number, -1)]
    await log.record(ticket.number, CaseEvent(EventType.VISIT_UNREACHED, START, "1001"))
    offers.made.clear()
    clock.now = START + timedelta(minutes=60)
    retry_at = await run.run_once()
    assert offers.made == [] and retry_at == START + timedelta(minutes=120)
    clock.now = START + timedelta(minutes=121)
    await run.run_once()
    assert offers.made == [(f"visit:{ticket.number}:1", "12319", ticket.number, -1)]


def test_the_migration_gives_existing_tickets_their_opening_events(database_url: str) -> None:
    migrations.downgrade(database_url, "0062")

    async def seed() -> None:
        engine = create_async_engine(database_url)
        async with engine.begin() as db:
            await db.execute(
                text(
                    "INSERT INTO agents (id, name, role, password_hash, sip_ha1, sip_realm, active,"
                    " created_at) VALUES ('1001', 'A', 'agent', 'x', 'x', 'r', true, :at)"
                ),
                {"at": START},
            )
            for n, status in ((1, "accepted"), (2, "accepted"), (3, "merged")):
                await db.execute(
                    text(
                        "INSERT INTO tickets (number, hotline, caller_name, phone, address,"
                        " description, department_code, urgent, status, created_by, created_at)"
                        " VALUES (:number, '12319', '', '139', 'a', 'd', 'MUNICIPAL', false,"
                        " :status, '1001', :at)"
                    ),
                    {"number": f"12319-20260610-000{n}", "status": status, "at": START},
                )
            await db.execute(
                text(
                    "INSERT INTO outbox (ticket_id, idempotency_key, payload, attempts,"
                    " next_attempt_at, delivered_at, created_at) SELECT id, number, '{}', 1,"
                    " :at, :at, :at FROM tickets WHERE number LIKE '%0001'"
                ),
                {"at": START},
            )
        await engine.dispose()

    async def check() -> list[tuple[str, int, str, str]]:
        engine = create_async_engine(database_url)
        async with engine.connect() as db:
            rows = await db.execute(
                text(
                    "SELECT t.number, e.seq, e.type, t.status FROM case_events e"
                    " JOIN tickets t ON t.id = e.ticket_id ORDER BY t.number, e.seq"
                )
            )
            found = [(r[0][-4:], r[1], r[2], r[3]) for r in rows]
        await engine.dispose()
        return found

    asyncio.run(seed())
    migrations.upgrade(database_url)
    assert asyncio.run(check()) == [
        ("0001", 1, "accepted", "forwarded"),
        ("0001", 2, "forwarded", "forwarded"),
        ("0002", 1, "accepted", "accepted"),
        ("0003", 1, "merged", "merged"),
    ]
