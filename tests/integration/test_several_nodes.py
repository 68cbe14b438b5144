"""Several nodes on one database: the outbox sender sends each row once, and a daily job runs
once per due time, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.sender import BATCH, OutboxSender, claim_lease, sign_body
from hotline.accounts import Accounts
from hotline.db import create_engine, session_factory
from hotline.demo_sink import add_demo_dispatch_core
from hotline.job_runs import JobRuns
from hotline.models import JobRunRow, OutboxMessage
from hotline.schedule import DailyJob
from hotline.tickets import TicketDraft, TicketService

NOW = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
TIMEOUT = 5.0
ROWS = 200
SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)  # 03:30 in Shanghai on 12-05


@dataclass
class Node:
    """One node's own engine (its own connections) on the shared database."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def nodes(database_url: str) -> AsyncIterator[tuple[Node, Node]]:
    pair = []
    for _ in range(2):
        engine = create_engine(database_url)
        pair.append(Node(engine, session_factory(engine)))
    yield pair[0], pair[1]
    for node in pair:
        await node.engine.dispose()


async def seed_outbox(sessions: async_sessionmaker[AsyncSession], rows: int) -> list[str]:
    """One saved ticket (its own outbox row) and more rows for it: `rows` keys in all."""
    await Accounts(sessions, "test", 1).add_agent(
        "1001", "A", "password-1", "sip-pass-1", "agent", NOW
    )
    ticket = await TicketService(sessions, "Asia/Shanghai").save(
        TicketDraft(
            "12319",
            None,
            "李先生",
            "13900001111",
            "解放路1号",
            "路灯不亮",
            "MUNICIPAL",
            None,
            False,
        ),
        "1001",
        NOW,
    )
    keys = [ticket.number]
    async with sessions.begin() as db:
        for n in range(1, rows):
            key = f"{ticket.number}/{n}/urge"
            keys.append(key)
            db.add(
                OutboxMessage(
                    ticket_id=ticket.id,
                    idempotency_key=key,
                    payload={"command": "urge", "ticket": ticket.number, "n": n},
                    attempts=0,
                    next_attempt_at=NOW,
                    created_at=NOW,
                    kind="command",
                    target="core",
                )
            )
    return keys


@dataclass
class Receiver:
    """A dispatch core counting POSTs per Idempotency-Key and per path (one path per node).
    With `gate`, it answers nothing until both paths have sent something: both senders then
    hold claimed rows at once."""

    gate: bool = False
    posts: Counter[str] = field(default_factory=Counter)
    by_path: dict[str, set[str]] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    # key → what to answer it (the next request for it); by default 200 at once
    scripted: dict[str, asyncio.Future[int]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{node}/cases", self._receive)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        assert request.headers["X-Hotline-Signature"] == sign_body("k", body)
        key = request.headers["Idempotency-Key"]
        async with self.changed:
            self.posts[key] += 1
            self.by_path.setdefault(request.match_info["node"], set()).add(key)
            self.changed.notify_all()
        if self.gate:
            async with self.changed:
                await asyncio.wait_for(self.changed.wait_for(lambda: len(self.by_path) == 2), 30)
        answer = self.scripted.pop(key, None)
        status = 200 if answer is None else await answer
        return web.json_response({"accepted": key}, status=status)

    async def wait(self, found: Callable[[], bool], timeout: float = 30.0) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(found), timeout)


