"""The active node's lease on a real PostgreSQL: one holder, handed over when it dies, and
fenced when its connection is cut from the server's side."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest

from hotline.lease import Lease, connect_arguments
from tests.support.cluster_db import cluster_postgres_url

pytestmark = pytest.mark.postgres

DEADLINE = 30.0


@pytest.fixture
def url() -> str:
    return cluster_postgres_url()


@pytest.fixture
async def leases(url: str) -> AsyncIterator[list[Lease]]:
    """Two nodes' leases on one key of their own (a leftover holder cannot interfere)."""
    key = random.randrange(1, 2**62)
    made = [Lease(url, key, 0.1, node) for node in ("a", "b")]
    try:
        yield made
    finally:
        for lease in made:
            await lease.release()


async def until_taken(lease: Lease) -> None:
    async with asyncio.timeout(DEADLINE):
        while not await lease.try_acquire():
            await asyncio.sleep(lease.poll_seconds)


async def test_the_first_holds_and_the_second_does_not(leases: list[Lease]) -> None:
    first, second = leases
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert second.problem is None  # the server answered: someone else holds it
    assert await first.try_acquire()  # still the holder


async def test_a_dead_holder_connection_hands_the_lease_over(leases: list[Lease]) -> None:
    first, second = leases
    assert await first.try_acquire()
    assert not await second.try_acquire()
    # The process dies: its socket closes without a goodbye.
    connection = first._connection
    assert connection is not None
    connection.terminate()
    await until_taken(second)
    assert second.held


async def test_a_terminated_backend_fences_the_holder(url: str, leases: list[Lease]) -> None:
    first, second = leases
    assert await first.try_acquire()
    fenced: list[str] = []
    first.watch(fenced.append)
    pid = first.backend_pid
    admin = await asyncpg.connect(**connect_arguments(url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    async with asyncio.timeout(DEADLINE):
        reason = await first.lost()
    assert reason and fenced == [reason]
    assert first.is_lost and not first.held
    await until_taken(second)


async def test_a_released_lease_is_not_reported_lost(leases: list[Lease]) -> None:
    first, second = leases
    assert await first.try_acquire()
    fenced: list[str] = []
    first.watch(fenced.append)
    await first.release()
    await until_taken(second)
    assert not first.is_lost and fenced == []
