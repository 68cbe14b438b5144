"""The active node's lease: a PostgreSQL session-level advisory lock on a connection of its own.

Several `hotline serve` nodes share one database; the one whose `pg_try_advisory_lock(key)`
succeeded is active. The lock lives as long as that connection: when the process dies, the
server sees the connection close and drops the lock at once, and a standby's next try takes
it. The active node checks the connection every poll; when it fails (PostgreSQL restarted,
the backend terminated, the network gone) the lease is lost and the node must stop serving:
the server may already have given the lock to another node.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# The shortest time a check of the held lease may take before the lease counts as lost.
CHECK_TIMEOUT_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 5.0
# The server's keepalive probes: this many, this far apart, once the connection is idle.
KEEPALIVE_INTERVAL_SECONDS = 2
KEEPALIVE_COUNT = 3


def connect_arguments(url: str) -> dict[str, Any]:
    """asyncpg.connect's arguments for the SQLAlchemy URL of [database] url.

    Only the address, the credentials and `ssl` are taken: the URL's other query options
    belong to SQLAlchemy, and asyncpg would send them to the server as settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("the lease needs a PostgreSQL database")
    arguments: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }
    ssl = parsed.query.get("ssl") or parsed.query.get("sslmode")
    if ssl:
        arguments["ssl"] = ssl if isinstance(ssl, str) else ssl[0]
    return {key: value for key, value in arguments.items() if value is not None}


def check_timeout(poll_seconds: float) -> float:
    return max(CHECK_TIMEOUT_SECONDS, 2 * poll_seconds)


def server_keepalives(poll_seconds: float) -> dict[str, str]:
    """Session settings that make the server drop a silent node's connection (and so its
    lock) only well after that node has noticed and fenced itself.

    A node cut off from the server notices within one poll and one check timeout; without
    these the server would hold the lock for the kernel's two hours of keepalive idle."""
    noticed = poll_seconds + check_timeout(poll_seconds)
    idle = max(5, math.ceil(2 * noticed))
    return {
        "tcp_keepalives_idle": str(idle),
        "tcp_keepalives_interval": str(KEEPALIVE_INTERVAL_SECONDS),
        "tcp_keepalives_count": str(KEEPALIVE_COUNT),
    }


class Lease:
    """One node's claim to be the active one."""

    def __init__(self, url: str, key: int, poll_seconds: float, node: str) -> None:
        self._arguments = connect_arguments(url)
        self.key = key
        self.poll_seconds = poll_seconds
        self.node = node
        self._connection: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._on_lost: Callable[[str], None] | None = None
        self.held = False
        self.released = False
        self.lost_reason: str | None = None
        # Why the last try could not ask the server (None: it answered).
        self.problem: str | None = None

    @property
    def backend_pid(self) -> int | None:
        """The server process holding this node's lease connection (for operators and tests)."""
        return None if self._connection is None else self._connection.get_server_pid()

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False if another node does or the server cannot
        be reached (see `problem`)."""
        if self.held:
            return True
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(
                    **self._arguments,
                    timeout=CONNECT_TIMEOUT_SECONDS,
                    server_settings={
                        "application_name": f"hotline lease {self.node}"[:63],
                        **server_keepalives(self.poll_seconds),
                    },
                )
            got = await self._connection.fetchval(
                "SELECT pg_try_advisory_lock($1)",
                self.key,
                timeout=check_timeout(self.poll_seconds),
            )
        except Exception as error:
            # The server may have granted a lock whose answer never came: closing the
            # connection is what gives it back.
            self.problem = f"{type(error).__name__}: {error}"
            self._discard()
            return False
        self.problem = None
        self.held = bool(got)
        return self.held

    async def acquire(self) -> None:
        """Try every poll until the lock is this node's."""
        unreachable = False
        while not await self.try_acquire():
            if self.problem is not None and not unreachable:
                log.warning(
                    "lease: PostgreSQL unreachable",
                    extra={"node": self.node, "error": self.problem},
                )
            elif self.problem is None and unreachable:
                log.info("lease: PostgreSQL reachable again", extra={"node": self.node})
            unreachable = self.problem is not None
            await asyncio.sleep(self.poll_seconds)  # the poll's pace

    def watch(self, on_lost: Callable[[str], None] | None = None) -> None:
        """Check the held lease every poll; when it fails, it is lost (see `lost`)."""
        if not self.held or self._connection is None:
            raise RuntimeError("the lease is not held")
        self._on_lost = on_lost
        self._connection.add_termination_listener(
            lambda _connection: self._lose("the lease connection closed")
        )
        self._watch = asyncio.create_task(self._check_loop(), name="lease-check")

    async def lost(self) -> str:
        """Wait until the held lease is lost; why."""
        await self._lost.wait()
        return self.lost_reason or ""

    @property
    def is_lost(self) -> bool:
        return self._lost.is_set()

    async def release(self) -> None:
        """Give the lease up (closing its connection frees the lock for a standby)."""
        self.released = True
        self.held = False
        if self._watch is not None:
            self._watch.cancel()
            try:
                await self._watch
            except asyncio.CancelledError:
                pass
            self._watch = None
        if self._connection is not None:
            try:
                await self._connection.close(timeout=check_timeout(self.poll_seconds))
            except Exception:
                pass  # close() has aborted it: the server frees the lock all the same
            self._connection = None

    async def _check_loop(self) -> None:
        connection = self._connection
        assert connection is not None
        while True:
            await asyncio.sleep(self.poll_seconds)  # the poll's pace
            try:
                await connection.fetchval("SELECT 1", timeout=check_timeout(self.poll_seconds))
            except Exception as error:
                self._lose(f"{type(error).__name__}: {error}")
                return

    def _lose(self, reason: str) -> None:
        if self.released or self.is_lost:
            return
        self.held = False
        self.lost_reason = reason
        log.critical("租约丢失", extra={"node": self.node, "reason": reason, "key": self.key})
        self._lost.set()
        if self._on_lost is not None:
            self._on_lost(reason)

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None