@pytest.fixture
async def receiver_at() -> AsyncIterator[Callable[[Receiver], Awaitable[str]]]:
    servers: list[TestServer] = []

    async def serve(receiver: Receiver) -> str:
        server = TestServer(receiver.app(), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/"))

    yield serve
    for server in servers:
        await server.close()


def sender(
    node: Node,
    url: str,
    clock: Callable[[], datetime],
    on_delivered: Callable[[OutboxMessage], Awaitable[None]] | None = None,
) -> OutboxSender:
    return OutboxSender(node.sessions, url, "k", TIMEOUT, 60.0, clock, on_delivered=on_delivered)


async def test_two_senders_deliver_each_row_exactly_once(
    nodes: tuple[Node, Node], receiver_at: Callable[[Receiver], Awaitable[str]]
) -> None:
    a, b = nodes
    keys = await seed_outbox(a.sessions, ROWS)
    receiver = Receiver(gate=True)
    base = await receiver_at(receiver)
    recorded: Counter[str] = Counter()
    all_recorded = asyncio.Event()

    async def delivered(row: OutboxMessage) -> None:
        recorded[row.idempotency_key] += 1
        if len(recorded) == ROWS:
            all_recorded.set()

    first = sender(a, base + "a/cases", lambda: NOW, delivered)
    second = sender(b, base + "b/cases", lambda: NOW, delivered)
    await first.start()
    await second.start()
    try:
        await asyncio.wait_for(all_recorded.wait(), 60)
    finally:
        await first.stop()
        await second.stop()
    assert set(receiver.posts) == set(keys)
    assert set(receiver.posts.values()) == {1}  # each key POSTed exactly once
    assert set(recorded.values()) == {1}  # and its delivery recorded once
    # Both senders held rows at once (the gate waited for both), and none held the same.
    assert receiver.by_path["a"] and receiver.by_path["b"]
    assert not receiver.by_path["a"] & receiver.by_path["b"]
    async with a.sessions() as db:
        rows = (await db.scalars(select(OutboxMessage))).all()
    assert len(rows) == ROWS
    assert all(r.delivered_at is not None and r.attempts == 1 for r in rows)
    assert all(r.claimed_by is None for r in rows)


async def test_a_claimed_row_is_neither_waited_for_nor_taken_by_another_sender(
    nodes: tuple[Node, Node], receiver_at: Callable[[Receiver], Awaitable[str]]
) -> None:
    a, b = nodes
    keys = await seed_outbox(a.sessions, BATCH + 1)
    receiver = Receiver()
    held: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    receiver.scripted[keys[0]] = held
    base = await receiver_at(receiver)
    async with aiohttp.ClientSession() as http:
        first = asyncio.create_task(sender(a, base + "a/cases", lambda: NOW).deliver_due(http))
        await receiver.wait(lambda: len(receiver.posts) == BATCH)  # a's batch is in flight
        # b takes what a did not claim, without waiting for a's open POSTs.
        await sender(b, base + "b/cases", lambda: NOW).deliver_due(http)
        assert receiver.by_path["b"] == {keys[-1]}
        held.set_result(200)
        await first
    assert set(receiver.posts.values()) == {1} and len(receiver.posts) == BATCH + 1


async def test_a_sender_dying_mid_post_leaves_the_row_to_another_after_the_lease(
    nodes: tuple[Node, Node], receiver_at: Callable[[Receiver], Awaitable[str]]
) -> None:
    a, b = nodes
    [key] = await seed_outbox(a.sessions, 1)
    receiver = Receiver()
    receiver.scripted[key] = asyncio.get_running_loop().create_future()  # never answered
    base = await receiver_at(receiver)
    async with aiohttp.ClientSession() as http:
        dying = asyncio.create_task(sender(a, base + "a/cases", lambda: NOW).deliver_due(http))
        await receiver.wait(lambda: receiver.posts[key] == 1)
        dying.cancel()  # the node dies (or is fenced) mid-POST, its claim written
        with pytest.raises(asyncio.CancelledError):
            await dying
        clock = [NOW + timedelta(seconds=TIMEOUT)]
        other = sender(b, base + "b/cases", lambda: clock[0])
        await other.deliver_due(http)  # within the lease: not taken
        assert receiver.posts[key] == 1
        clock[0] = claim_lease(NOW, TIMEOUT) + timedelta(seconds=1)
        await other.deliver_due(http)
    # The receiver saw the same key twice and deduplicates it by that key.
    assert receiver.posts[key] == 2 and receiver.by_path == {"a": {key}, "b": {key}}
    async with b.sessions() as db:
        row = await db.scalar(select(OutboxMessage))
    assert row is not None and row.delivered_at is not None
    assert row.attempts == 1 and row.claimed_by is None  # the dead sender recorded nothing


async def test_a_late_failure_from_a_sender_whose_claim_lapsed_is_not_recorded(
    nodes: tuple[Node, Node], receiver_at: Callable[[Receiver], Awaitable[str]]
) -> None:
    a, b = nodes
    [key] = await seed_outbox(a.sessions, 1)
    receiver = Receiver()
    late: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    receiver.scripted[key] = late
    base = await receiver_at(receiver)
    async with aiohttp.ClientSession() as http:
        paused = asyncio.create_task(sender(a, base + "a/cases", lambda: NOW).deliver_due(http))
        await receiver.wait(lambda: receiver.posts[key] == 1)
        after_lease = claim_lease(NOW, TIMEOUT) + timedelta(seconds=1)
        await sender(b, base + "b/cases", lambda: after_lease).deliver_due(http)
        late.set_result(503)  # the paused sender's POST fails after b delivered the row
        await paused
    async with a.sessions() as db:
        row = await db.scalar(select(OutboxMessage))
    assert row is not None and row.delivered_at is not None
    assert row.attempts == 1 and row.last_error is None


async def test_the_demo_core_deduplicates_by_idempotency_key() -> None:
    app = web.Application()
    add_demo_dispatch_core(app, "k", delay_seconds=0)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    body = b'{"number": "12319-20261205-0001"}'
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": "12319-20261205-0001",
        "X-Hotline-Signature": sign_body("k", body),
    }
    try:
        async with aiohttp.ClientSession() as http:
            answers = []
            for _ in range(2):
                async with http.post(
                    server.make_url("/demo/dispatch-core/cases"), data=body, headers=headers
                ) as response:
                    answers.append(await response.json())
    finally:
        await server.close()
    assert [a["duplicate"] for a in answers] == [False, True]


# ---- daily jobs ---------------------------------------------------------------------------


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
