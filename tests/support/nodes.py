"""Two nodes on one database: each with its own engine, so its own connections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.db import create_engine, session_factory


@dataclass
class Node:
    """One node's own engine (its own connections) on the shared database."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def two_nodes(database_url: str) -> AsyncIterator[tuple[Node, Node]]:
    pair = []
    for _ in range(2):
        engine = create_engine(database_url)
        pair.append(Node(engine, session_factory(engine)))
    try:
        yield pair[0], pair[1]
    finally:
        for node in pair:
            await node.engine.dispose()
