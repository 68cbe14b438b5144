"""The click-to-call API's refusals (SQLite and PostgreSQL): only the agent holding the task
(or a lead) may dial, 403 otherwise; no phone registered, or a dial already running, 409."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from routing import AgentState
from telephony.events import CallArrived, CallbackRequested, CallEnded
from tests.conftest import RunningHotline
from tests.support.sipp import free_ports


@pytest.fixture
def silent_phone() -> Iterator[socket.socket]:
    """Where agent 1001's phone is registered: it receives, and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", free_ports(1)))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def hotline_overrides() -> dict[str, dict[str, object]]:
    # A trunk nobody listens on: these dials never get past the agent's phone.
    return {"sip": {"outbound_proxy": f"127.0.0.1:{free_ports(1)}"}}


async def post(
    http: aiohttp.ClientSession, hotline: RunningHotline, token: str, path: str
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        hotline.url(path), json={}, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.json()


async def test_only_the_holder_dials_a_callback_with_a_phone_and_one_dial_at_a_time(
    hotline: RunningHotline, silent_phone: socket.socket
) -> None:
    for agent in ("1001", "1002"):
        await hotline.add_agent(agent)
    await hotline.add_agent("9001", role="lead")
    switchboard = hotline.system.switchboard
    now = datetime.now(UTC)
    switchboard.on_telephony_event(
        CallArrived(now, "c0", "s0", "13800001111", "12319", "12319", "PCMA")
    )
    switchboard.on_telephony_event(CallbackRequested(now, "c0", "13800001111"))
    switchboard.on_telephony_event(CallEnded(now, "c0", "caller-hangup", 0, 0))
    switchboard.request_state("1001", AgentState.READY)
    assert switchboard.routing.agent_for_call("c0") == "1001"
    await switchboard.synced()
    async with aiohttp.ClientSession() as http:
        agent, other, lead = [await hotline.login(http, a) for a in ("1001", "1002", "9001")]
        status, body = await post(http, hotline, agent, "/api/callbacks/no-such-call/dial")
        assert (status, body["error_id"]) == (404, "unknown-call")
        status, body = await post(http, hotline, other, "/api/callbacks/c0/dial")
        assert (status, body["error_id"]) == (403, "not-your-callback")
        status, body = await post(http, hotline, agent, "/api/callbacks/c0/dial")
        assert (status, body["error_id"]) == (409, "no-phone")
        assert "未注册" in body["message"]
        status, body = await post(http, hotline, lead, "/api/callbacks/c0/dial")
        assert (status, body["error_id"]) == (409, "no-phone")  # the lead's own phone

        phone = f"sip:1001@127.0.0.1:{silent_phone.getsockname()[1]}"
        loop = asyncio.get_running_loop()
        hotline.system.gateway.registrar.register(
            "1001", phone, silent_phone.getsockname(), 3600, loop.time()
        )
        status, body = await post(http, hotline, agent, "/api/callbacks/c0/dial")
        assert status == 202 and body["task"] == "callback" and body["ref"] == "c0", body
        async with asyncio.timeout(10):
            invite = await loop.sock_recv(silent_phone, 65535)
        assert invite.startswith(b"INVITE sip:1001@")
        # The phone shows the citizen's number it is about to call.
        assert b'From: "13800001111" <sip:13800001111@' in invite
        status, body = await post(http, hotline, agent, "/api/callbacks/c0/dial")
        assert (status, body["error_id"]) == (409, "dial-in-progress")


async def test_a_visit_is_dialled_only_by_its_holder_or_a_lead(hotline: RunningHotline) -> None:
    from tests.support.dialling import case_awaiting_visit
    from tests.support.peers import open_console

    await hotline.add_agent("1003")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        number, visitor = await case_awaiting_visit(hotline, http, "1002")
        other = await hotline.login(http, "1003")
        lead = await open_console(hotline, http, "9001")
        # Another agent does not even see the case.
        status, body = await post(http, hotline, other, f"/api/tickets/{number}/visit/dial")
        assert (status, body["error_id"]) == (404, "unknown-ticket")
        # The agent who took the case sees it, but the 回访 is not theirs.
        taker = await hotline.login(http, "1001")
        status, body = await post(http, hotline, taker, f"/api/tickets/{number}/visit/dial")
        assert (status, body["error_id"]) == (403, "not-your-visit")
        status, body = await post(http, hotline, visitor.token, f"/api/tickets/{number}/visit/dial")
        assert (status, body["error_id"]) == (409, "no-phone")
        status, body = await post(http, hotline, lead.token, f"/api/tickets/{number}/visit/dial")
        assert (status, body["error_id"]) == (409, "no-phone")
        status, body = await post(http, hotline, visitor.token, "/api/tickets/12319-0/visit/dial")
        assert (status, body["error_id"]) == (404, "unknown-ticket")
        await visitor.ws.close()
        await lead.ws.close()
