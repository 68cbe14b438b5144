"""Backups restore into an empty database with every ticket: SQLite (full, and incremental as
the pages changed since the full) and PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import migrations
from hotline.accounts import Accounts
from hotline.backup import (
    FULL,
    INCREMENTAL,
    BackupError,
    BackupFile,
    backups_in,
    kind_due,
    prune,
    restore,
    take_backup,
)
from hotline.db import create_engine, session_factory
from hotline.models import Ticket
from hotline.tickets import TicketDraft, TicketService
from tests.conftest import reset_postgres
from tests.integration.test_cli import hotline as run_cli

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def save_tickets(url: str, count: int, start: int = 0) -> list[str]:
    """Save tickets through the service, as the console does; their numbers."""

    async def run() -> list[str]:
        engine = create_engine(url)
        sessions = session_factory(engine)
        accounts = Accounts(sessions, "test", 1)
        if not await accounts.list_agents():
            await accounts.add_agent("1001", "A", "password-1", "sip-pass-1", "agent", NOW)
        service = TicketService(sessions, "Asia/Shanghai")
        numbers = []
        for n in range(start, start + count):
            draft = TicketDraft(
                "12319",
                None,
                f"市民{n}",
                f"1390000{n:04d}",
                f"解放路{n}号",
                f"第{n}件：路灯不亮" + "，夜里很黑" * 20,
                "MUNICIPAL",
                None,
                False,
            )
            ticket = await service.save(draft, "1001", NOW + timedelta(seconds=n))
            numbers.append(ticket.number)
        await engine.dispose()
        return numbers

    return asyncio.run(run())


def tickets_in(url: str) -> dict[str, str]:
    async def run() -> dict[str, str]:
        engine = create_engine(url)
        async with session_factory(engine)() as db:
            rows = (await db.scalars(select(Ticket))).all()
        await engine.dispose()
        return {t.number: t.phone for t in rows}

    return asyncio.run(run())


def test_sqlite_full_and_incremental_backups_restore_every_ticket(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    migrations.upgrade(source)
    first = save_tickets(source, 300)
    folder = tmp_path / "backups"
    full = take_backup(source, folder, FULL, NOW)
    later = save_tickets(source, 200, start=300)
    pages: list[tuple[int, int]] = []
    incremental = take_backup(
        source, folder, INCREMENTAL, NOW + timedelta(days=1), lambda d, t: pages.append((d, t))
    )
    assert (full.kind, incremental.kind) == (FULL, INCREMENTAL)
    assert [b.path for b in backups_in(folder, "sqlite")] == [full.path, incremental.path]
    assert pages and pages[-1][0] == pages[-1][1]
    # Only the pages changed since the full backup are in the incremental one.
    with gzip.open(incremental.path, "rb") as diff:
        header = json.loads(diff.readline())
        changed = (len(diff.read())) // (4 + header["page_size"])
    assert header["base"] == full.path.name and 0 < changed < header["pages"]

    from_incremental = f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'a.db'}"
    restore(incremental.path, from_incremental)
    assert tickets_in(from_incremental) == tickets_in(source)
    assert set(tickets_in(from_incremental)) == set(first + later)
    from_full = f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'b.db'}"
    restore(full.path, from_full)
    assert set(tickets_in(from_full)) == set(first)
    # A restored database is a working one: the next ticket gets the next number.
    assert save_tickets(from_incremental, 1, start=500)[0] not in first + later

    with pytest.raises(BackupError, match="exists"):
        restore(full.path, from_full)
    restore(incremental.path, from_full, force=True)
    assert set(tickets_in(from_full)) == set(first + later)


def test_an_incremental_backup_is_refused_without_its_own_full(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    migrations.upgrade(source)
    save_tickets(source, 5)
    folder = tmp_path / "backups"
    take_backup(source, folder, FULL, NOW)
    save_tickets(source, 5, start=5)
    incremental = take_backup(source, folder, INCREMENTAL, NOW + timedelta(days=1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    alone = Path(shutil.copy(incremental.path, elsewhere))
    with pytest.raises(BackupError, match="needs its full backup"):
        restore(alone, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    # Another full backup under the same name is not the one the incremental was made on.
    other = tmp_path / "other.db"
    shutil.copy(tmp_path / "live.db", other)
    take_backup(f"sqlite+aiosqlite:///{other}", elsewhere, FULL, NOW)
    save_tickets(source, 1, start=10)
    with pytest.raises(BackupError, match="not the full backup"):
        restore(alone, f"sqlite+aiosqlite:///{tmp_path / 'y.db'}")


@pytest.mark.postgres
def test_postgres_backup_restores_into_an_empty_database(tmp_path: Path) -> None:
    from tests.conftest import PG_URL, postgres_available

    problem = postgres_available(PG_URL)
    if problem is not None:
        if os.environ.get("HOTLINE_TEST_POSTGRES_REQUIRED") or os.environ.get("CI"):
            pytest.fail(f"PostgreSQL test database unreachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem}); set HOTLINE_TEST_POSTGRES_URL")
    reset_postgres(PG_URL)
    migrations.upgrade(PG_URL)
    numbers = save_tickets(PG_URL, 120)
    folder = tmp_path / "backups"
    full = take_backup(PG_URL, folder, FULL, NOW)
    daily = take_backup(PG_URL, folder, INCREMENTAL, NOW + timedelta(days=1))
    assert full.path.name.endswith(".pgdump") and daily.kind == INCREMENTAL
    before = tickets_in(PG_URL)
    with pytest.raises(BackupError, match="has tables"):
        restore(daily.path, PG_URL)
    reset_postgres(PG_URL)  # an empty database
    restore(daily.path, PG_URL)
    assert tickets_in(PG_URL) == before and set(before) == set(numbers)
    assert save_tickets(PG_URL, 1, start=120)[0] not in numbers


def test_the_month_has_one_full_backup_and_pruning_keeps_what_restores() -> None:
    first = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
    assert kind_due(NOW, SHANGHAI, 1, []) == FULL
    assert kind_due(NOW, SHANGHAI, 1, [first.astimezone(UTC)]) == INCREMENTAL
    november = datetime(2026, 11, 1, 3, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert kind_due(NOW, SHANGHAI, 1, [november]) == FULL  # the server was down on the 1st
    # Before the 15th (the full day), November's full on the 15th still counts.
    mid_november = datetime(2026, 11, 15, 3, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert kind_due(NOW, SHANGHAI, 15, [mid_november]) == INCREMENTAL


def test_prune_keeps_the_newest_fulls_and_their_incrementals(tmp_path: Path) -> None:
    names = [
        "hotline-full-20260901T000000Z.db.gz",
        "hotline-incremental-20260902T000000Z.pages.gz",
        "hotline-full-20261001T000000Z.db.gz",
        "hotline-incremental-20261002T000000Z.pages.gz",
        "hotline-full-20261101T000000Z.db.gz",
        "hotline-incremental-20261102T000000Z.pages.gz",
        "notes.txt",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    gone = prune(tmp_path, "sqlite", keep_full=2)
    assert sorted(p.name for p in gone) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
    assert BackupFile.parse(tmp_path / "notes.txt") is None


def test_the_cli_backs_up_and_restores(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    migrations.upgrade(source)
    numbers = save_tickets(source, 20)
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": source,
        "HOTLINE_BACKUP_DIR": str(tmp_path / "backups"),
    }
    made = run_cli("backup", env=env)
    assert made.returncode == 0, made.stderr
    assert "full backup written" in made.stdout
    save_tickets(source, 5, start=20)
    daily = run_cli("backup", "--incremental", env=env)
    assert daily.returncode == 0 and "incremental backup written" in daily.stdout
    file = daily.stdout.split("written: ")[1].split(" (")[0]
    target = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    restored = run_cli("restore", file, "--to", target, env=env)
    assert restored.returncode == 0, restored.stderr
    assert len(tickets_in(target)) == 25 and set(numbers) <= set(tickets_in(target))
    again = run_cli("restore", file, "--to", target, env=env)
    assert again.returncode == 1 and "exists" in again.stderr
    audit = run_cli("audit", "--json", env=env)
    actions = [json.loads(line)["action"] for line in audit.stdout.splitlines()]
    assert actions.count("backup.run") == 2
