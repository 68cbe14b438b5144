"""A shift lead on a live call through the running gateway (监听 / 密语 / 强插), with SIPp as
the caller, the agent's phone and the lead's phone, each sending its own tone: in each mode
the frames of each party reaching each other party are counted; the mode is switched during
the call; leaving bridges caller and agent straight again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import AuditRecord, CallEvent
from tests.conftest import RunningHotline
from tests.support.peers import ConsoleClient, open_console, register_phones, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import frames_with_tone, start_party, tone_payloads

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CALLER_TONE, AGENT_TONE, LEAD_TONE, QUIET_BIN = 500, 1100, 1700, 2300
HEARD = 25  # half a second of a party's tone
# Frames mixed just before a switch may still be on their way.
IN_FLIGHT = 5


@pytest.fixture
def hotline_overrides() -> dict[str, dict[str, object]]:
    return {"wallboard": {"monitor_shown_to_agent": True}}


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(what) from None


async def monitor_news(client: ConsoleClient, state: str, mode: str = "") -> dict[str, Any]:
    """The next call.monitor message in `state` (and `mode`), skipping earlier steps."""
    while True:
        message = await client.next_message("call.monitor")
        if message["state"] == state and mode in ("", message["mode"]):
            return message


async def test_listen_whisper_barge_and_leave_on_a_real_call(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    agent_port, agent_media = free_ports(1), free_ports(4)
    lead_port, lead_media = free_ports(1), free_ports(4)
    caller_media = free_ports(4)
    agent_phone = await start_party(
        "agent", tmp_path, agent_port, agent_media, tone_payloads(AGENT_TONE, 40.0)
    )
    lead_phone = await start_party(
        "lead", tmp_path, lead_port, lead_media, tone_payloads(LEAD_TONE, 40.0)
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], agent_port)
        console = await open_console(hotline, http, "1001")
        lead = await open_console(hotline, http, "9001")
        await console.go_ready()
        with RtpTap({caller_media, agent_media, lead_media}) as tap:

            def heard(port: int, tone: int, start: int = 0) -> int:
                return frames_with_tone(tap.payloads.get(port, [])[start:], tone, QUIET_BIN)

            def mark() -> dict[int, int]:
                return {p: len(tap.payloads.get(p, [])) for p in (caller_media, agent_media)}

            caller = await start_caller(
                hotline,
                tmp_path,
                1,
                caller_media,
                "caller_talks_until_bye.xml",
                payloads=tone_payloads(CALLER_TONE, 40.0),
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            call = offer["call_id"]
            await until(lambda: heard(caller_media, AGENT_TONE) > HEARD, "caller hears agent")

            # Only leads; a known, connected call; a lead with a registered phone.
            status, body = await console.post(f"/api/calls/{call}/monitor", {"mode": "listen"})
            assert (status, body["error_id"]) == (403, "lead-only")
            status, body = await lead.post("/api/calls/nope/monitor", {"mode": "listen"})
            assert (status, body["error_id"]) == (404, "unknown-call")
            status, body = await lead.post(f"/api/calls/{call}/monitor", {"mode": "spy"})
            assert (status, body["error_id"]) == (400, "invalid-mode")
            status, body = await lead.post(f"/api/calls/{call}/monitor", {"mode": "listen"})
            assert (status, body["error_id"]) == (409, "no-phone")
            await register_phones(hotline, tmp_path, ["9001"], lead_port)

            # 监听: the lead hears both; nobody hears the lead.
            status, body = await lead.post(f"/api/calls/{call}/monitor", {"mode": "listen"})
            assert (status, body["state"], body["agent_id"]) == (202, "ringing", "1001"), body
            await monitor_news(lead, "connected", "listen")
            shown = await monitor_news(console, "connected")  # the centre's policy: shown
            assert (shown["lead_id"], shown["mode"]) == ("9001", "listen")
            await until(
                lambda: (
                    heard(lead_media, CALLER_TONE) > HEARD and heard(lead_media, AGENT_TONE) > HEARD
                ),
                "the listening lead hears caller and agent",
            )
            assert heard(caller_media, LEAD_TONE) == 0
            assert heard(agent_media, LEAD_TONE) == 0
            # Caller and agent still hear each other through the mix.
            before = mark()
            await until(
                lambda: (
                    heard(caller_media, AGENT_TONE, before[caller_media]) > HEARD
                    and heard(agent_media, CALLER_TONE, before[agent_media]) > HEARD
                ),
                "caller and agent hear each other while the lead listens",
            )
            assert heard(caller_media, LEAD_TONE) == 0
            assert heard(agent_media, LEAD_TONE) == 0
            assert heard(lead_media, LEAD_TONE) == 0

            # 密语, switched during the call: the agent hears the lead, the caller does not.
            status, body = await lead.post(f"/api/calls/{call}/monitor", {"mode": "whisper"})
            assert (status, body["state"]) == (202, "connected"), body
            await monitor_news(console, "connected", "whisper")
            before = mark()
            # Each count grows frame by frame and a frame of one stream can land a poll
            # before the other's: all three are waited for, none read once after the wait.
            await until(
                lambda: (
                    heard(agent_media, LEAD_TONE, before[agent_media]) > HEARD
                    and heard(agent_media, CALLER_TONE, before[agent_media]) > HEARD
                    and heard(caller_media, AGENT_TONE, before[caller_media]) > HEARD
                ),
                "the agent hears the whispering lead and the caller; the caller hears the agent",
            )
            assert heard(caller_media, LEAD_TONE) == 0  # never, through listen and whisper

            # 强插: everyone hears everyone.
            status, body = await lead.post(f"/api/calls/{call}/monitor", {"mode": "barge"})
            assert status == 202, body
            before = mark()
            await until(
                lambda: (
                    heard(caller_media, LEAD_TONE, before[caller_media]) > HEARD
                    and heard(agent_media, LEAD_TONE, before[agent_media]) > HEARD
                    and heard(caller_media, AGENT_TONE, before[caller_media]) > HEARD
                ),
                "caller and agent both hear the barging lead",
            )

            # Leaving: the lead's phone gets BYE, caller and agent are bridged straight.
            status, body = await lead.post(f"/api/calls/{call}/monitor", {"mode": "listen"})
            assert status == 202
            async with http.delete(
                hotline.url(f"/api/calls/{call}/monitor"),
                headers={"Authorization": f"Bearer {lead.token}"},
            ) as response:
                assert response.status == 200, await response.text()
            left = await monitor_news(console, "ended")
            assert left["reason"] == "stopped"
            code, output = await lead_phone.wait(30)
            assert code == 0, output  # the lead's scenario ends only on the gateway's BYE
            before = mark()
            await until(
                lambda: heard(caller_media, AGENT_TONE, before[caller_media]) > HEARD,
                "caller and agent talk on after the lead left",
            )
            assert heard(caller_media, LEAD_TONE, before[caller_media]) <= IN_FLIGHT
            async with http.delete(
                hotline.url(f"/api/calls/{call}/monitor"),
                headers={"Authorization": f"Bearer {lead.token}"},
            ) as response:
                assert response.status == 404
                assert (await response.json())["error_id"] == "not-monitoring"

            status, body = await console.post(f"/api/calls/{call}/hangup", {})
            assert status == 200, body
            results = [await run.wait(60) for run in (caller, agent_phone)]
        for ws in (console.ws, lead.ws):
            await ws.close()
    for code, output in results:
        assert code == 0, output
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        audits = (
            await db.scalars(
                select(AuditRecord).where(AuditRecord.object_id == call).order_by(AuditRecord.id)
            )
        ).all()
        kinds = (
            await db.scalars(
                select(CallEvent.kind).where(CallEvent.call_id == call).order_by(CallEvent.id)
            )
        ).all()
    assert [(a.actor_id, a.action, a.detail.get("mode")) for a in audits] == [
        ("9001", "call.monitor", "listen"),
        ("9001", "call.monitor", "whisper"),
        ("9001", "call.monitor", "barge"),
        ("9001", "call.monitor", "listen"),
        ("9001", "call.monitor.stop", None),
    ]
    assert [k for k in kinds if k.startswith("monitor")] == [
        "monitor",
        "monitor",
        "monitor",
        "monitor",
        "monitor-ended",
    ]
