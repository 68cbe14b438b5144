"""A year of a large centre (about 3 million calls and 500,000 cases) and the time its reports
take, on PostgreSQL and on SQLite. Prints figures; asserts nothing about time.

    python bench/bench_reports.py                       # both backends, full size
    python bench/bench_reports.py --calls 300000 --cases 50000 --skip-postgres

PostgreSQL: a database of its own (--postgres URL, default .../bench_reports), created if
missing and emptied first; SQLite: a temporary file. Never run by `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import migrations
from hotline.config import HotlineConfig
from hotline.db import create_engine, session_factory
from hotline.reporting import ReportService, report_settings
from reports import Period

YEAR = 2025
ZONE = ZoneInfo("Asia/Shanghai")
AGENTS = [str(2001 + n) for n in range(60)]
DEPARTMENTS = ["SANITATION", "MUNICIPAL", "LANDSCAPE", "ENFORCEMENT", "WATER", "GAS", "POWER"]
CATEGORIES = [f"06{n:03d}" for n in range(1, 31)]
# Calls per local hour of a day (a city hotline: quiet nights, busy mornings).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 11, 9, 10, 12, 12, 11, 9, 7, 6, 5, 4, 3, 2]
CALL_COLUMNS = [
    "id", "sip_call_id", "dialled", "queue", "caller", "state", "agent_id", "codec",
    "arrived_at", "connected_at", "ended_at", "end_reason", "rtp_from_caller", "rtp_to_caller",
]  # fmt: skip
TICKET_COLUMNS = [
    "number", "hotline", "call_id", "caller_name", "phone", "address", "description",
    "department_code", "category_code", "urgent", "status", "created_by", "created_at",
    "merged_into",
]  # fmt: skip


def moments(count: int, rng: random.Random) -> Iterator[datetime]:
    """`count` arrival instants over the year, by the hour-of-day pattern, in order."""
    days = (date(YEAR + 1, 1, 1) - date(YEAR, 1, 1)).days
    hours = [h for h, w in enumerate(HOUR_WEIGHTS) for _ in range(w)]
    stamps = sorted(
        datetime.combine(
            date(YEAR, 1, 1) + timedelta(days=rng.randrange(days)), datetime.min.time(), ZONE
        )
        + timedelta(hours=rng.choice(hours), seconds=rng.random() * 3600)
        for _ in range(count)
    )
    return (stamp.astimezone(UTC) for stamp in stamps)


def calls(count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    for n, arrived in enumerate(moments(count, rng)):
        line = rng.choices(["12319", "96198", "12345"], [7, 2, 1])[0]
        fate = rng.random()
        agent = connected = None
        if fate < 0.85:
            agent = rng.choice(AGENTS)
            connected = arrived + timedelta(seconds=rng.expovariate(1 / 9))
            ended = connected + timedelta(seconds=30 + rng.expovariate(1 / 150))
            reason = "caller-hangup"
        else:
            ended = arrived + timedelta(seconds=rng.expovariate(1 / 40))
            reason = rng.choices(
                ["caller-hangup", "refused-queue-full", "voicemail", "callback"], [10, 2, 1, 2]
            )[0]
        yield (
            f"b{n:08d}", "", line, line, "13800000000", "ended", agent, "PCMU",
            arrived, connected, ended, reason, 0, 0,
        )  # fmt: skip


EVENT_COLUMNS = [
    "ticket_id", "seq", "type", "at", "by", "from_state", "to_state", "reason", "department",
    "new_deadline", "recorded_at",
]  # fmt: skip


def case_log(
    accepted: datetime, department: str, source: str, rng: random.Random
) -> tuple[str, list[tuple[str, datetime, str, str | None, date | None]]]:
    """A realistic life of a case: (final state, [(type, at, to_state, department,
    new_deadline)]). Most go round the loop; some are returned (and 改派 or rejected),
    extended, reopened after an unsatisfied 回访, unreached, or sent back to 12345."""
    log: list[tuple[str, datetime, str, str | None, date | None]] = []
    clock = accepted

    def add(kind: str, minutes: float, state: str, dept: str | None = None,
            new_deadline: date | None = None) -> None:  # fmt: skip
        nonlocal clock
        clock = clock + timedelta(minutes=minutes)
        log.append((kind, clock, state, dept, new_deadline))

    add("accepted", 0, "accepted", department)
    if source == "12345" and rng.random() < 0.03:
        add("sent_back", rng.uniform(5, 120), "sent_back")
        return "sent_back", log
    add("forwarded", rng.choice([0.5, 1, 2, 3, 15]), "forwarded")
    add("dispatched", rng.uniform(5, 60), "dispatched", department)
    if rng.random() < 0.08:
        add("returned", rng.uniform(60, 600), "returned")
        if rng.random() < 0.15:
            add("rejected", rng.uniform(30, 300), "rejected")
            return "rejected", log
        department = rng.choice(DEPARTMENTS)
        add("reassigned", rng.uniform(30, 300), "forwarded", department)
        add("dispatched", rng.uniform(5, 60), "dispatched", department)
    for attempt in range(2):
        if rng.random() < 0.1:
            day = (clock.astimezone(ZONE) + timedelta(days=8)).date()
            add("extension_requested", rng.uniform(600, 4000), "dispatched", None, day)
        add("handled", rng.expovariate(1 / 3000), "handled")
        add("closed", rng.uniform(30, 600), "callback")
        fate = rng.random()
        if fate < 0.05 and attempt == 0:
            add("visit_unsatisfied", rng.uniform(60, 2000), "forwarded")
            add("dispatched", rng.uniform(5, 60), "dispatched", department)
            continue
        if fate < 0.15:
            add("visit_unreached", rng.uniform(60, 2000), "callback")
            add("visit_unreached", 120, "callback")
            add("visit_unreached", 120, "closed")
        else:
            kind = rng.choices(["visit_satisfied", "visit_fairly_satisfied"], [7, 3])[0]
            add(kind, rng.uniform(60, 2000), "closed")
        break
    return log[-1][2], log


def cases(count: int, seed: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Each ticket and its case event rows (ticket ids are 1, 2, … in this order)."""
    rng = random.Random(seed + 1)
    for n, accepted in enumerate(moments(count, rng)):
        merged = f"T{n - 1 - rng.randrange(min(n, 50)):07d}" if n and rng.random() < 0.02 else None
        line = rng.choices(["12319", "96198", "12345"], [7, 2, 1])[0]
        department = rng.choice(DEPARTMENTS)
        if merged is None:
            status, log = case_log(accepted, department, line, rng)
        else:
            status, log = "merged", [("merged", accepted, "merged", department, None)]
        ticket = (
            f"T{n:07d}", line, None, "", "13800000000", "某区某路", "占道经营", department,
            rng.choice(CATEGORIES), False, status, None, accepted, merged,
        )  # fmt: skip
        events = []
        before: str | None = None
        for seq, (kind, at, state, dept, new_deadline) in enumerate(log, start=1):
            by = "core" if kind in CORE_KINDS else "2001"
            reason = "原因" if kind in REASONED else ""
            events.append((n + 1, seq, kind, at, by, before, state, reason, dept, new_deadline, at))
            before = state
        yield ticket, events


