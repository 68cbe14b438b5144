"""Blind transfer from a real phone: a baresip agent phone answers a SIPp citizen and is told
over ctrl_tcp to `transfer` the call to a department number of `[sip] transfer_targets`; its
REFER goes to the gateway, which calls the department (a SIPp behind the outbound proxy, playing
its own tone) and lets the phone go. Afterwards the citizen and the department hear each
other's tones (found by frequency in the RTP on loopback), the phone's leg is closed, and the
phone hears nothing of the department."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import Call, CallEvent
from tests.conftest import RunningHotline
from tests.interop.baresip import baresip_phone
from tests.support.peers import open_console, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone, start_party, tone_payloads

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

DEPARTMENT = "80010"
CALLER_TONE, PHONE_TONE, DEPARTMENT_TONE, QUIET_BIN = 500, 1100, 1700, 2300
HEARD = 25  # half a second of a tone
TALK_S = 14.0  # the citizen's whole call, transfer included


@pytest.fixture
def department_port() -> int:
    """Where the outbound proxy (here the department's SIPp itself) listens."""
    return free_ports(1)


@pytest.fixture
def hotline_overrides(department_port: int) -> dict[str, dict[str, object]]:
    return {
        "sip": {
            "outbound_proxy": f"127.0.0.1:{department_port}",
            "transfer_targets": (f"城管执法={DEPARTMENT}",),
        }
    }


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for what the tap (filled by its own thread) shows, within `timeout`."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def test_a_baresip_phone_transfers_the_citizen_who_then_talks_to_the_department(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    first = free_ports(4)
    phone_rtp = range(first, first + 4)
    caller_media, department_media = free_ports(4), free_ports(4)
    department = await start_party(
        "department",
        tmp_path,
        department_port,
        department_media,
        tone_payloads(DEPARTMENT_TONE, TALK_S),
    )
    async with aiohttp.ClientSession() as http:
        console = await open_console(hotline, http, "1001")
        async with baresip_phone(
            tmp_path / "baresip",
            "1001",
            "sip-1001-secret",
            hotline.sip_address,
            free_ports(1),
            phone_rtp,
            PHONE_TONE,
            control_port=free_ports(1),
        ) as phone:
            control = phone.control
            assert control is not None
            await console.next_message("phone.registered")
            await console.go_ready()
            with RtpTap({caller_media, department_media, *phone_rtp}) as tap:

                def heard(ports: range | set[int], tone: int) -> int:
                    return sum(
                        frames_with_tone(tap.payloads.get(port, []), tone, QUIET_BIN)
                        for port in ports
                    )

                caller = await start_caller(
                    hotline,
                    tmp_path,
                    1,
                    caller_media,
                    talk_ms=int(TALK_S * 1000),
                    payloads=tone_payloads(CALLER_TONE, TALK_S),
                )
                offer = await console.next_message("call.offered")
                await console.next_message("call.connected")
                await control.event("CALL_ESTABLISHED")
                # Talking with the agent first: each hears the other.
                await until(
                    lambda: (
                        heard({caller_media}, PHONE_TONE) >= HEARD
                        and heard(phone_rtp, CALLER_TONE) >= HEARD
                    )
                )
                assert heard({department_media}, CALLER_TONE) == 0

                mark = len(control.events)
                transferring = await control.command("transfer", DEPARTMENT)
                assert transferring.get("ok"), transferring
                transferred = await console.next_message("call.transferred")
                assert transferred["target"] == DEPARTMENT and transferred["mode"] == "blind"
                ended = await console.next_message("call.ended")
                assert ended["reason"] == "transferred"
                assert (await console.next_message("agent.state"))["state"] == "wrap_up"
                await control.event("CALL_CLOSED", after=mark)  # the phone's leg is gone

                # The citizen and the department hear each other, through the gateway.
                await until(
                    lambda: (
                        heard({caller_media}, DEPARTMENT_TONE) >= HEARD
                        and heard({department_media}, CALLER_TONE) >= HEARD
                    )
                )
                phone_heard_caller = heard(phone_rtp, CALLER_TONE)
                caller_heard_phone = heard({caller_media}, PHONE_TONE)
                department_heard = heard({department_media}, CALLER_TONE)
                # ... and go on talking, without the phone.
                await until(
                    lambda: heard({department_media}, CALLER_TONE) >= department_heard + HEARD
                )
                assert heard(phone_rtp, CALLER_TONE) == phone_heard_caller
                assert heard({caller_media}, PHONE_TONE) == caller_heard_phone

                caller_code, caller_out = await caller.wait(60)
                department_code, department_out = await department.wait(60)
        await console.ws.close()
    assert caller_code == 0, caller_out
    assert department_code == 0, department_out  # the BYE reached it when the citizen hung up
    assert heard(phone_rtp, DEPARTMENT_TONE) == 0  # the department never reached the phone
    assert heard({department_media}, PHONE_TONE) == 0
    log = phone.log.read_text(errors="replace")  # the transfer was the phone's own REFER
    assert "REFER sip:" in log, log
    assert re.search(rf"^Refer-To: <?sip:{DEPARTMENT}@", log, re.MULTILINE), log

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        events = list(
            await db.scalars(
                select(CallEvent)
                .where(CallEvent.call_id == offer["call_id"])
                .where(CallEvent.kind == "transferred")
            )
        )
    assert call is not None and call.end_reason == "caller-hangup"
    assert len(events) == 1 and events[0].detail == {"target": DEPARTMENT, "mode": "blind"}
    assert events[0].agent_id == "1001"
