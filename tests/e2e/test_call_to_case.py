"""End to end on the real parts: SIPp phones and trunk, websocket console, dispatch core stub."""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from dispatch.sender import sign_body
from hotline.models import Call
from tests.conftest import RunningHotline
from tests.support.peers import (
    AUDIO_SECONDS,
    CALLER_NUMBER,
    ConsoleClient,
    open_console,
    register_phones,
    start_agent_phones,
    start_caller,
    ticket_form,
)
from tests.support.rtp_audio import RtpTap, caller_payloads
from tests.support.sipp import free_ports

# The whole path runs on both databases: SQLite (embedded default) and PostgreSQL (production).
pytestmark = pytest.mark.sipp


async def test_a_call_becomes_a_forwarded_case(hotline: RunningHotline, tmp_path: Path) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, agent_media = await start_agent_phones(tmp_path, calls=1)
    caller_media = free_ports(4)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()

        with RtpTap({caller_media, agent_media}) as tap:
            caller = await start_caller(hotline, tmp_path, 1, caller_media)
            offer = await console.next_message("call.offered")
            assert offer["caller"] == CALLER_NUMBER
            assert offer["hotline"] == "12319"
            connected = await console.next_message("call.connected")
            assert connected["call_id"] == offer["call_id"]

            status, ticket = await console.post(
                "/api/tickets", ticket_form(offer["call_id"], offer)
            )
            assert status == 201, ticket
            assert ticket["number"].startswith("12319-")

            ended = await console.next_message("call.ended")
            assert ended["call_id"] == offer["call_id"]
            caller_code, caller_out = await caller.wait(60)
            phone_code, phone_out = await phone.wait(60)
        await console.ws.close()

    assert caller_code == 0, caller_out
    assert phone_code == 0, phone_out  # the agent phone got the gateway's BYE and answered it

    sent = set(caller_payloads(AUDIO_SECONDS, 8))
    # Caller audio reached the agent phone through the gateway ...
    assert tap.matching(agent_media, sent) >= len(sent) // 2, tap.received
    # ... and the agent phone's echo came back to the caller through the gateway.
    assert tap.matching(caller_media, sent) >= len(sent) // 2, tap.received
    # The caller heard the greeting before the agent answered (not only the echo).
    assert tap.received[caller_media] > tap.matching(caller_media, sent)

    cases = await hotline.dispatch.wait_for(1)
    assert cases[0].idempotency_key == ticket["number"]
    assert hmac.compare_digest(cases[0].signature, sign_body("test-secret", cases[0].body))
    assert cases[0].case["phone"] == CALLER_NUMBER
    assert cases[0].case["call_id"] == offer["call_id"]

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
    assert call is not None
    assert (call.state, call.agent_id, call.dialled, call.caller) == (
        "ended",
        "1001",
        "12319",
        CALLER_NUMBER,
    )
    assert call.end_reason == "caller-hangup"
    assert call.rtp_from_caller > 0 and call.rtp_to_caller > 0
    assert hotline.system.gateway.active_calls == 0


async def test_twenty_calls_at_once(hotline: RunningHotline, tmp_path: Path) -> None:
    agents = [str(1001 + i) for i in range(20)]
    for agent in agents:
        await hotline.add_agent(agent)
    phone, phone_port, _ = await start_agent_phones(tmp_path, calls=20)
    caller_media = free_ports(4)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, agents, phone_port)
        consoles = [await open_console(hotline, http, agent) for agent in agents]
        for console in consoles:
            await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 20, caller_media)

        async def take_call(console: ConsoleClient, n: int) -> str:
            offer = await console.next_message("call.offered", timeout=60)
            assert offer["caller"] == CALLER_NUMBER
            await console.next_message("call.connected", timeout=60)
            status, ticket = await console.post(
                "/api/tickets", ticket_form(offer["call_id"], offer, n)
            )
            assert status == 201, ticket
            await console.next_message("call.ended", timeout=60)
            return str(ticket["number"])

        numbers = await asyncio.gather(*(take_call(c, n) for n, c in enumerate(consoles)))
        caller_code, caller_out = await caller.wait(90)
        phone_code, phone_out = await phone.wait(90)
        for console in consoles:
            await console.ws.close()

    assert caller_code == 0, caller_out
    assert phone_code == 0, phone_out
    assert len(set(numbers)) == 20
    cases = await hotline.dispatch.wait_for(20)
    assert {case.idempotency_key for case in cases} >= set(numbers)
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        calls = (await db.scalars(select(Call))).all()
    assert len(calls) == 20
    assert {call.agent_id for call in calls} == set(agents)
    assert all(
        call.state == "ended" and call.rtp_from_caller > 0 and call.rtp_to_caller > 0
        for call in calls
    )
