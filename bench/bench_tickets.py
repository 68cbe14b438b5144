"""Ticket saves on SQLite (and PostgreSQL with --postgres URL): latency and throughput.

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import migrations
from hotline.accounts import Accounts
from hotline.db import create_engine, session_factory
from hotline.tickets import TicketDraft, TicketService


async def run(url: str, count: int, concurrency: int) -> None:
    engine = create_engine(url)
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
    print(
        f"{url.split(':')[0]}: {count} tickets, {concurrency} at once, unique={len(set(numbers))}"
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
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        migrations.upgrade(url)
        asyncio.run(run(url, args.count, args.concurrency))
    if args.postgres:
        migrations.downgrade(args.postgres, "base")
        migrations.upgrade(args.postgres)
        asyncio.run(run(args.postgres, args.count, args.concurrency))


if __name__ == "__main__":
    main()
