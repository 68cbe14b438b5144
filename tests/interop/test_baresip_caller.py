"""baresip as the citizen: a real softphone dials 12319 through the gateway's trunk side (the
trunk peer is 127.0.0.1), a baresip agent phone answers, each hears the other's tone (found
by frequency in the RTP on loopback), and the citizen hangs up from the softphone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from hotline.models import Call
from tests.conftest import RunningHotline
from tests.interop.baresip import baresip_caller, baresip_phone
from tests.support.peers import CALLER_NUMBER, open_console
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CITIZEN_TONE, PHONE_TONE, QUIET_BIN = 700, 1300, 2300
HEARD = 50  # one second of a tone


def ports(count: int) -> range:
    first = free_ports(count)
    return range(first, first + count)


async def test_a_baresip_citizen_calls_the_hotline_and_talks_to_a_baresip_agent_phone(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    citizen_rtp, phone_rtp = ports(4), ports(4)
    host, port = hotline.sip_address
    async with aiohttp.ClientSession() as http:
        console = await open_console(hotline, http, "1001")
        async with (
            baresip_phone(
                tmp_path / "phone",
                "1001",
                "sip-1001-secret",
                hotline.sip_address,
                free_ports(1),
                phone_rtp,
                PHONE_TONE,
            ) as phone,
            baresip_caller(
                tmp_path / "citizen",
                CALLER_NUMBER,
                free_ports(1),
                citizen_rtp,
                CITIZEN_TONE,
                free_ports(1),
            ) as citizen,
        ):
            registered = await console.next_message("phone.registered")
            assert registered["expires"] > 0, phone.log.read_text()
            await console.go_ready()
            control = citizen.control
            assert control is not None
            with RtpTap({*citizen_rtp, *phone_rtp}) as tap:

                def heard(at: range, tone: int) -> int:
                    return sum(
                        frames_with_tone(tap.payloads.get(p, []), tone, QUIET_BIN) for p in at
                    )

                dialled = await control.command("dial", f"sip:12319@{host}:{port}")
                assert dialled.get("ok"), dialled
                offer = await console.next_message("call.offered")
                await console.next_message("call.connected")
                await control.event("CALL_ESTABLISHED")

                async def both_heard() -> None:
                    while (
                        heard(citizen_rtp, PHONE_TONE) < HEARD
                        or heard(phone_rtp, CITIZEN_TONE) < HEARD
                    ):
                        await asyncio.sleep(0.1)  # the tap fills from its own thread

                await asyncio.wait_for(both_heard(), 30)
                hung_up = await control.command("hangup")
                assert hung_up.get("ok"), hung_up
                ended = await console.next_message("call.ended")
                await control.event("CALL_CLOSED")
            await console.ws.close()
    assert ended["reason"] == "caller-hangup"
    assert heard(phone_rtp, PHONE_TONE) == 0 and heard(citizen_rtp, CITIZEN_TONE) == 0
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        row = await db.get(Call, offer["call_id"])
    assert row is not None and row.caller == CALLER_NUMBER and row.dialled == "12319"
    assert row.connected_at is not None and row.agent_id == "1001"
    assert row.end_reason == "caller-hangup" and row.codec in ("PCMA", "PCMU")
