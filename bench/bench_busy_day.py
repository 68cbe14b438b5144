"""What the figures cost late in a busy day: N calls already in today's call log.

The hotline runs in this process (SQLite, the whole app, no websockets). Today's call log is
filled with N finished calls (answered and abandoned, spread over the day before the last
hour) and the state changes of the 60 agents who answered them; then, ROUNDS times each: the
wallboard feed refreshes its figures the way it does every `figures_seconds` while calls
change (read the call log, push to leads), and Prometheus scrapes GET /metrics (the last 24
hours' figures) while a ticker measures how long the event loop could not run. Prints the
CPU time of each (median and max), the longest stall and the process's RSS after them; run
it once per checkout to compare (`--code DIR`: that checkout's code). Asserts nothing.

    python bench/bench_busy_day.py [--calls 30000] [--rounds 20] [--code DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK = 0.005


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


AGENTS = [str(1001 + n) for n in range(60)]


async def longest_stall() -> float:
    """Tick every 5 ms until cancelled; the longest a tick came late, in ms (what a call's
    media on the same event loop would have waited)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    try:
        while True:
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            worst = max(worst, (loop.time() - due) * 1000)
    except asyncio.CancelledError:
        return worst


async def fill(system: object, calls: int, now: datetime) -> None:
    """N finished calls, and each answering agent's state changes around its call (offered,
    talking, wrap-up, ready), as the switchboard logs them."""
    from hotline.models import AgentEvent, Call

    rng = random.Random(1)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    span = max(1.0, (now - timedelta(hours=1) - day_start).total_seconds())
    rows: list[object] = []
    for n in range(calls):
        arrived = day_start + timedelta(seconds=rng.uniform(0, span))
        answered = rng.random() < 0.85
        connected = arrived + timedelta(seconds=rng.uniform(2, 40)) if answered else None
        ended = (connected or arrived) + timedelta(seconds=rng.uniform(5, 300))
        agent = rng.choice(AGENTS) if connected is not None else None
        if agent is not None and connected is not None:
            rows += [
                AgentEvent(agent_id=agent, state=state, previous=previous, at=at)
                for state, previous, at in (
                    ("offered", "ready", connected - timedelta(seconds=2)),
                    ("talking", "offered", connected),
                    ("wrap_up", "talking", ended),
                    ("ready", "wrap_up", ended + timedelta(seconds=20)),
                )
            ]
        rows.append(
            Call(
                id=f"bench-{n}",
                sip_call_id=f"sip-{n}",
                dialled="12319",
                queue=rng.choice(["12319", "96198"]),
                caller="13800138000",
                state="ended",
                agent_id=agent,
                codec="PCMA",
                arrived_at=arrived,
                connected_at=connected,
                ended_at=ended,
                end_reason="agent-hangup" if answered else "caller-hangup",
                rtp_from_caller=0,
                rtp_to_caller=0,
            )
        )
    sessions = system.sessions  # type: ignore[attr-defined]
    for start in range(0, len(rows), 5000):
        async with sessions.begin() as db:
            db.add_all(rows[start : start + 5000])


async def main(calls: int, rounds: int, database: str) -> None:
    from aiohttp.test_utils import TestServer

    from agent_console.wallboard_api import wallboard_key
    from hotline.config import HotlineConfig
    from hotline.wiring import build_system

    config = HotlineConfig().replace(
        sip={"host": "127.0.0.1", "port": 0, "rtp_port_min": 34000, "rtp_port_max": 34999},
        database={"url": database},
        dispatch={"url": "http://127.0.0.1:9/cases", "secret": "bench"},
        nlp={"model_path": ""},
    )
    if hasattr(config.metrics, "scrape_reuse_seconds"):
        # Each scrape computes (what a node pays once per scrape_reuse_seconds at most).
        config = config.replace(metrics={"scrape_reuse_seconds": 0})
    system = build_system(config)
    now = datetime.now(UTC)
    if now.hour < 2:
        print("run it after 02:00 UTC: the bench puts the calls between midnight and an hour ago")
    import migrations

    await asyncio.to_thread(migrations.upgrade, database)
    for agent in AGENTS:
        await system.accounts.add_agent(
            agent, f"坐席{agent}", "bench-password", "sip-password", "agent", now
        )
    await fill(system, calls, now)
    site = TestServer(system.app, host="127.0.0.1")
    await site.start_server()  # the feed reads the day once as it starts
    try:
        feed = system.app[wallboard_key]
        spent = []
        for _ in range(rounds):
            started = time.process_time()
            await feed._read_figures()
            feed._publish(feed._clock())
            spent.append((time.process_time() - started) * 1000)
        print(
            f"calls today {calls:,}: one wallboard refresh {statistics.median(spent):.1f} ms CPU"
            f" (median of {rounds}; max {max(spent):.1f})",
            flush=True,
        )
        import aiohttp

        scrapes, stalls = [], []
        async with aiohttp.ClientSession() as http:
            for _ in range(rounds):
                ticker = asyncio.create_task(longest_stall())
                started = time.process_time()
                async with http.get(site.make_url("/metrics")) as response:
                    assert response.status == 200, response.status
                    await response.read()
                scrapes.append((time.process_time() - started) * 1000)
                ticker.cancel()
                stalls.append(await ticker)
        print(
            f"calls today {calls:,}: one /metrics scrape {statistics.median(scrapes):.1f} ms CPU"
            f" (median of {rounds}; max {max(scrapes):.1f}), event loop stalled up to"
            f" {max(stalls):.1f} ms, RSS {rss_mib():.1f} MiB",
            flush=True,
        )
    finally:
        await site.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--code", type=Path, help="the hotline's code from this checkout")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve() if args.code else ROOT))
    with tempfile.TemporaryDirectory() as work:
        asyncio.run(main(args.calls, args.rounds, f"sqlite+aiosqlite:///{work}/bench.db"))
