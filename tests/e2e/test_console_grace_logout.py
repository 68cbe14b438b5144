"""Console presence through the running system: an agent whose console is closed and does
not come back within [console] presence_grace_seconds is logged out (audited, the lead's
console told) and a real SIPp call is not offered to them; a quick reconnect keeps the
agent's state and the calls coming."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from agent_console.ws import presence_key
from hotline.models import AuditRecord
from routing import AgentState
from tests.conftest import RunningHotline
from tests.support.peers import open_console, start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("hotline_overrides", [{"console": {"presence_grace_seconds": 0.5}}])
async def test_an_agent_whose_console_is_gone_is_logged_out_and_offered_no_call(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    switchboard = hotline.system.switchboard
    async with aiohttp.ClientSession() as http:
        lead = await open_console(hotline, http, "9001")
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        await console.ws.close()  # the browser is closed; nothing reconnects
        async with asyncio.timeout(20):
            while True:
                message = await lead.next_message("agent.state")
                if message["agent_id"] == "1001" and message["state"] != "ready":
                    break
        assert message["state"] == "logged_out", message
        assert message["reason"].startswith("console gone")
        assert switchboard.routing.agent("1001").state is AgentState.LOGGED_OUT

        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=3000)
        async with asyncio.timeout(20):
            while not switchboard.calls:
                await asyncio.sleep(0.05)
        (call_id,) = switchboard.calls
        assert switchboard.routing.position(call_id) == 1  # waiting: nobody to offer it to
        assert switchboard.routing.agent_for_call(call_id) is None
        code, output = await caller.wait(60)
        assert code == 0, output

        again = await open_console(hotline, http, "1001")
        await lead.ws.close()
        await again.ws.close()
    async with hotline.system.sessions() as db:
        audits = (
            await db.scalars(select(AuditRecord).where(AuditRecord.action == "agent.logout"))
        ).all()
    assert [(a.actor_id, a.object_id) for a in audits] == [("system", "1001")]


@pytest.mark.parametrize("hotline_overrides", [{"console": {"presence_grace_seconds": 30.0}}])
async def test_a_quick_reconnect_keeps_the_state_and_the_calls(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        await console.ws.close()  # a network blip
        again = await open_console(hotline, http, "1001")
        presence = hotline.system.app[presence_key]
        assert presence.presence.pending() == {}  # the logout was called off
        assert hotline.system.switchboard.routing.agent("1001").state is AgentState.READY
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=2000)
        offered = await again.next_message("call.offered")
        assert offered["hotline"] == "12319"
        await caller.wait(60)
        await again.ws.close()
