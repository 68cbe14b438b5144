"""Hold and resume from a real phone: a baresip agent phone answers a SIPp citizen, is told
over ctrl_tcp to `hold` (its re-INVITE says sendonly) and to `resume`; the citizen hears music
on hold meanwhile (frame for frame from the clip, in the RTP on loopback) and the phone's tone
before and after; the console is told both moments and the call's log keeps them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import CallEvent
from telephony import g711
from telephony.announcements import PromptLibrary
from telephony.media import FRAME_SAMPLES
from telephony.sdp import PCMU
from tests.conftest import RunningHotline
from tests.interop.baresip import baresip_phone
from tests.support.peers import open_console, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PROMPTS = Path(__file__).resolve().parents[2] / "telephony" / "prompts"
PHONE_TONE, QUIET_BIN = 1100, 2300
HEARD = 25  # half a second


def music_frames() -> set[bytes]:
    encoded = g711.linear_to_ulaw(PromptLibrary.load(PROMPTS).clip("moh"))  # the caller's PCMU
    return {
        encoded[i : i + FRAME_SAMPLES]
        for i in range(0, len(encoded) - FRAME_SAMPLES, FRAME_SAMPLES)
    }


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for what the tap (filled by its own thread) shows, within `timeout`."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def test_a_baresip_phone_holds_and_resumes_and_the_caller_hears_music_meanwhile(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    first = free_ports(4)
    phone_rtp = range(first, first + 4)
    caller_media = free_ports(4)
    music = music_frames()
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
            with RtpTap({caller_media}) as tap:

                def tone() -> int:
                    return frames_with_tone(
                        tap.payloads.get(caller_media, []), PHONE_TONE, QUIET_BIN, PCMU
                    )

                def moh() -> int:
                    return tap.matching(caller_media, music)

                caller = await start_caller(
                    hotline, tmp_path, 1, caller_media, "caller_hears_bye.xml"
                )
                offer = await console.next_message("call.offered")
                await console.next_message("call.connected")
                await control.event("CALL_ESTABLISHED")
                await until(lambda: tone() >= HEARD)  # talking: the phone's voice
                assert moh() == 0

                assert (await control.command("hold")).get("ok")
                held = await console.next_message("call.held")
                assert (held["held"], held["by"]) == (True, "agent")
                await until(lambda: moh() >= HEARD)  # on hold: music, not the phone

                assert (await control.command("resume")).get("ok")
                resumed = await console.next_message("call.held")
                assert (resumed["held"], resumed["by"]) == (False, "agent")
                talking_again = tone()
                await until(lambda: tone() >= talking_again + HEARD)  # the phone's voice again

                assert (await control.command("hangup")).get("ok")
                ended = await console.next_message("call.ended")
                code, output = await caller.wait(60)
        await console.ws.close()
    assert code == 0, output
    assert ended["reason"] == "agent-hangup"
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        kinds = list(
            await db.scalars(
                select(CallEvent.kind)
                .where(CallEvent.call_id == offer["call_id"])
                .where(CallEvent.kind.in_(["held", "resumed"]))
                .order_by(CallEvent.id)
            )
        )
    assert kinds == ["held", "resumed"]
