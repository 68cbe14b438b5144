"""The post-call survey (好差评) with real peers: a SIPp agent phone hangs up, the SIPp caller
stays on, hears the question and answers by RFC 4733 or SIP INFO (or not at all, or hangs
up); the outcome is on the call and on the ticket's HTTP view, and the caller gets a BYE."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import Call, CallEvent
from telephony.announcements import PROMPTS_DIR, SILENCE, read_prompt
from telephony.events import CallEnded, SurveyAnswered
from telephony.sdp import PCMA, PCMU
from telephony.survey_rules import SurveyOutcome
from tests.conftest import RunningHotline
from tests.support.event_watch import EventWatch
from tests.support.media_audio import encode, frames, write_keys_pcap
from tests.support.peers import (
    CALLER_NUMBER,
    ConsoleClient,
    open_console,
    register_phones,
    start_agent_phones,
    ticket_form,
)
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import SippRun, free_ports, start_sipp

# Both databases, as the other call paths: SQLite and PostgreSQL.
pytestmark = pytest.mark.sipp

# The agent hangs up this long after answering; the caller presses (or hangs up) 3.5 s later,
# well inside the 13 s question (keys count from its start to `timeout_seconds` after it).
AGENT_TALK_MS = 1500


@pytest.fixture
def hotline_overrides() -> dict[str, dict[str, object]]:
    return {"survey": {"enabled": True, "timeout_seconds": 1.0}}


def prompt_frames(name: str, codec: int) -> set[bytes]:
    """The prompt's 20 ms frames as the caller receives them, silence left out."""
    pcm = read_prompt(PROMPTS_DIR / f"{name}.wav")
    return {encode(frame, codec) for frame in frames(pcm, 320)} - {encode(SILENCE, codec)}


@dataclass
class SurveyCall:
    hotline: RunningHotline
    console: ConsoleClient
    caller: SippRun
    phone: SippRun
    tap: RtpTap
    caller_media: int
    offer: dict[str, Any]

    def heard(self, prompt: str, codec: int = PCMA) -> float:
        """The share of the prompt's distinct frames the caller received."""
        known = prompt_frames(prompt, codec)
        return len(known & set(self.tap.payloads.get(self.caller_media, []))) / len(known)

    async def ticket_view(self, number: str) -> dict[str, Any]:
        # The survey's answer reaches the database on the switchboard's writer task.
        await self.hotline.system.switchboard.synced()
        async with self.console.http.get(
            self.hotline.url(f"/api/tickets/{number}"),
            headers={"Authorization": f"Bearer {self.console.token}"},
        ) as response:
            assert response.status == 200
            return dict(await response.json())

    async def call_row(self) -> tuple[Call, list[CallEvent]]:
        await self.hotline.system.switchboard.synced()
        async with self.hotline.system.sessions() as db:
            call = await db.get(Call, self.offer["call_id"])
            assert call is not None
            query = select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
            events = list((await db.scalars(query)).all())
        return call, events


async def place_call(
    hotline: RunningHotline,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    scenario: str,
    tap: RtpTap,
    caller_media: int,
    extra: list[str],
    caller_ms: int = AGENT_TALK_MS + 3500,
) -> SurveyCall:
    """An agent answers and hangs up after AGENT_TALK_MS; the caller runs `scenario`, its
    -d being `caller_ms` after the answer."""
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, "agent_hangup.xml", extra=["-d", str(AGENT_TALK_MS)]
    )
    await register_phones(hotline, tmp_path, ["1001"], phone_port)
    console = await open_console(hotline, http, "1001")
    await console.go_ready()
    workdir = tmp_path / "caller"
    workdir.mkdir()
    write_keys_pcap(workdir / "survey_key.pcap", "1", PCMA, lead_in_seconds=0)
    caller = await start_sipp(
        "caller",
        scenario,
        cwd=workdir,
        local_port=free_ports(1),
        remote=hotline.sip_address,
        calls=1,
        extra=[
            *("-key", "caller", CALLER_NUMBER),
            *("-key", "codec", str(PCMA), "-key", "codec_name", "PCMA"),
            *("-s", "12319", "-d", str(caller_ms), "-l", "1", "-r", "1"),
            *("-mp", str(caller_media), "-mi", "127.0.0.1"),
            *extra,
        ],
        timeout_s=90,
    )
    offer = await console.next_message("call.offered")
    await console.next_message("call.connected")
    return SurveyCall(hotline, console, caller, phone, tap, caller_media, offer)


