"""The desk's call buttons on a real call through the running gateway (SIPp caller and SIPp
agent phone echoing what it hears): 保持 puts the caller on music on hold and the agent's
audio no longer reaches the caller; 恢复 bridges again; 静音 stops the agent's audio reaching
the caller while the agent still hears the caller; 挂断 sends BYE to both legs and the call
ends normally, with wrap-up. Only the agent on the call (or a lead) may press them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import AuditRecord, Call, CallEvent
from telephony import g711
from telephony.announcements import PromptLibrary
from telephony.media import FRAME_SAMPLES
from telephony.sdp import PCMA
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import RtpTap, caller_payloads
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PROMPTS = Path(__file__).resolve().parents[2] / "telephony" / "prompts"
# Packets the gateway relayed just before the button took effect may still be on their way.
IN_FLIGHT = 5


def music_frames(codec: int) -> set[bytes]:
    pcm = PromptLibrary.load(PROMPTS).clip("moh")
    encoded = g711.linear_to_alaw(pcm) if codec == PCMA else g711.linear_to_ulaw(pcm)
    return {
        encoded[i : i + FRAME_SAMPLES]
        for i in range(0, len(encoded) - FRAME_SAMPLES, FRAME_SAMPLES)
    }


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)
    assert condition(), what


async def test_hold_mute_and_hang_up_from_the_console_act_on_the_real_call(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("9001", role="lead")
    phone, phone_port, phone_media = await start_agent_phones(tmp_path, 1, "agent_answer.xml")
    caller_media = free_ports(4)
    audio = caller_payloads(60, 8)
    spoken, music = set(audio), music_frames(PCMA)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        stranger = await open_console(hotline, http, "1002")
        lead = await open_console(hotline, http, "9001")
        await console.go_ready()
        with RtpTap({caller_media, phone_media}) as tap:

            def to_caller(start: int = 0) -> list[bytes]:
                return tap.payloads.get(caller_media, [])[start:]

            def to_agent(start: int = 0) -> list[bytes]:
                return tap.payloads.get(phone_media, [])[start:]

            def echoed(start: int) -> int:
                return sum(1 for p in to_caller(start) if p in spoken)

            caller = await start_caller(
                hotline, tmp_path, 1, caller_media, "caller_talks_until_bye.xml", payloads=audio
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            call = offer["call_id"]
            # Bridged: the agent's phone echoes the caller, and the echo reaches the caller.
            await until(lambda: echoed(0) > 10, "the agent's audio reaches the caller")

            status, body = await stranger.post(f"/api/calls/{call}/hold", {})
            assert (status, body["error_id"]) == (403, "forbidden")
            status, body = await console.post("/api/calls/no-such-call/hold", {})
            assert (status, body["error_id"]) == (404, "unknown-call")

            # 保持: music on hold to the caller, nothing of the agent between the music.
            status, body = await console.post(f"/api/calls/{call}/hold", {})
            assert status == 200, body
            held = await console.next_message("call.held")
            assert (held["held"], held["by"]) == (True, "agent")
            mark = len(to_caller())
            await until(lambda: sum(1 for p in to_caller(mark) if p in music) > 25, "music on hold")
            during = to_caller(mark)
            indexes = [i for i, p in enumerate(during) if p in music]
            between = during[indexes[0] : indexes[-1]]
            assert not any(p in spoken for p in between), "agent audio sent while on hold"

            # 恢复: bridged again, the echo comes back.
            status, body = await console.post(f"/api/calls/{call}/resume", {})
            assert status == 200, body
            resumed = await console.next_message("call.held")
            assert resumed["held"] is False
            mark = len(to_caller())
            await until(lambda: echoed(mark) > 10, "the agent is heard again after resume")

            # 静音 (by the shift lead, audited): the agent still hears the caller, the caller
            # no longer hears the agent.
            status, body = await lead.post(f"/api/calls/{call}/mute", {})
            assert status == 200, body
            muted = await console.next_message("call.muted")
            assert muted["muted"] is True
            mark, heard = len(to_caller()), len(to_agent())
            await until(
                lambda: sum(1 for p in to_agent(heard) if p in spoken) > 50,
                "the muted agent still hears the caller",
            )
            assert echoed(mark) <= IN_FLIGHT, echoed(mark)
            status, body = await console.post(f"/api/calls/{call}/unmute", {})
            assert status == 200, body
            mark = len(to_caller())
            await until(lambda: echoed(mark) > 10, "the agent is heard again after unmute")

            # 挂断: both legs get a BYE, the call ends normally and the agent wraps up.
            status, body = await console.post(f"/api/calls/{call}/hangup", {})
            assert status == 200, body
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "agent-hangup"
            wrap = await console.next_message("agent.state")
            assert wrap["state"] == "wrap_up"
            code, output = await caller.wait(60)
            assert code == 0, output  # the caller's scenario ends only on the gateway's BYE
            status, body = await console.post(f"/api/calls/{call}/hangup", {})
            assert (status, body["error_id"]) == (404, "unknown-call")
        for ws in (console.ws, stranger.ws, lead.ws):
            await ws.close()
    phone_code, phone_output = await phone.wait(60)
    assert phone_code == 0, phone_output  # the phone's scenario, too, ends only on a BYE
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        row = await db.get(Call, call)
        assert row is not None and (row.state, row.end_reason) == ("ended", "agent-hangup")
        kinds = (
            await db.scalars(
                select(CallEvent.kind).where(CallEvent.call_id == call).order_by(CallEvent.id)
            )
        ).all()
        audits = (await db.scalars(select(AuditRecord).where(AuditRecord.object_id == call))).all()
    order = ["held", "resumed", "muted", "unmuted", "ended"]
    assert [k for k in kinds if k in order] == order, kinds
    assert [(a.actor_id, a.action) for a in audits] == [("9001", "call.mute")]
