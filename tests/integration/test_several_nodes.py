"""Several nodes on one database: the outbox senders send each row once (a sender dying
mid-POST: once more, under the same key), on SQLite and PostgreSQL. The scheduled jobs are in
test_scheduled_runs.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.sender import BATCH, OutboxSender, claim_lease, sign_body
from hotline.accounts import Accounts
from hotline.demo_sink import add_demo_dispatch_core
from hotline.models import OutboxMessage
from hotline.tickets import TicketDraft, TicketService
from tests.support.nodes import Node, two_nodes

NOW = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
TIMEOUT = 5.0
ROWS = 200


@pytest.fixture
async def nodes(database_url: str) -> AsyncIterator[tuple[Node, Node]]:
    async with two_nodes(database_url) as pair:
        yield pair


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