async def test_a_key_by_rfc_4733_rates_the_call_on_the_call_and_its_ticket(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    caller_media = free_ports(4)
    async with aiohttp.ClientSession() as http:
        with RtpTap({caller_media}) as tap:
            call = await place_call(
                hotline, http, tmp_path, "caller_survey_keys.xml", tap, caller_media, []
            )
            # The ticket is written while the agent talks; the survey comes after.
            status, ticket = await call.console.post(
                "/api/tickets", ticket_form(call.offer["call_id"], call.offer)
            )
            assert status == 201, ticket
            ended = await call.console.next_message("call.ended")
            assert ended["reason"] == "agent-hangup"  # the agent is free: wrap-up starts
            answered = await watch.first(SurveyAnswered)
            assert (await call.caller.wait(60))[0] == 0  # the caller got the BYE after it
            assert (await call.phone.wait(60))[0] == 0
        await call.console.ws.close()
        view = await call.ticket_view(ticket["number"])
    assert answered.outcome is SurveyOutcome.SATISFIED
    assert (answered.key, answered.via) == ("1", "rfc4733")
    assert [e.reason for e in watch.of(CallEnded)] == ["agent-hangup"]  # ended once
    assert view["survey"] == "satisfied" and view["survey_label"] == "满意"
    row, events = await call.call_row()
    assert row.survey == "satisfied" and row.survey_at is not None
    assert row.end_reason == "agent-hangup" and row.ended_at is not None
    assert row.survey_at >= row.ended_at  # handle time stops at the agent's hang-up
    survey_events = [e for e in events if e.kind == "survey"]
    assert [e.detail for e in survey_events] == [
        {"outcome": "satisfied", "key": "1", "via": "rfc4733"}
    ]
    # The caller heard part of the question (the key cut it short), the whole thanks, the BYE.
    assert 0.1 < call.heard("survey") < 0.9
    assert call.heard("survey_thanks") > 0.9
    assert hotline.system.gateway.surveys.active == 0


@pytest.mark.parametrize(
    ("info_type", "info_body", "outcome"),
    [
        ("application/dtmf-relay", "Signal=2", SurveyOutcome.FAIRLY_SATISFIED),
        ("application/dtmf", "3", SurveyOutcome.UNSATISFIED),
    ],
)
async def test_a_key_by_sip_info_rates_the_call_and_a_later_ticket_takes_it(
    hotline: RunningHotline,
    tmp_path: Path,
    info_type: str,
    info_body: str,
    outcome: SurveyOutcome,
) -> None:
    watch = EventWatch(hotline)
    caller_media = free_ports(4)
    extra = ["-key", "info_type", info_type, "-key", "info_body", info_body]
    async with aiohttp.ClientSession() as http:
        with RtpTap({caller_media}) as tap:
            call = await place_call(
                hotline, http, tmp_path, "caller_survey_info.xml", tap, caller_media, extra
            )
            # An INFO with key 1 came at once, outside a survey: an ordinary key, not an answer.
            ended = await call.console.next_message("call.ended")
            assert ended["reason"] == "agent-hangup"
            answered = await watch.first(SurveyAnswered)
            assert (await call.caller.wait(60))[0] == 0
            assert (await call.phone.wait(60))[0] == 0
        # Written in wrap-up, after the caller answered: the ticket takes the call's rating.
        await hotline.system.switchboard.synced()
        status, ticket = await call.console.post(
            "/api/tickets", ticket_form(call.offer["call_id"], call.offer)
        )
        assert status == 201, ticket
        view = await call.ticket_view(ticket["number"])
        await call.console.ws.close()
    assert answered.outcome is outcome and answered.via == "info"
    assert len(watch.of(SurveyAnswered)) == 1
    assert view["survey"] == outcome.value and view["survey_label"] == outcome.label
    row, _ = await call.call_row()
    assert row.survey == outcome.value
    assert 0.1 < call.heard("survey") < 0.9
    assert call.heard("survey_thanks") > 0.9


async def test_no_key_in_time_is_recorded_as_no_answer(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    caller_media = free_ports(4)
    async with aiohttp.ClientSession() as http:
        with RtpTap({caller_media}) as tap:
            call = await place_call(
                hotline, http, tmp_path, "caller_hears_bye.xml", tap, caller_media, []
            )
            status, ticket = await call.console.post(
                "/api/tickets", ticket_form(call.offer["call_id"], call.offer)
            )
            assert status == 201, ticket
            answered = await watch.first(SurveyAnswered)
            assert (await call.caller.wait(60))[0] == 0  # hung up by the gateway
        view = await call.ticket_view(ticket["number"])
        await call.console.ws.close()
    assert answered.outcome is SurveyOutcome.NO_ANSWER
    assert (answered.key, answered.via) == (None, None)
    assert view["survey"] == "no_answer" and view["survey_label"] == "未评价"
    row, _ = await call.call_row()
    assert row.survey == "no_answer"
    # caller_hears_bye.xml offers PCMU only.
    assert call.heard("survey", PCMU) > 0.9  # the whole question, then the wait, then BYE
    assert call.heard("survey_thanks", PCMU) == 0


async def test_a_caller_hanging_up_during_the_question_leaves_nothing(
    hotline: RunningHotline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = EventWatch(hotline)
    caller_media = free_ports(4)
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        with RtpTap({caller_media}) as tap:
            call = await place_call(
                hotline, http, tmp_path, "caller_leaves_survey.xml", tap, caller_media, []
            )
            ended = await call.console.next_message("call.ended")
            assert ended["reason"] == "agent-hangup"
            assert (await call.caller.wait(60))[0] == 0  # its BYE got 200
            assert (await call.phone.wait(60))[0] == 0
        await call.console.ws.close()
    assert "caller left during the survey" in caplog.messages
    assert call.heard("survey") > 0.05  # the question had begun
    assert watch.of(SurveyAnswered) == []
    assert hotline.system.gateway.surveys.active == 0  # its timer went with it
    row, events = await call.call_row()
    assert row.survey is None and row.end_reason == "agent-hangup"
    assert "survey" not in [e.kind for e in events]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
