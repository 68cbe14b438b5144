"""A carrier trunk on SIP over TCP (RFC 3261 §18): the whole call, an agent phone on UDP."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from hotline.models import Call
from tests.conftest import RunningHotline
from tests.support.peers import (
    AUDIO_SECONDS,
    CALLER_NUMBER,
    open_console,
    register_phones,
    start_agent_phones,
    start_caller,
)
from tests.support.rtp_audio import RtpTap, caller_payloads
from tests.support.sipp import free_ports

# Both databases, as for the UDP call in test_call_to_case.py.
pytestmark = pytest.mark.sipp


async def test_a_call_over_tcp_is_answered_bridged_and_hung_up(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, agent_media = await start_agent_phones(tmp_path, calls=1)
    caller_media = free_ports(4)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()

        with RtpTap({caller_media, agent_media}) as tap:
            # SIPp -t t1 speaks only TCP: every request and response of its call (INVITE,
            # 100, 200, ACK, the 200 repeated until the ACK, BYE, 200) is on one connection.
            caller = await start_caller(hotline, tmp_path, 1, caller_media, transport="t1")
            offer = await console.next_message("call.offered")
            assert offer["caller"] == CALLER_NUMBER and offer["hotline"] == "12319"
            connected = await console.next_message("call.connected")
            assert connected["call_id"] == offer["call_id"]
            assert hotline.system.gateway.active_calls == 1
            ended = await console.next_message("call.ended")
            assert ended["call_id"] == offer["call_id"]
            caller_code, caller_out = await caller.wait(60)
            phone_code, phone_out = await phone.wait(60)
        await console.ws.close()

    assert caller_code == 0, caller_out
    assert phone_code == 0, phone_out  # the UDP phone got the gateway's BYE and answered it

    sent = set(caller_payloads(AUDIO_SECONDS, 8))
    assert tap.matching(agent_media, sent) >= len(sent) // 2, tap.received
    assert tap.matching(caller_media, sent) >= len(sent) // 2, tap.received

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
    assert call is not None
    assert (call.state, call.agent_id, call.caller, call.end_reason) == (
        "ended",
        "1001",
        CALLER_NUMBER,
        "caller-hangup",
    )
    assert call.connected_at is not None
    assert call.rtp_from_caller > 0 and call.rtp_to_caller > 0
    assert hotline.system.gateway.active_calls == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_gateways_bye_reaches_a_tcp_caller_on_its_connection(
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
        caller = await start_caller(
            hotline,
            tmp_path,
            1,
            free_ports(4),
            "caller_hears_bye.xml",
            transport="t1",
            extra=["-trace_msg"],
        )
        offer = await console.next_message("call.offered")
        await console.next_message("call.connected")
        ended = await console.next_message("call.ended")
        assert ended["reason"] == "agent-hangup"
        await console.ws.close()
    assert (await phone.wait(60))[0] == 0
    code, output = await caller.wait(60)
    assert code == 0, output  # the caller got the gateway's BYE, which it can only get on TCP
    (trace,) = caller.cwd.glob("*_messages.log")
    bye = trace.read_text(errors="replace").split("BYE sip:", 1)[1].split("\n\n", 1)[0]
    assert "Via: SIP/2.0/TCP " in bye, bye
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
    assert call is not None and call.end_reason == "agent-hangup"
