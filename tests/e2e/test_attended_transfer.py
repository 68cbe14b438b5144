"""Attended transfer from an agent's phone (RFC 5589 §7, RFC 3891), with SIPp as caller,
agent phone and department: the phone holds the caller, consults the department through the
gateway, then REFERs with Replaces; the caller then talks to the department, both ways."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import CallEvent
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone, start_party, tone_payloads

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

DEPARTMENT = "80010"
CALLER_TONE, DEPARTMENT_TONE, QUIET_BIN = 500, 1700, 2300


@pytest.fixture
def department_port() -> int:
    return free_ports(1)


@pytest.fixture
def hotline_overrides(department_port: int) -> dict[str, dict[str, object]]:
    return {
        "sip": {
            "outbound_proxy": f"127.0.0.1:{department_port}",
            "transfer_targets": (f"城管执法={DEPARTMENT}",),
        }
    }


async def test_a_phone_consults_the_department_then_hands_the_caller_over(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path,
        1,
        "agent_attended.xml",
        extra=["-key", "target", DEPARTMENT, "-au", "1001", "-ap", "sip-1001-secret"],
    )
    caller_media, department_media = free_ports(4), free_ports(4)
    department = await start_party(
        "department",
        tmp_path,
        department_port,
        department_media,
        tone_payloads(DEPARTMENT_TONE, 9.0),
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media, department_media}) as tap:
            caller = await start_caller(
                hotline,
                tmp_path,
                1,
                caller_media,
                talk_ms=9000,
                payloads=tone_payloads(CALLER_TONE, 9.0),
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            transferred = await console.next_message("call.transferred")
            assert transferred["target"] == DEPARTMENT and transferred["mode"] == "attended"
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "transferred"
            assert (await console.next_message("agent.state"))["state"] == "wrap_up"
            results = [await run.wait(60) for run in (phone, caller, department)]
        await console.ws.close()
    # The phone got NOTIFY 200 (terminated) and a BYE on each of its dialogs; the department
    # got its BYE when the caller hung up.
    for code, output in results:
        assert code == 0, output

    def heard(port: int, tone: int) -> int:
        return frames_with_tone(tap.payloads.get(port, []), tone, QUIET_BIN)

    # After the transfer the caller and the department hear each other (half a second each).
    assert heard(caller_media, DEPARTMENT_TONE) > 25
    assert heard(department_media, CALLER_TONE) > 25
    assert not hotline.system.gateway.attended._consults  # the consultation is gone

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        events = (
            await db.scalars(select(CallEvent).where(CallEvent.call_id == offer["call_id"]))
        ).all()
    transfer = [e for e in events if e.kind == "transferred"]
    assert len(transfer) == 1
    assert transfer[0].detail == {"target": DEPARTMENT, "mode": "attended"}
    assert transfer[0].agent_id == "1001"
