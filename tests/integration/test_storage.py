"""Tickets, numbering, the outbox sender and migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import migrations
from dispatch.sender import OutboxSender, backoff_seconds, sign_body
from hotline.accounts import Accounts
from hotline.db import create_engine, session_factory
from hotline.models import OutboxMessage, Ticket
from hotline.tickets import TicketDraft, TicketError, TicketService, parse_ticket_form
from tests.support.dispatch_core import DispatchCoreStub

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
DEPARTMENTS = {"MUNICIPAL", "SANITATION"}
HOTLINES = ("12319", "96198")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    factory = session_factory(engine)
    await Accounts(factory, "test", 1).add_agent(
        "1001", "A", "password-1", "sip-pass-1", "agent", NOW
    )
    yield factory
    await engine.dispose()


def draft(hotline: str = "12319", n: int = 0) -> TicketDraft:
    return TicketDraft(
        hotline, None, "李先生", "13900001111", f"解放路{n}号", "路灯不亮", "MUNICIPAL", None, False
    )


async def test_ticket_numbers_are_readable_and_per_hotline_and_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = TicketService(sessions, "Asia/Shanghai")
    first = await service.save(draft(), "1001", NOW)
    second = await service.save(draft(), "1001", NOW)
    other = await service.save(draft("96198"), "1001", NOW)
    next_day = await service.save(draft(), "1001", NOW + timedelta(hours=15))  # 00:30 next day
    assert [first.number, second.number, other.number, next_day.number] == [
        "12319-20261123-0001",
        "12319-20261123-0002",
        "96198-20261123-0001",
        "12319-20261124-0001",
    ]


async def test_concurrent_saves_never_share_a_number(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = TicketService(sessions, "Asia/Shanghai")
    tickets = await asyncio.gather(*(service.save(draft(n=n), "1001", NOW) for n in range(40)))
    numbers = [t.number for t in tickets]
    assert len(set(numbers)) == 40
    assert sorted(numbers) == [f"12319-20261123-{i:04d}" for i in range(1, 41)]


async def test_saving_writes_the_outbox_row_in_the_same_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = TicketService(sessions, "Asia/Shanghai")
    ticket = await service.save(draft(), "1001", NOW)
    async with sessions() as db:
        row = await db.scalar(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id))
    assert row is not None
    assert row.idempotency_key == ticket.number
    assert row.payload["number"] == ticket.number and row.delivered_at is None


async def test_a_failed_save_leaves_neither_ticket_nor_outbox(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = TicketService(sessions, "Asia/Shanghai")
    bad = TicketDraft("12319", "no-such-call", "", "139", "路", "x", "MUNICIPAL", None, False)
    with pytest.raises(TicketError):
        await service.save(bad, "1001", NOW)
    async with sessions() as db:
        assert (await db.scalars(select(Ticket))).all() == []
        assert (await db.scalars(select(OutboxMessage))).all() == []


@pytest.mark.parametrize(
    "form, field",
    [
        ({"phone": "abc"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"address": "   "}, "address"),
        ({"description": "x" * 4001}, "description"),
        ({"department_code": "POLICE"}, "department_code"),
        ({"hotline": "110"}, "hotline"),
        ({"urgent": "yes"}, "urgent"),
        ({"category_code": "drop table"}, "category_code"),
        ({"caller_name": 7}, "caller_name"),
    ],
)
def test_form_errors_name_the_field(form: dict[str, object], field: str) -> None:
    good = {
        "hotline": "12319",
        "phone": "13900001111",
        "address": "人民路1号",
        "description": "井盖没了",
        "department_code": "MUNICIPAL",
    }
    assert parse_ticket_form(good, DEPARTMENTS, HOTLINES).phone == "13900001111"
    with pytest.raises(TicketError) as error:
        parse_ticket_form({**good, **form}, DEPARTMENTS, HOTLINES)
    assert error.value.field == field


async def test_sender_retries_with_backoff_until_the_dispatch_core_accepts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    stub = DispatchCoreStub(failures_before_success=2)
    server = TestServer(stub.app(), host="127.0.0.1")
    await server.start_server()
    service = TicketService(sessions, "Asia/Shanghai")
    ticket = await service.save(draft(), "1001", NOW)
    clock = [NOW]
    sender = OutboxSender(
        sessions, str(server.make_url("/cases")), "k", 5.0, 60.0, lambda: clock[0]
    )
    waits = []
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                waits.append(await sender.deliver_due(http))
                assert await sender.deliver_due(http) > 0  # backing off: nothing due yet
                clock[0] += timedelta(seconds=61)
            assert await sender.pending_count() == 0
            await sender.deliver_due(http)  # delivered rows are never sent again
    finally:
        await server.close()
    assert [r.idempotency_key for r in stub.received] == [ticket.number] * 3
    assert all(r.signature == sign_body("k", r.body) for r in stub.received)
    assert stub.received[0].case["phone"] == "13900001111"
    async with sessions() as db:
        row = await db.scalar(select(OutboxMessage))
    assert row is not None and row.delivered_at is not None and row.attempts == 3


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    first = [backoff_seconds(1, 300, rng) for _ in range(100)]
    later = [backoff_seconds(6, 300, rng) for _ in range(100)]
    capped = [backoff_seconds(30, 300, rng) for _ in range(100)]
    assert max(first) <= 2 and min(later) >= 32 and max(capped) <= 300


def test_migrations_upgrade_and_downgrade(database_url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    async def tables() -> set[str]:
        engine = create_async_engine(database_url)
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names - {"alembic_version"}

    # What each revision adds, in the order alembic applies them.
    chain = [
        ("0001", {"agents", "agent_sessions", "calls", "call_events", "tickets"}),
        ("0001", {"ticket_counters", "outbox"}),
        ("0002", {"agent_events"}),
        ("0005", {"recordings"}),
        ("0004", {"roster_entries", "roster_overrides", "missed_calls"}),
        ("0006", {"classifier_feedback"}),
        ("0010", set()),  # agent_sessions.last_seen_at
        ("0011", {"audit_log"}),
        ("0012", set()),  # retention marks on tickets and outbox, index on call_events.at
        ("0060", {"call_tally_days", "call_tallies", "agent_call_tallies"}),
        ("0061", {"report_snapshots"}),
        ("0062", {"case_tally_days", "case_tallies", "category_case_tallies"}),
        ("0020", {"case_events"}),
        ("0024", {"phone_bindings"}),
        ("0025", set()),  # calls.survey, calls.survey_at, tickets.survey (好差评)
        ("0026", {"outbound_calls"}),
        ("0032", set()),  # call_tallies.surveyed, survey_pleased (通话满意率)
        ("0041", set()),  # calls.hold_seconds, hold_count
        ("0042", {"job_runs"}),  # and outbox.claimed_by
        ("0063", set()),  # index on calls.ended_at
    ]
    everything = set().union(*(added for _, added in chain))
    assert asyncio.run(tables()) == everything  # the fixture upgraded to head
    revisions = list(dict.fromkeys(revision for revision, _ in chain))
    for index in range(len(revisions) - 1, 0, -1):
        migrations.downgrade(database_url, revisions[index - 1])
        kept = {r for r in revisions[:index]}
        assert asyncio.run(tables()) == set().union(*(t for r, t in chain if r in kept))
    migrations.downgrade(database_url, "base")
    assert asyncio.run(tables()) == set()
    migrations.upgrade(database_url)
    assert asyncio.run(tables()) == everything


async def test_a_commit_waits_for_the_disk_whatever_the_server_default(database_url: str) -> None:
    """SQLite syncs the WAL on each commit; PostgreSQL keeps synchronous_commit on even where
    the database's default turns it off."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    if database_url.startswith("sqlite"):
        engine = create_engine(database_url)
        async with engine.connect() as connection:
            level = (await connection.execute(text("PRAGMA synchronous"))).scalar_one()
        await engine.dispose()
        assert level == 2  # FULL (NORMAL is 1)
        return
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        name = (await connection.execute(text("SELECT current_database()"))).scalar_one()
        await connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        plain = create_async_engine(database_url)
        async with plain.connect() as connection:
            default = (await connection.execute(text("SHOW synchronous_commit"))).scalar_one()
        await plain.dispose()
        engine = create_engine(database_url)
        async with engine.connect() as connection:
            ours = (await connection.execute(text("SHOW synchronous_commit"))).scalar_one()
        await engine.dispose()
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'ALTER DATABASE "{name}" RESET synchronous_commit'))
        await admin.dispose()
    assert (default, ours) == ("off", "on")
