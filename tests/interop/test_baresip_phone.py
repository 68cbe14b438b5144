"""baresip as the agent's phone, over UDP and over TCP: it registers with the gateway by
digest; a SIPp citizen's call through the trunk reaches it the way it registered (a TCP phone
on its connection); it answers, and both hear each other: the tone the citizen sends reaches
the phone, the phone's own tone reaches the citizen (found by frequency in the RTP on
loopback, not only counted)."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.interop.baresip import baresip_phone
from tests.support.peers import open_console, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone, tone_payloads

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CALLER_TONE, PHONE_TONE, QUIET_BIN = 500, 1100, 2300


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_baresip_phone_takes_a_call_with_audio_both_ways(
    hotline: RunningHotline, tmp_path: Path, transport: str
) -> None:
    await hotline.add_agent("1001")
    first = free_ports(4)
    phone_rtp = range(first, first + 4)  # RTP and RTCP of the one call, with room
    caller_media = free_ports(4)
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
            transport,
        ) as phone:
            registered = await console.next_message("phone.registered")
            assert registered["expires"] > 0, phone.log.read_text()
            await console.go_ready()
            with RtpTap({caller_media, *phone_rtp}) as tap:
                caller = await start_caller(
                    hotline,
                    tmp_path,
                    1,
                    caller_media,
                    payloads=tone_payloads(CALLER_TONE, 4.0),
                    talk_ms=4000,
                )
                await console.next_message("call.offered")
                await console.next_message("call.connected")
                await console.next_message("call.ended")
                code, output = await caller.wait(60)
        await console.ws.close()
    assert code == 0, output

    def heard(ports: list[int], tone: int) -> int:
        return sum(frames_with_tone(tap.payloads.get(p, []), tone, QUIET_BIN) for p in ports)

    assert heard([caller_media], PHONE_TONE) > 25, tap.received
    assert heard(list(phone_rtp), CALLER_TONE) > 25, tap.received
    assert heard(list(phone_rtp), PHONE_TONE) == 0  # nobody hears themselves
    # The call reached the phone the way it registered: a TCP phone on its connection.
    trace = phone.log.read_text(errors="replace")
    arrived = re.search(r"(?m)^(UDP|TCP) \S+ -> \S+\s*\nINVITE sip:", trace)
    assert arrived is not None and arrived.group(1) == transport.upper(), trace[-3000:]