CORE_KINDS = {"dispatched", "handled", "returned", "extension_requested", "closed"}
REASONED = {"returned", "rejected", "sent_back", "extension_requested", "reassigned"}


def tickets(count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    return (ticket for ticket, _ in cases(count, seed))


def case_events(count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    return (event for _, events in cases(count, seed) for event in events)


def sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def fill_sqlite(path: Path, n_calls: int, n_cases: int, seed: int) -> None:
    db = sqlite3.connect(path)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with db:
        db.executemany(
            "INSERT INTO agents VALUES (?, ?, 'agent', 'x', ?, 'bench', 1, ?)",
            [(a, f"坐席{a}", "0" * 32, now) for a in AGENTS],
        )
        marks = ", ".join("?" * len(CALL_COLUMNS))
        db.executemany(
            f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({marks})",
            (tuple(sqlite_value(v) for v in row) for row in calls(n_calls, seed)),
        )
        marks = ", ".join("?" * len(TICKET_COLUMNS))
        db.executemany(
            f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) VALUES ({marks})",
            (tuple(sqlite_value(v) for v in row) for row in tickets(n_cases, seed)),
        )
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        db.executemany(
            f"INSERT INTO case_events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})",
            (tuple(sqlite_value(v) for v in row) for row in case_events(n_cases, seed)),
        )
    db.execute("ANALYZE")
    db.close()


async def fill_postgres(url: str, n_calls: int, n_cases: int, seed: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        now = datetime.now(UTC)
        await connection.copy_records_to_table(
            "agents",
            records=[(a, f"坐席{a}", "agent", "x", "0" * 32, "bench", True, now) for a in AGENTS],
            columns=["id", "name", "role", "password_hash", "sip_ha1", "sip_realm", "active",
                     "created_at"],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "calls", records=calls(n_calls, seed), columns=CALL_COLUMNS
        )
        await connection.execute("SET session_replication_role = replica")  # merged_into order
        await connection.copy_records_to_table(
            "tickets", records=tickets(n_cases, seed), columns=TICKET_COLUMNS
        )
        await connection.copy_records_to_table(
            "case_events", records=case_events(n_cases, seed), columns=EVENT_COLUMNS
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def reset_postgres(url: str) -> None:
    import asyncpg

    plain = url.replace("postgresql+asyncpg", "postgresql")
    base, _, name = plain.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def forget_sums(url: str) -> None:
    engine = create_engine(url)
    try:
        service = ReportService(session_factory(engine), report_settings(HotlineConfig(), {}),
                                lambda: datetime.now(UTC))  # fmt: skip
        await service.kept.forget(date(YEAR - 2, 1, 1), date(YEAR + 1, 12, 31))
    finally:
        await engine.dispose()


class Stopwatch:
    """Wall time, and this process's CPU time (the machine may be shared; PostgreSQL's own
    work is in the wall time only)."""

    def __enter__(self) -> Stopwatch:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = (time.perf_counter() - self.wall, time.process_time() - self.cpu)


async def time_reports(url: str) -> dict[str, tuple[float, float]]:
    """Seconds for the year's first report (every day summed from the rows, once), the year
    and a month again (from the sums), and the ticket rows alone."""
    figures: dict[str, tuple[float, float]] = {}
    engine = create_engine(url)
    sessions = session_factory(engine)
    settings = report_settings(HotlineConfig(), {})
    clock = datetime(YEAR + 1, 3, 1, tzinfo=UTC)
    service = ReportService(sessions, settings, lambda: clock)
    year = Period.year(YEAR)
    try:
        with Stopwatch() as watch:
            first = await service.report(year, live=True)
        figures["year, first report (sums every day once)"] = watch.seconds
        again = ReportService(sessions, settings, lambda: clock)
        with Stopwatch() as watch:
            second = await again.report(year, live=True)
        figures["year report"] = watch.seconds
        assert [line.indicator.shown() for line in second.lines] == [
            line.indicator.shown() for line in first.lines
        ]
        with Stopwatch() as watch:
            await again.report(Period.month(YEAR, 11), live=True)
        figures["month report (2025-11)"] = watch.seconds
        start, end = year.bounds(ZONE)
        with Stopwatch() as watch:
            rows, _drafts = await again.kept.case_rows(start, end)
        figures[f"reading the year's {len(rows)} cases (tickets, events)"] = watch.seconds
        print(
            f"    calls offered {first.indicator('calls_offered').value:.0f}, "
            f"15秒接通率 {first.indicator('answer_rate_in_time').shown()}, "
            f"cases accepted {first.indicator('cases_accepted').value:.0f}, "
            f"按期处置率 {first.indicator('on_time_handling_rate').shown()}, "
            f"办结率 {first.indicator('finishing_rate').shown()}, "
            f"满意率 {first.indicator('satisfaction_rate').shown()}"
        )
    finally:
        await engine.dispose()
    return figures


def show(name: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"  {'':10} {'':48} {'wall':>8}   {'cpu':>8}")
    for label, (wall, cpu) in figures.items():
        print(f"  {name:10} {label:48} {wall:8.2f} s {cpu:8.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3_000_000)
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=12319)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/bench_reports"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the PostgreSQL data of an earlier run (its kept sums are dropped first)",
    )
    parser.add_argument(
        "--keep-sums", action="store_true", help="with --reuse: keep the day sums too (warm only)"
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"A year ({YEAR}) of {args.calls} calls and {args.cases} cases")
    if not args.skip_postgres:
        if args.reuse:
            migrations.upgrade(args.postgres)
            if not args.keep_sums:
                asyncio.run(forget_sums(args.postgres))
        else:
            asyncio.run(reset_postgres(args.postgres))
            migrations.upgrade(args.postgres)
            started = time.perf_counter()
            asyncio.run(fill_postgres(args.postgres, args.calls, args.cases, args.seed))
            print(f"  postgresql generated in {time.perf_counter() - started:.1f} s")
        show("postgresql", asyncio.run(time_reports(args.postgres)))
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            url = f"sqlite+aiosqlite:///{path}"
            migrations.upgrade(url)
            started = time.perf_counter()
            fill_sqlite(path, args.calls, args.cases, args.seed)
            print(f"  sqlite generated in {time.perf_counter() - started:.1f} s")
            show("sqlite", asyncio.run(time_reports(url)))


if __name__ == "__main__":
    main()
