"""Graceful shutdown: new calls get 503 while a connected call talks to its end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import Call
from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_a_connected_call_finishes_while_new_calls_are_refused(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    gateway = hotline.system.gateway
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    probe = SipProbe()
    try:
        async with aiohttp.ClientSession() as http:
            await register_phones(hotline, tmp_path, ["1001"], phone_port)
            console = await open_console(hotline, http, "1001")
            await console.go_ready()
            caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=3000)
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            stopping = asyncio.create_task(gateway.stop(drain_seconds=60))
            await probe.send(
                invite(probe, hotline.sip_address, call_id="late"), hotline.sip_address
            )
            answers = [
                status_of(r) for r in await probe.responses_until_sentinel(hotline.sip_address)
            ]
            assert answers == [503]
            assert not stopping.done()  # the connected call is still going
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "caller-hangup"
            await asyncio.wait_for(stopping, 10)
            await console.ws.close()
        assert (await caller.wait(60))[0] == 0
        assert (await phone.wait(60))[0] == 0
    finally:
        probe.close()
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        refused = (await db.scalars(select(Call).where(Call.sip_call_id == "late"))).one()
    assert call is not None and call.end_reason == "caller-hangup"
    # The caller turned away while draining is a call offered and not answered.
    assert refused.end_reason == "refused-draining" and refused.caller == "13900000000"


async def test_a_call_still_connected_at_the_drain_limit_is_hung_up(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(
            hotline, tmp_path, 1, free_ports(4), scenario="caller_hears_bye.xml"
        )
        offer = await console.next_message("call.offered")
        await console.next_message("call.connected")
        await hotline.system.gateway.stop(drain_seconds=0.5)
        await console.ws.close()
    assert (await caller.wait(60))[0] == 0  # the caller got the gateway's BYE
    assert (await phone.wait(60))[0] == 0
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
    assert call is not None and call.end_reason == "shutdown"
