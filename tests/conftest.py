"""Shared fixtures: a database on SQLite (and PostgreSQL), a whole running hotline."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import ClientSession, web_app
from aiohttp.test_utils import TestServer

import migrations
from hotline.config import HotlineConfig
from hotline.wiring import System, build_system
from tests.support.dispatch_core import DispatchCoreStub

PG_URL = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to start when two test files share a name.

    The tests folders are not packages, so pytest imports each test file by its
    basename; two files of one name in different folders stop the whole run at
    collection. Said here, before collection, with both paths.
    """
    seen: dict[str, Path] = {}
    for path in sorted(Path(__file__).parent.rglob("test_*.py")):
        if path.name in seen:
            raise pytest.UsageError(
                f"two test files named {path.name}: {seen[path.name]} and {path}; "
                "rename one, test modules are imported by basename"
            )
        seen[path.name] = path


@pytest.fixture(autouse=True)
def _forget_aiohttp_applications() -> Iterator[None]:
    """Let each test's whole system be freed when the test ends.

    aiohttp keeps every application's middleware chain in an LRU cache of 1,024 entries,
    keyed by the application: harmless for a server's one application, but a suite that
    builds a system per test kept each one (classifier, engine, switchboard), about 100 MB
    a test, until the run held many GB.
    """
    yield
    cache = getattr(web_app, "_cached_build_middleware", None)
    if cache is not None:
        cache.cache_clear()


def reset_postgres(url: str) -> None:
    """Leave the test database empty, whatever an earlier run left in it."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def drop() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(drop())


def postgres_available(url: str) -> str | None:
    """None if the PostgreSQL test database answers, else why not."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def probe() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(asyncio.wait_for(probe(), 10))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: SQLite in a temp folder, or the PostgreSQL test database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    else:
        problem = postgres_available(PG_URL)
        if problem is not None:
            if os.environ.get("HOTLINE_TEST_POSTGRES_REQUIRED") or os.environ.get("CI"):
                pytest.fail(f"PostgreSQL test database unreachable at {PG_URL}: {problem}")
            pytest.skip(f"PostgreSQL not reachable ({problem}); set HOTLINE_TEST_POSTGRES_URL")
        reset_postgres(PG_URL)
        url = PG_URL
    migrations.upgrade(url)
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    migrations.upgrade(url)
    return url


@dataclass
class RunningHotline:
    system: System
    console: TestServer
    dispatch: DispatchCoreStub

    @property
    def sip_address(self) -> tuple[str, int]:
        return self.system.gateway.address

    def url(self, path: str) -> str:
        return str(self.console.make_url(path))

    async def add_agent(self, agent_id: str, role: str = "agent") -> None:
        await self.system.accounts.add_agent(
            agent_id,
            f"Agent {agent_id}",
            f"pw-{agent_id}-secret",
            f"sip-{agent_id}-secret",
            role,
            datetime.now(UTC),
        )

    async def login(self, http: ClientSession, agent_id: str) -> str:
        async with http.post(
            self.url("/api/login"), json={"agent_id": agent_id, "password": f"pw-{agent_id}-secret"}
        ) as r:
            assert r.status == 200, await r.text()
            return str((await r.json())["token"])


def hotline_config(
    database_url: str, dispatch_url: str, **sections: dict[str, object]
) -> HotlineConfig:
    config = HotlineConfig().replace(
        sip={
            "host": "127.0.0.1",
            "port": 0,
            "trunk_peers": ("127.0.0.1",),
            "realm": "test.hotline",
            "rtp_port_min": 31000,
            "rtp_port_max": 31999,
            "agent_ring_seconds": 10.0,
            "nonce_secret": "test-nonce-secret",
            "drain_seconds": 0.0,
        },
        database={"url": database_url},
        dispatch={"url": dispatch_url, "secret": "test-secret", "max_backoff_seconds": 1.0},
        # 12345 hand-offs are signed with this; cases sent back go to the same stub.
        handoff={
            "secret": "handoff-secret",
            "return_url": dispatch_url.rsplit("/", 1)[0] + "/12345",
        },
        routing={"wrap_up_seconds": 0.5},
        # Rules only unless a test trains a model: a model file in the working directory
        # must not change what the tests see.
        nlp={"model_path": ""},
    )
    return config.replace(**sections) if sections else config


# Stopping a system (draining calls, the last writes, the sender) takes a few seconds; far
# longer is a hang, and the tasks it waits on are what tells why.
STOP_SECONDS = 90.0


async def stop_within(stopping: Awaitable[None], seconds: float) -> None:
    """Await a shutdown; if it hangs, print every task's stack and fail with that."""
    try:
        async with asyncio.timeout(seconds):
            await stopping
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            print(f"--- {task.get_name()}", file=stacks)
            task.print_stack(limit=12, file=stacks)
        pytest.fail(
            f"the system did not stop within {seconds:.0f} s; its tasks:\n{stacks.getvalue()}"
        )


@pytest.fixture
def hotline_overrides() -> dict[str, dict[str, object]]:
    """Config changes for one test: parametrize it, e.g. {"sip": {"agent_ring_seconds": 1}}."""
    return {}


@pytest.fixture
async def hotline(
    database_url: str, hotline_overrides: dict[str, dict[str, object]]
) -> AsyncIterator[RunningHotline]:
    """The whole system (gateway, console, sender) on loopback, with a dispatch core stub."""
    dispatch = DispatchCoreStub()
    dispatch_server = TestServer(dispatch.app(), host="127.0.0.1")
    await dispatch_server.start_server()
    config = hotline_config(
        database_url, str(dispatch_server.make_url("/cases")), **hotline_overrides
    )
    system = build_system(config)
    console = TestServer(system.app, host="127.0.0.1")
    await console.start_server()
    try:
        yield RunningHotline(system, console, dispatch)
    finally:
        await stop_within(console.close(), STOP_SECONDS)
        await dispatch_server.close()
