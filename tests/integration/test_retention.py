"""Retention erases citizens' personal data past its time, in batches, once, on both databases;
the server runs it daily and `hotline retention run` on demand."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import create_engine, session_factory
from hotline.models import (
    Agent,
    Call,
    CallEvent,
    MissedCall,
    OutboxMessage,
    Recording,
    Ticket,
)
from hotline.recordings import RecordingArchive
from hotline.retention import Retention, RetentionPolicy
from hotline.schedule import DailyJob, next_daily
from tests.integration.test_cli import hotline as run_cli

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
POLICY = RetentionPolicy(
    ticket_personal_days=1095,
    calls_days=730,
    call_events_days=365,
    outbox_payload_days=30,
    recording_days=180,
)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


def _call(call_id: str, days_ago: float) -> Call:
    at = NOW - timedelta(days=days_ago)
    return Call(
        id=call_id,
        sip_call_id=call_id,
        dialled="12319",
        queue="12319",
        caller="13912345678",
        state="ended",
        codec="PCMA",
        arrived_at=at,
        ended_at=at,
        end_reason="caller-hangup",
        rtp_from_caller=0,
        rtp_to_caller=0,
    )


def _ticket(number: str, days_ago: float, call_id: str | None = None) -> Ticket:
    return Ticket(
        number=number,
        hotline="12319",
        call_id=call_id,
        caller_name="王女士",
        phone="13912345678",
        address="锦江区红星路二段18号3栋401",
        description="门口垃圾没人清，回电13912345678",
        department_code="SANITATION",
        category_code=None,
        urgent=False,
        status="accepted",
        created_by="1001",
        created_at=NOW - timedelta(days=days_ago),
    )


async def _seed(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    async with sessions.begin() as db:
        db.add(
            Agent(
                id="1001",
                name="A",
                role="agent",
                password_hash="x",
                sip_ha1="x",
                sip_realm="x",
                active=True,
                created_at=NOW,
            )
        )
        db.add_all([_call("old", 800), _call("old-recorded", 800), _call("recent", 400)])
        await db.flush()
        wav = tmp_path / "kept.wav"
        wav.write_bytes(b"RIFF")
        # A recording of an old call still within its own retention keeps the call.
        db.add(
            Recording(
                call_id="old-recorded",
                path=str(wav),
                duration_seconds=1.0,
                recorded_at=NOW - timedelta(days=10),
            )
        )
        for call_id, days in [("old", 800), ("recent", 400), ("recent", 10)]:
            db.add(CallEvent(call_id=call_id, kind="arrived", at=NOW - timedelta(days=days)))
        db.add(
            MissedCall(
                call_id="old",
                kind="abandoned",
                number="13912345678",
                queue="12319",
                missed_at=NOW - timedelta(days=800),
                status="done",
                updated_at=NOW - timedelta(days=800),
            )
        )
        db.add_all(
            [
                _ticket("12319-20221201-0001", 1200, "old"),
                _ticket("12319-20261201-0001", 3),
                _ticket("12319-20261101-0001", 33),
            ]
        )
        await db.flush()
        tickets = {t.number: t for t in (await db.scalars(select(Ticket))).all()}
        for number, delivered_days_ago in [
            ("12319-20261101-0001", 31),
            ("12319-20261201-0001", 2),
        ]:
            db.add(
                OutboxMessage(
                    ticket_id=tickets[number].id,
                    idempotency_key=number,
                    payload={"number": number, "phone": "13912345678"},
                    attempts=1,
                    next_attempt_at=NOW,
                    delivered_at=NOW - timedelta(days=delivered_days_ago),
                    created_at=NOW - timedelta(days=delivered_days_ago),
                )
            )


async def test_retention_erases_what_is_past_its_time_once(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _seed(sessions, tmp_path)
    archive = RecordingArchive(sessions, POLICY.recording_days, lambda: NOW)
    retention = Retention(sessions, POLICY, archive, batch=1)  # one row per transaction
    due = await retention.due(NOW)
    assert due == {
        "tickets": 1,
        "calls": 1,
        "call_events": 2,
        "outbox_payloads": 1,
        "recordings": 0,
    }
    seen: list[tuple[str, int, int]] = []
    done = await retention.run(NOW, lambda kind, n, total: seen.append((kind, n, total)))
    assert done == due
    assert ("call_events", 2, 2) in seen
    async with sessions() as db:
        old = await db.scalar(select(Ticket).where(Ticket.number == "12319-20221201-0001"))
        recent = await db.scalar(select(Ticket).where(Ticket.number == "12319-20261201-0001"))
        calls = set((await db.scalars(select(Call.id))).all())
        events = (await db.scalars(select(CallEvent))).all()
        missed = await db.scalar(select(func.count()).select_from(MissedCall))
        payloads = {
            o.idempotency_key: o.payload for o in (await db.scalars(select(OutboxMessage))).all()
        }
    assert old is not None and recent is not None
    assert (old.caller_name, old.phone) == ("", "139****5678")
    assert old.address == "锦江区红星路二段**号*栋***" and "13912345678" not in old.description
    assert old.call_id is None and old.personal_erased_at is not None
    assert old.department_code == "SANITATION"  # the case itself stays
    assert recent.phone == "13912345678" and recent.personal_erased_at is None
    assert calls == {"old-recorded", "recent"}
    assert [(e.call_id, e.at) for e in events] == [("recent", NOW - timedelta(days=10))]
    assert missed == 0
    assert payloads["12319-20261101-0001"] == {"number": "12319-20261101-0001", "erased": True}
    assert payloads["12319-20261201-0001"]["phone"] == "13912345678"
    # A second run finds nothing left to do.
    assert await retention.run(NOW) == dict.fromkeys(done, 0)


def test_policy_checks_and_cutoffs() -> None:
    from hotline.config import ConfigError, HotlineConfig

    config = HotlineConfig().replace(retention={"calls_days": 30})
    with pytest.raises(ConfigError, match="recording_retention_days"):
        RetentionPolicy.of(config)
    forever = RetentionPolicy.of(HotlineConfig().replace(retention={"ticket_personal_days": 0}))
    assert forever.cutoffs(NOW)["tickets"] is None
    assert forever.cutoffs(NOW)["calls"] == NOW - timedelta(days=730)


def test_the_next_daily_run_is_at_the_local_time() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    # 02:00 UTC is 10:00 in Shanghai: 03:30 has passed today, so tomorrow.
    assert next_daily(NOW, time(3, 30), shanghai) == datetime(2026, 12, 4, 19, 30, tzinfo=UTC)
    assert next_daily(NOW, time(11, 0), shanghai) == datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


async def test_the_server_runs_a_daily_job_at_its_time_and_survives_a_failure() -> None:
    clock = [NOW]
    waits: list[float] = []
    runs: list[datetime] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += timedelta(seconds=seconds)
        if len(waits) == 3:
            raise _Stop

    async def job(now: datetime) -> None:
        runs.append(now)
        if len(runs) == 1:
            raise RuntimeError("the database is away")

    daily = DailyJob(
        "retention", job, time(3, 30), ZoneInfo("Asia/Shanghai"), lambda: clock[0], sleep
    )
    with pytest.raises(_Stop):
        await daily.run_forever()
    assert waits == [17.5 * 3600, 24 * 3600, 24 * 3600]
    assert runs == [
        datetime(2026, 12, 4, 19, 30, tzinfo=UTC),
        datetime(2026, 12, 5, 19, 30, tzinfo=UTC),
    ]


class _Stop(Exception):
    pass


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_counts_then_runs(database_url: str, tmp_path: Path) -> None:
    import asyncio

    async def seed() -> None:
        engine = create_engine(database_url)
        await _seed(session_factory(engine), tmp_path)
        await engine.dispose()

    asyncio.run(seed())
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url}
    dry = run_cli("retention", "run", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    rows = {line.split()[0]: line.split()[1:3] for line in dry.stdout.splitlines()}
    # The seed's "now" is in the past of the real clock: everything old is due by now.
    assert rows["tickets"][1] == "due" and int(rows["tickets"][0]) >= 1
    done = run_cli("retention", "run", env=env)
    assert done.returncode == 0, done.stderr
    assert "tickets" in done.stderr and "row" in done.stderr  # the progress bars
    after = run_cli("retention", "run", "--dry-run", env=env)
    assert {line.split()[0]: line.split()[1] for line in after.stdout.splitlines()}[
        "tickets"
    ] == "0"
    audit = run_cli("audit", "--action", "retention.run", "--json", env=env)
    assert audit.returncode == 0 and '"retention.run"' in audit.stdout
