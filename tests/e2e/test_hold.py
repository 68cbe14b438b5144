"""Hold and resume from an agent's phone (SIPp), through the running gateway: the re-INVITE
with a=sendonly is answered a=recvonly, the citizen hears music on hold meanwhile (found in
the RTP on loopback), a=sendrecv resumes, the agent's console is told, and the call's log
has both moments."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import Call, CallEvent
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
            ended = await console.next_message("call.ended")
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
        call = await db.get(Call, offer["call_id"])
    assert kinds.index("held") < kinds.index("resumed") < kinds.index("ended")
    # The phone pauses 1.5 s between its hold and its resume re-INVITEs: at least that long on
    # hold, and less than the whole connected call.
    assert call is not None and call.hold_count == 1
    assert call.connected_at is not None and call.ended_at is not None
    connected = (call.ended_at - call.connected_at).total_seconds()
    assert 1.5 <= call.hold_seconds < connected, (call.hold_seconds, connected)
    assert ended["hold_count"] == 1 and ended["hold_seconds"] == call.hold_seconds


async def test_a_call_ended_while_held_is_on_hold_until_its_end(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_hold_until_bye.xml")
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=3000)
        offer = await console.next_message("call.offered")
        assert (await console.next_message("call.held"))["held"] is True
        ended = await console.next_message("call.ended")
        code, output = await caller.wait(60)
        await console.ws.close()
    assert code == 0, output
    phone_code, phone_output = await phone.wait(60)
    assert phone_code == 0, phone_output
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        held_at = (
            await db.scalars(
                select(CallEvent.at).where(
                    CallEvent.call_id == offer["call_id"], CallEvent.kind == "held"
                )
            )
        ).one()
    assert call is not None and call.ended_at is not None and call.hold_count == 1
    # Still held at the hang-up: on hold from the held event to the end, exactly.
    assert call.hold_seconds == pytest.approx((call.ended_at - held_at).total_seconds(), abs=0.01)
    assert call.hold_seconds > 0
    assert ended["hold_seconds"] == call.hold_seconds
