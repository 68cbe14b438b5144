"""Console websockets end with their session and cannot be used to flood the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts import Accounts
from hotline.db import create_engine, session_factory
from tests.conftest import RunningHotline

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DEADLINE = 20.0  # seconds any close is waited for; it comes much sooner


@asynccontextmanager
async def console_socket(
    http: aiohttp.ClientSession, hotline: RunningHotline, token: str
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.ws_connect(hotline.url("/ws"), headers=headers) as ws:
        hello = await ws.receive_json(timeout=DEADLINE)
        assert hello["type"] == "hello"
        yield ws


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the server closes the socket; its close code."""
    while True:
        message = await ws.receive(timeout=DEADLINE)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return ws.close_code


async def test_logout_closes_the_sessions_websockets_with_1008(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with console_socket(http, hotline, token) as ws:
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(hotline.url("/api/logout"), headers=headers) as response:
                assert response.status == 200
            assert await closed_with(ws) == 1008


@pytest.mark.parametrize("hotline_overrides", [{"console": {"session_hours": 0.001}}])
async def test_an_expired_session_closes_its_websocket_with_1008(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with console_socket(http, hotline, token) as ws:
            assert await closed_with(ws) == 1008
        async with http.get(
            hotline.url("/api/me"), headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 401


@pytest.mark.parametrize("hotline_overrides", [{"console": {"session_idle_minutes": 0.05}}])
async def test_an_idle_session_closes_its_websocket_however_many_pings(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with console_socket(http, hotline, token) as ws:
            await ws.send_str("ping")  # pings keep the socket, not the session, alive
            assert (await ws.receive_json(timeout=DEADLINE))["type"] == "pong"
            assert await closed_with(ws) == 1008


async def test_a_message_over_64_kb_closes_the_socket(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with console_socket(http, hotline, token) as ws:
            await ws.send_str("x" * (1024 * 1024))
            assert await closed_with(ws) == 1009


async def test_a_ping_flood_closes_the_socket_with_1008(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with console_socket(http, hotline, token) as ws:
            for _ in range(200):
                if ws.closed:
                    break
                await ws.send_str("ping")
            assert await closed_with(ws) == 1008


async def test_a_session_holds_at_most_four_websockets(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            console_socket(http, hotline, token),
            console_socket(http, hotline, token),
            console_socket(http, hotline, token),
            console_socket(http, hotline, token),
        ):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(hotline.url("/ws"), headers=headers)
            assert refused.value.status == 429
            other = await hotline.login(http, "1001")  # another login is another session
            async with console_socket(http, hotline, other):
                pass
        # Closed sockets give their places back.
        async with console_socket(http, hotline, token):
            pass


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_use_keeps_a_session_alive_and_idleness_ends_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    accounts = Accounts(sessions, "test", session_hours=12, idle_minutes=10)
    start = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    await accounts.add_agent("1001", "A", "password-1", "sip-pass-1", "agent", start)
    token, principal = await accounts.login("1001", "password-1", start)
    assert await accounts.session_ends_at(principal.session_key) == start + timedelta(minutes=10)
    for minutes in (8, 16, 24):  # each use within 10 minutes of the last
        assert await accounts.principal(token, start + timedelta(minutes=minutes)) is not None
    last_use = start + timedelta(minutes=24)
    assert await accounts.session_ends_at(principal.session_key) == last_use + timedelta(minutes=10)
    assert await accounts.principal(token, last_use + timedelta(minutes=11)) is None
    # The absolute limit holds however busy the session is.
    busy = Accounts(sessions, "test", session_hours=1, idle_minutes=10)
    token, _ = await busy.login("1001", "password-1", start)
    for minutes in range(5, 60, 5):
        assert await busy.principal(token, start + timedelta(minutes=minutes)) is not None
    assert await busy.principal(token, start + timedelta(minutes=61)) is None
