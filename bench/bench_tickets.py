"""Ticket saves on SQLite (and PostgreSQL with --postgres URL): latency and throughput.

Each backend runs twice: as the hotline runs it (durable: SQLite synchronous=FULL, PostgreSQL
synchronous_commit=on) and with the commit not waiting for the disk (SQLite NORMAL, PostgreSQL
off), so the price of durability is printed beside it. Prints figures; asserts nothing about
time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from hotline.accounts import Accounts
from hotline.db import create_engine, session_factory
from hotline.tickets import TicketDraft, TicketService


def relax(engine: AsyncEngine) -> None:
    """Let commits return before the disk has the data (what the hotline does not do)."""
    sqlite = engine.dialect.name == "sqlite"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if sqlite:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
        else:
            dbapi_connection.run_async(
                lambda connection: connection.execute("SET synchronous_commit = off")
            )


async def run(url: str, count: int, concurrency: int, durable: bool) -> None:
    engine = create_engine(url)
    if not durable:
        relax(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    accounts = Accounts(sessions, "bench", 1)
    if not any(a.id == "1001" for a in await accounts.list_agents()):
        await accounts.add_agent("1001", "bench", "password-1", "sip-pass-1", "agent", now)
    service = TicketService(sessions, "Asia/Shanghai")
    draft = TicketDraft(
        "12319", None, "李先生", "13900001111", "解放路1号", "路灯不亮", "MUNICIPAL", None, False
    )
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> str:
        async with gate:
            started = time.perf_counter()
            ticket = await service.save(draft, "1001", datetime.now(UTC))
            latencies.append(time.perf_counter() - started)
            return ticket.number

    started = time.perf_counter()
    numbers = await asyncio.gather(*(one() for _ in range(count)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    latencies.sort()
    mode = "durable (as run)" if durable else "commit not synced"
    print(
        f"{url.split(':')[0]} {mode}: {count} tickets, {concurrency} at once, "
        f"unique={len(set(numbers))}"
    )
    print(f"  throughput {count / elapsed:.0f} saves/s")
    print(
        f"  latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose schema may be reset")
    args = parser.parse_args()
    for durable in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            migrations.upgrade(url)
            asyncio.run(run(url, args.count, args.concurrency, durable))
    if args.postgres:
        for durable in (True, False):
            migrations.downgrade(args.postgres, "base")
            migrations.upgrade(args.postgres)
            asyncio.run(run(args.postgres, args.count, args.concurrency, durable))


if __name__ == "__main__":
    main()
