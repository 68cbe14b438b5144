"""Several nodes on one database: a daily job runs once per due time (taken over from a silent
node, caught up by a node starting late), a report slot once; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.job_runs import JobRuns
from hotline.models import JobRunRow
from hotline.schedule import DailyJob
from tests.support.nodes import Node, two_nodes

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)  # 03:30 in Shanghai on 12-05


@pytest.fixture
async def nodes(database_url: str) -> AsyncIterator[tuple[Node, Node]]:
    async with two_nodes(database_url) as pair:
        yield pair


def daily(
    node: Node,
    name: str,
    job: Callable[[datetime], Awaitable[object]],
    clock: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    heartbeat: timedelta = timedelta(seconds=30),
) -> DailyJob:
    return DailyJob(
        "backup",
        job,
        time(3, 30),
        SHANGHAI,
        clock,
        sleep,
        runs=JobRuns(node.sessions, name),
        heartbeat=heartbeat,
    )


async def run_rows(node: Node) -> list[JobRunRow]:
    async with node.sessions() as db:
        return list((await db.scalars(select(JobRunRow))).all())


async def test_two_nodes_at_the_same_due_time_run_the_job_once(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    ran: list[str] = []
    release = asyncio.Event()
    claimed = asyncio.Event()

    def job_on(node: str) -> Callable[[datetime], Awaitable[None]]:
        async def job(_now: datetime) -> None:
            ran.append(node)
            claimed.set()
            await release.wait()

        return job

    first = asyncio.create_task(daily(a, "a", job_on("a"), lambda: DUE).run_due(DUE))
    await asyncio.wait_for(claimed.wait(), 30)  # a has claimed the run and is running it
    looked_again: list[float] = []

    async def sleep(seconds: float) -> None:
        # b found a's run held: let a finish, then b looks again.
        looked_again.append(seconds)
        release.set()
        await asyncio.wait_for(asyncio.shield(first), 30)

    second = await daily(b, "b", job_on("b"), lambda: DUE, sleep).run_due(DUE)
    assert await first is True and second is False
    assert ran == ["a"] and len(looked_again) == 1
    [row] = await run_rows(a)
    assert row.node == "a" and row.finished_at is not None and row.error is None


async def test_a_run_whose_node_went_silent_is_taken_over(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    silent = await JobRuns(a.sessions, "silent").claim("backup", DUE, DUE)
    assert silent is not None
    ran: list[datetime] = []

    async def job(now: datetime) -> None:
        ran.append(now)

    within = DUE + timedelta(minutes=2)
    held: list[float] = []

    async def sleep(seconds: float) -> None:
        held.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    clock = [within]
    assert await daily(b, "b", job, lambda: clock[0], sleep).run_due(DUE) is True
    assert held and clock[0] > DUE + timedelta(minutes=3)  # waited for it to go stale
    assert len(ran) == 1
    [row] = await run_rows(b)
    assert row.node == "b" and row.finished_at is not None
    # The silent node, should it come back, finds the run is not its own any more.
    assert not await JobRuns(a.sessions, "silent").finish("backup", DUE, silent, clock[0], None)


async def test_a_paused_node_that_wakes_after_a_takeover_stops_its_run(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    started = asyncio.Event()
    stopped = asyncio.Event()

    async def slow(_now: datetime) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    paused = daily(a, "a", slow, lambda: DUE, heartbeat=timedelta(seconds=0.05))
    first = asyncio.create_task(paused.run_due(DUE))
    await asyncio.wait_for(started.wait(), 30)
    ran: list[datetime] = []

    async def quick(now: datetime) -> None:
        ran.append(now)

    late = DUE + timedelta(minutes=10)  # b's clock: a's heartbeat looks stale
    assert await daily(b, "b", quick, lambda: late).run_due(DUE) is True
    await asyncio.wait_for(stopped.wait(), 30)  # a's next beat found the run taken
    await asyncio.wait_for(first, 30)
    [row] = await run_rows(a)
    assert row.node == "b" and row.finished_at is not None and len(ran) == 1


class _Stop(Exception):
    pass


@pytest.mark.parametrize(
    ("history", "finished", "runs"),
    [
        (True, False, 1),  # yesterday ran, today's nobody ran: caught up at start
        (True, True, 0),  # today's finished already
        (False, False, 0),  # never ran here: first run at its time
    ],
)
async def test_a_node_starting_after_the_due_time_catches_up_once(
    nodes: tuple[Node, Node], history: bool, finished: bool, runs: int
) -> None:
    a, b = nodes
    earlier = JobRuns(a.sessions, "earlier")
    if history:
        token = await earlier.claim("backup", DUE - timedelta(days=1), DUE - timedelta(days=1))
        assert token and await earlier.finish("backup", DUE - timedelta(days=1), token, DUE, None)
    if finished:
        token = await earlier.claim("backup", DUE, DUE)
        assert token and await earlier.finish("backup", DUE, token, DUE, None)
    ran: list[datetime] = []

    async def job(now: datetime) -> None:
        ran.append(now)

    async def sleep(_seconds: float) -> None:
        raise _Stop  # the loop's first wait for the next day: stop there

    start = DUE + timedelta(hours=6)  # 09:30 local, 03:30 passed
    for node, name in ((a, "a"), (b, "b")):  # two nodes start: one catches up
        with pytest.raises(_Stop):
            await daily(node, name, job, lambda: start, sleep).run_forever()
    assert ran == [start] * runs


async def test_two_nodes_run_a_report_slot_once(nodes: tuple[Node, Node]) -> None:
    from hotline.report_jobs import ReportJobs, slot_of

    passes: list[str] = []

    class Counted(ReportJobs):
        def __init__(self, node: Node, name: str, now: datetime) -> None:
            super().__init__(None, runs=JobRuns(node.sessions, name), clock=lambda: now)  # type: ignore[arg-type]
            self.name = name

        async def run_once(self) -> None:
            passes.append(self.name)

    a, b = nodes
    ran = [
        await Counted(a, "a", DUE).run_slot(),
        await Counted(b, "b", DUE + timedelta(minutes=5)).run_slot(),  # the same slot
        await Counted(b, "b", DUE + timedelta(minutes=15)).run_slot(),  # the next one
        await Counted(a, "a", DUE + timedelta(days=3)).run_slot(),
    ]
    assert ran == [True, False, True, True] and passes == ["a", "b", "a"]
    # Old slots are forgotten as new ones are claimed.
    assert [r.due for r in await run_rows(a)] == [slot_of(DUE + timedelta(days=3), 900)]
