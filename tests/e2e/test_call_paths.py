"""Other paths of a call: the agent's phone rejects it, the agent hangs up first."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import Call, CallEvent
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_rejected_offer_goes_back_to_the_queue_and_pauses_the_agent(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    busy, busy_port, _ = await start_agent_phones(tmp_path, 1, "agent_reject.xml")
    good, good_port, _ = await start_agent_phones(tmp_path, 1)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], busy_port)
        await register_phones(hotline, tmp_path, ["1002"], good_port)
        first = await open_console(hotline, http, "1001")
        second = await open_console(hotline, http, "1002")
        await first.go_ready()  # longest idle: offered first
        await second.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4))

        offer = await first.next_message("call.offered")
        missed = await first.next_message("call.missed")
        assert missed["call_id"] == offer["call_id"] and missed["reason"] == "rejected-486"
        paused = await first.next_message("agent.state")
        assert paused["state"] == "paused" and paused["reason"].startswith("missed")

        again = await second.next_message("call.offered")
        assert again["call_id"] == offer["call_id"]
        await second.next_message("call.connected")
        await second.next_message("call.ended")
        for console in (first, second):
            await console.ws.close()
    assert (await caller.wait(60))[0] == 0
    assert (await busy.wait(60))[0] == 0
    assert (await good.wait(60))[0] == 0
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        kinds = (
            await db.scalars(
                select(CallEvent.kind)
                .where(CallEvent.call_id == offer["call_id"])
                .order_by(CallEvent.id)
            )
        ).all()
    assert call is not None and call.agent_id == "1002" and call.state == "ended"
    assert kinds[:3] == ["arrived", "offered", "agent-missed"]
    assert "connected" in kinds and kinds[-1] == "ended"


async def test_agent_hanging_up_ends_the_callers_leg(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, "agent_hangup.xml", extra=["-d", "1500"]
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), "caller_hears_bye.xml")
        offer = await console.next_message("call.offered")
        await console.next_message("call.connected")
        ended = await console.next_message("call.ended")
        assert ended["reason"] == "agent-hangup"
        wrap_up = await console.next_message("agent.state")
        assert wrap_up["state"] == "wrap_up"
        ready = await console.next_message("agent.state")  # wrap-up is 0.5 s in the fixture
        assert ready["state"] == "ready"
        await console.ws.close()
    assert (await phone.wait(60))[0] == 0
    assert (await caller.wait(60))[0] == 0  # the caller got the gateway's BYE and answered it
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
    assert call is not None and call.end_reason == "agent-hangup"


@pytest.mark.parametrize("hotline_overrides", [{"sip": {"agent_ring_seconds": 1.0}}])
async def test_unanswered_phone_is_cancelled_and_the_caller_waits_on(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_no_answer.xml")
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4))
        offer = await console.next_message("call.offered")
        missed = await console.next_message("call.missed")
        assert missed["reason"] == "no-answer"
        paused = await console.next_message("agent.state")
        assert paused["state"] == "paused"
        await console.ws.close()
    assert (await phone.wait(60))[0] == 0  # it got the CANCEL and answered 200 and 487
    assert (await caller.wait(60))[0] == 0  # nobody else was ready: the caller gave up
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        kinds = (
            await db.scalars(select(CallEvent.kind).where(CallEvent.call_id == offer["call_id"]))
        ).all()
    assert call is not None and call.end_reason == "caller-hangup" and call.connected_at is None
    assert "agent-missed" in kinds and "abandoned" in kinds
