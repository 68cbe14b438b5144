"""A consulted (attended) transfer from the console on a real call, with SIPp as caller, agent
phone and department, each playing its own tone: while the agent consults, the caller hears
music on hold and neither the agent nor the department; 取回 puts the caller back with the
agent and hangs the department up; a second consultation, then 转接, leaves caller and
department talking and the agent's phone hung up, the agent in wrap-up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import AuditRecord, CallEvent
from telephony import g711
from telephony.announcements import PromptLibrary
from telephony.media import FRAME_SAMPLES
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone, start_party, tone_payloads

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PROMPTS = Path(__file__).resolve().parents[2] / "telephony" / "prompts"
DEPARTMENT = "80010"
CALLER_TONE, AGENT_TONE, DEPARTMENT_TONE, QUIET_BIN = 500, 1100, 1700, 2300
# Packets relayed just before a button took effect may still be on their way.
IN_FLIGHT = 5
# The caller hangs up after this long; the steps below take a few seconds.
CALLER_TALK_MS = 25000


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


def music_frames() -> set[bytes]:
    encoded = g711.linear_to_alaw(PromptLibrary.load(PROMPTS).clip("moh"))
    return {
        encoded[i : i + FRAME_SAMPLES]
        for i in range(0, len(encoded) - FRAME_SAMPLES, FRAME_SAMPLES)
    }


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(what) from None


async def test_the_agent_consults_the_department_takes_the_caller_back_then_hands_over(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("9001", role="lead")
    phone_port, agent_media = free_ports(1), free_ports(4)
    caller_media, department_media = free_ports(4), free_ports(4)
    seconds = CALLER_TALK_MS / 1000 + 5
    agent = await start_party(
        "agent", tmp_path, phone_port, agent_media, tone_payloads(AGENT_TONE, seconds)
    )
    department = await start_party(
        "department-1",
        tmp_path,
        department_port,
        department_media,
        tone_payloads(DEPARTMENT_TONE, seconds),
    )
    music = music_frames()
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        stranger = await open_console(hotline, http, "1002")
        lead = await open_console(hotline, http, "9001")
        await console.go_ready()
        with RtpTap({caller_media, agent_media, department_media}) as tap:
            marks: dict[int, int] = {}

            def mark() -> None:
                for port in (caller_media, agent_media, department_media):
                    marks[port] = len(tap.payloads.get(port, []))

            def heard(port: int, tone: int) -> int:
                since = tap.payloads.get(port, [])[marks.get(port, 0) :]
                return frames_with_tone(since, tone, QUIET_BIN)

            def music_heard() -> int:
                since = tap.payloads.get(caller_media, [])[marks.get(caller_media, 0) :]
                return sum(1 for p in since if p in music)

            caller = await start_caller(
                hotline,
                tmp_path,
                1,
                caller_media,
                talk_ms=CALLER_TALK_MS,
                payloads=tone_payloads(CALLER_TONE, seconds),
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            call = offer["call_id"]
            await until(lambda: heard(caller_media, AGENT_TONE) > 25, "caller hears the agent")
            await until(lambda: heard(agent_media, CALLER_TONE) > 25, "agent hears the caller")

            status, body = await console.post(f"/api/calls/{call}/transfer/complete", {})
            assert (status, body["error_id"]) == (409, "no-consultation")
            status, body = await stranger.post(
                f"/api/calls/{call}/transfer", {"target": DEPARTMENT, "mode": "attended"}
            )
            assert (status, body["error_id"]) == (403, "forbidden")

            # 咨询: the caller waits on music; the agent and the department talk.
            status, body = await console.post(
                f"/api/calls/{call}/transfer", {"target": DEPARTMENT, "mode": "attended"}
            )
            assert status == 202, body
            consulting = await console.next_message("call.consulting")
            assert consulting["target"] == DEPARTMENT
            mark()
            await until(lambda: heard(agent_media, DEPARTMENT_TONE) > 25, "agent hears dept")
            await until(lambda: heard(department_media, AGENT_TONE) > 25, "dept hears agent")
            await until(lambda: music_heard() > 25, "the caller hears music on hold")
            assert heard(caller_media, AGENT_TONE) <= IN_FLIGHT
            assert heard(caller_media, DEPARTMENT_TONE) == 0
            assert heard(department_media, CALLER_TONE) == 0
            assert heard(agent_media, CALLER_TONE) <= IN_FLIGHT
            status, body = await stranger.post(f"/api/calls/{call}/transfer/cancel", {})
            assert (status, body["error_id"]) == (403, "forbidden")

            # 取回 (by the shift lead, audited): the department is hung up, caller and agent
            # hear each other again.
            status, body = await lead.post(f"/api/calls/{call}/transfer/cancel", {})
            assert status == 200, body
            failed = await console.next_message("call.transfer_failed")
            assert (failed["target"], failed["reason"]) == (DEPARTMENT, "cancelled")
            code, output = await department.wait(60)
            assert code == 0, output  # the department got its BYE
            mark()
            await until(lambda: heard(caller_media, AGENT_TONE) > 25, "caller hears agent again")
            await until(lambda: heard(agent_media, CALLER_TONE) > 25, "agent hears caller again")
            assert heard(agent_media, DEPARTMENT_TONE) <= IN_FLIGHT

            # A second consultation, then 转接: caller and department talk, the agent is off.
            department = await start_party(
                "department-2",
                tmp_path,
                department_port,
                department_media,
                tone_payloads(DEPARTMENT_TONE, seconds),
            )
            status, body = await console.post(
                f"/api/calls/{call}/transfer", {"target": DEPARTMENT, "mode": "attended"}
            )
            assert status == 202, body
            await console.next_message("call.consulting")
            mark()
            await until(lambda: heard(agent_media, DEPARTMENT_TONE) > 25, "agent hears dept")
            status, body = await console.post(f"/api/calls/{call}/transfer/complete", {})
            assert status == 200, body
            transferred = await console.next_message("call.transferred")
            assert (transferred["target"], transferred["mode"]) == (DEPARTMENT, "attended")
            assert (await console.next_message("call.ended"))["reason"] == "transferred"
            assert (await console.next_message("agent.state"))["state"] == "wrap_up"
            code, output = await agent.wait(60)
            assert code == 0, output  # the agent's phone got its BYE
            mark()
            await until(lambda: heard(caller_media, DEPARTMENT_TONE) > 25, "caller hears dept")
            await until(lambda: heard(department_media, CALLER_TONE) > 25, "dept hears caller")
            assert heard(caller_media, AGENT_TONE) == 0
            status, body = await console.post(f"/api/calls/{call}/transfer/complete", {})
            assert (status, body["error_id"]) == (403, "forbidden")  # no longer the agent's
            results = [await run.wait(60) for run in (caller, department)]
        for ws in (console.ws, stranger.ws, lead.ws):
            await ws.close()
    for code, output in results:
        assert code == 0, output  # the caller hung up; the department got its BYE

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        events = (
            await db.scalars(
                select(CallEvent).where(CallEvent.call_id == call).order_by(CallEvent.id)
            )
        ).all()
        audits = (await db.scalars(select(AuditRecord).where(AuditRecord.object_id == call))).all()
    steps = ["consulting", "transfer-failed", "transferred"]
    assert [e.kind for e in events if e.kind in steps] == [
        "consulting",
        "transfer-failed",
        "consulting",
        "transferred",
    ]
    transferred_row = next(e for e in events if e.kind == "transferred")
    assert transferred_row.detail == {"target": DEPARTMENT, "mode": "attended"}
    assert [(a.actor_id, a.action) for a in audits] == [("9001", "call.transfer_cancel")]
