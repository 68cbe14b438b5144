"""Database engines: SQLite in WAL mode by default, PostgreSQL in production.

Both are durable: a ticket the API has answered "saved" survives a power failure. SQLite syncs
the WAL on every commit (synchronous=FULL: with NORMAL a commit can be lost, though the file
stays consistent); PostgreSQL waits for its WAL flush (synchronous_commit=on, whatever the
server's default). The cost is measured by bench/bench_tickets.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 15000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite file so a fresh checkout can start."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]


def _tune_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, which lets two
    # writers deadlock on lock upgrade; take the write lock at BEGIN and let busy_timeout queue.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    """An async engine for the configured URL, tuned for its backend."""
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        # One connection: SQLite writes one at a time anyway, and queueing here in order is
        # fairer and faster than many connections sleeping in the busy handler.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        _tune_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"server_settings": {"synchronous_commit": "on"}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
