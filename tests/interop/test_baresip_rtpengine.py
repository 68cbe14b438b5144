"""A three-way call under rtpengine with baresip as the agent's phone: the console adds a
department (SIPp behind the outbound proxy, playing its own tone) to a citizen's call whose
media runs through a real rtpengine. The gateway moves baresip's media to itself with a
re-INVITE (telephony/media_home.py) and takes the caller's side back from rtpengine; then each
party hears the other two (tones found by frequency in the RTP on loopback)."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_rtpengine_media import Rtpengine, rtpengine
from tests.interop.baresip import baresip_phone
from tests.support.peers import open_console, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone, start_party, tone_payloads

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

__all__ = ["rtpengine"]

DEPARTMENT = "80010"
CALLER_TONE, PHONE_TONE, DEPARTMENT_TONE, QUIET_BIN = 500, 1100, 1700, 2300
HEARD = 25  # half a second of a tone


@pytest.fixture
def department_port() -> int:
    return free_ports(1)


@pytest.fixture
def hotline_overrides(rtpengine: Rtpengine, department_port: int) -> dict[str, dict[str, object]]:
    host, port = rtpengine.ng
    return {
        "media": {"engine": "rtpengine", "rtpengine": f"{host}:{port}"},
        "sip": {
            "outbound_proxy": f"127.0.0.1:{department_port}",
            "transfer_targets": (f"城管执法={DEPARTMENT}",),
        },
    }


async def test_a_three_way_call_under_rtpengine_moves_a_baresip_phones_media_by_reinvite(
    hotline: RunningHotline, rtpengine: Rtpengine, tmp_path: Path, department_port: int
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
        tone_payloads(DEPARTMENT_TONE, 10.0),
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
            "udp",
        ) as phone:
            await console.next_message("phone.registered")
            await console.go_ready()
            with RtpTap({caller_media, department_media, *phone_rtp}) as tap:
                caller = await start_caller(
                    hotline,
                    tmp_path,
                    1,
                    caller_media,
                    payloads=tone_payloads(CALLER_TONE, 10.0),
                    talk_ms=10000,
                )
                offer = await console.next_message("call.offered")
                await console.next_message("call.connected")
                status, body = await console.post(
                    f"/api/calls/{offer['call_id']}/transfer",
                    {"target": DEPARTMENT, "mode": "three_way"},
                )
                assert status == 202, body
                transferred = await console.next_message("call.transferred")
                assert transferred["mode"] == "three_way"
                await console.next_message("call.ended")
                code, output = await caller.wait(60)
                department_code, department_output = await department.wait(60)
            trace = phone.log.read_text(errors="replace")
        await console.ws.close()
    assert code == 0, output
    assert department_code == 0, department_output

    def heard(ports: list[int], tone: int) -> int:
        return sum(frames_with_tone(tap.payloads.get(p, []), tone, QUIET_BIN) for p in ports)

    phone_ports = list(phone_rtp)
    assert heard([caller_media], PHONE_TONE) > HEARD, tap.received
    assert heard([caller_media], DEPARTMENT_TONE) > HEARD, tap.received
    assert heard(phone_ports, CALLER_TONE) > HEARD and heard(phone_ports, DEPARTMENT_TONE) > HEARD
    assert heard([department_media], CALLER_TONE) > HEARD
    assert heard([department_media], PHONE_TONE) > HEARD
    # baresip took the gateway's re-INVITE (a second INVITE in its trace, answered 200).
    assert len(re.findall(r"(?m)^INVITE sip:", trace)) == 2, trace[-3000:]
