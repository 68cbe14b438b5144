"""A restart forgets no phone: a SIPp phone registers, the hotline stops and a new process-worth
of parts is built on the same database, and the next call rings that phone without it
registering again (phones refresh as seldom as once an hour)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.models import Call
from hotline.wiring import build_system
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_a_phone_registered_before_a_restart_gets_the_next_call(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    await register_phones(hotline, tmp_path, ["1001"], phone_port)
    await hotline.system.switchboard.synced()
    await hotline.console.close()  # stops gateway, switchboard and sender: the old process ends

    system = build_system(hotline.system.config)
    console = TestServer(system.app, host="127.0.0.1")
    await console.start_server()
    restarted = RunningHotline(system, console, hotline.dispatch)
    try:
        async with aiohttp.ClientSession() as http:
            agent = await open_console(restarted, http, "1001")
            await agent.go_ready()
            caller = await start_caller(restarted, tmp_path, 1, free_ports(4))
            offer = await agent.next_message("call.offered")
            await agent.next_message("call.connected")
            await agent.next_message("call.ended")
            await agent.ws.close()
        assert (await caller.wait(60))[0] == 0
        assert (await phone.wait(60))[0] == 0  # the phone took the call it never re-registered for
        await system.switchboard.synced()
        async with system.sessions() as db:
            call = (await db.scalars(select(Call).where(Call.id == offer["call_id"]))).one()
        assert call.agent_id == "1001" and call.state == "ended"
    finally:
        await console.close()
