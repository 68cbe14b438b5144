"""Hold and resume from an agent's phone (SIPp), through the running gateway: the re-INVITE
with a=sendonly is answered a=recvonly, the citizen hears music on hold meanwhile (found in
the RTP on loopback), a=sendrecv resumes, the agent's console is told, and the call's log
has both moments."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import CallEvent
from telephony import g711
from telephony.announcements import PromptLibrary
from telephony.media import FRAME_SAMPLES
from telephony.sdp import PCMA
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PROMPTS = Path(__file__).resolve().parents[2] / "telephony" / "prompts"


def music_frames(codec: int) -> set[bytes]:
    pcm = PromptLibrary.load(PROMPTS).clip("moh")
    encoded = g711.linear_to_alaw(pcm) if codec == PCMA else g711.linear_to_ulaw(pcm)
    return {
        encoded[i : i + FRAME_SAMPLES]
        for i in range(0, len(encoded) - FRAME_SAMPLES, FRAME_SAMPLES)
    }


async def test_an_agent_holds_and_resumes_and_the_caller_hears_music_meanwhile(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_hold.xml")
    caller_media = free_ports(4)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media}) as tap:
            caller = await start_caller(hotline, tmp_path, 1, caller_media, talk_ms=5000)
            offer = await console.next_message("call.offered")
            held = await console.next_message("call.held")
            assert (held["held"], held["by"]) == (True, "agent")
            resumed = await console.next_message("call.held")
            assert (resumed["held"], resumed["by"]) == (False, "agent")
            await console.next_message("call.ended")
            code, output = await caller.wait(60)
        await console.ws.close()
    assert code == 0, output
    phone_code, phone_output = await phone.wait(60)
    assert phone_code == 0, phone_output  # both answers said what they must (recvonly, sendrecv)
    # The caller offers PCMA: music on hold reached it, frame for frame from the clip.
    assert tap.matching(caller_media, music_frames(PCMA)) > 25, tap.received
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        kinds = (
            await db.scalars(
                select(CallEvent.kind)
                .where(CallEvent.call_id == offer["call_id"])
                .order_by(CallEvent.id)
            )
        ).all()
    assert kinds.index("held") < kinds.index("resumed") < kinds.index("ended")
