"""Tickets, recordings and missed calls are enforced on the server: the taking agent, shift
leads and admins; to anyone else they do not exist."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from hotline.models import Call, MissedCall, Recording
from tests.conftest import RunningHotline
from tests.integration.test_console_api import call

FORM = {
    "hotline": "12319",
    "caller_name": "王女士",
    "phone": "13912345678",
    "address": "锦江区红星路二段18号3栋2单元401",
    "description": "小区门口垃圾堆了三天没人清运，联系电话13912345678",
    "department_code": "SANITATION",
    "urgent": False,
}


async def _saved(http: aiohttp.ClientSession, hotline: RunningHotline, token: str) -> str:
    status, saved = await call(http, hotline, "POST", "/api/tickets", token, FORM)
    assert status == 201, saved
    return str(saved["number"])


async def test_only_the_taking_agent_leads_and_admins_read_a_ticket(
    hotline: RunningHotline,
) -> None:
    for agent_id, role in [("1001", "agent"), ("1002", "agent"), ("9001", "lead")]:
        await hotline.add_agent(agent_id, role)
    await hotline.add_agent("8001", "admin")
    async with aiohttp.ClientSession() as http:
        taker = await hotline.login(http, "1001")
        other = await hotline.login(http, "1002")
        lead = await hotline.login(http, "9001")
        admin = await hotline.login(http, "8001")
        number = await _saved(http, hotline, taker)
        own = await call(http, hotline, "GET", f"/api/tickets/{number}", taker)
        foreign = await call(http, hotline, "GET", f"/api/tickets/{number}", other)
        unknown = await call(http, hotline, "GET", "/api/tickets/12319-20990101-0001", other)
        by_lead = await call(http, hotline, "GET", f"/api/tickets/{number}", lead)
        by_admin = await call(http, hotline, "GET", f"/api/tickets/{number}", admin)
    assert own[0] == 200 and own[1]["phone"] == "13912345678"
    # Someone else's ticket and a ticket that does not exist get the very same answer.
    assert foreign == unknown
    assert foreign[0] == 404 and "13912345678" not in str(foreign[1])
    assert by_lead[0] == 200 and by_lead[1]["address"] == FORM["address"]
    assert by_admin[0] == 200


async def test_repeats_are_masked_summaries(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    async with aiohttp.ClientSession() as http:
        taker = await hotline.login(http, "1001")
        other = await hotline.login(http, "1002")
        number = await _saved(http, hotline, taker)
        query = {"text": "小区门口垃圾堆了三天没人清运", "address": "锦江区红星路二段"}
        status, body = await call(http, hotline, "POST", "/api/tickets/repeats", other, query)
        _, own = await call(http, hotline, "POST", "/api/tickets/repeats", taker, query)
    assert status == 200
    found: dict[str, Any] = next(r for r in body["repeats"] if r["number"] == number)
    text = str(body)
    assert "13912345678" not in text and "王女士" not in text
    assert "18号" not in text and "401" not in text
    assert "139****5678" in found["description"]
    assert found["address"].startswith("锦江区红星路二段") and "*" in found["address"]
    assert "phone" not in found and "caller_name" not in found
    assert found["mine"] is False
    assert next(r for r in own["repeats"] if r["number"] == number)["mine"] is True


async def test_a_recording_is_its_agents_and_a_voicemail_any_agents(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    for agent_id, role in [("1001", "agent"), ("1002", "agent"), ("9001", "lead")]:
        await hotline.add_agent(agent_id, role)
    now = datetime.now(UTC)
    async with hotline.system.sessions.begin() as db:
        for call_id, agent_id, reason in [
            ("talk", "1001", "caller-hangup"),
            ("vm", None, "voicemail"),
        ]:
            wav = tmp_path / f"{call_id}.wav"
            wav.write_bytes(b"RIFF0000WAVE")
            db.add(
                Call(
                    id=call_id,
                    sip_call_id=call_id,
                    dialled="12319",
                    queue="12319",
                    caller="13912345678",
                    state="ended",
                    agent_id=agent_id,
                    codec="PCMA",
                    arrived_at=now,
                    end_reason=reason,
                    rtp_from_caller=0,
                    rtp_to_caller=0,
                )
            )
            await db.flush()
            db.add(Recording(call_id=call_id, path=str(wav), duration_seconds=1.0, recorded_at=now))
    async with aiohttp.ClientSession() as http:
        statuses = {}
        for agent_id in ("1001", "1002", "9001"):
            token = await hotline.login(http, agent_id)
            for call_id in ("talk", "vm", "nothing"):
                headers = {"Authorization": f"Bearer {token}"}
                url = hotline.url(f"/api/calls/{call_id}/recording")
                async with http.get(url, headers=headers) as response:
                    statuses[agent_id, call_id] = response.status
    assert statuses == {
        ("1001", "talk"): 200,
        ("1001", "vm"): 200,
        ("1001", "nothing"): 404,
        ("1002", "talk"): 404,
        ("1002", "vm"): 200,
        ("1002", "nothing"): 404,
        ("9001", "talk"): 200,
        ("9001", "vm"): 200,
        ("9001", "nothing"): 404,
    }


async def test_a_callback_taken_by_one_agent_is_not_anothers(hotline: RunningHotline) -> None:
    for agent_id, role in [("1001", "agent"), ("1002", "agent"), ("9001", "lead")]:
        await hotline.add_agent(agent_id, role)
    now = datetime.now(UTC)
    async with hotline.system.sessions.begin() as db:
        db.add(
            Call(
                id="missed",
                sip_call_id="missed",
                dialled="12319",
                queue="12319",
                caller="13912345678",
                state="ended",
                codec="PCMA",
                arrived_at=now,
                end_reason="caller-hangup",
                rtp_from_caller=0,
                rtp_to_caller=0,
            )
        )
        await db.flush()
        db.add(
            MissedCall(
                call_id="missed",
                kind="abandoned",
                number="13912345678",
                queue="12319",
                missed_at=now,
                status="open",
                updated_at=now,
            )
        )
    async with aiohttp.ClientSession() as http:
        first = await hotline.login(http, "1001")
        second = await hotline.login(http, "1002")
        lead = await hotline.login(http, "9001")
        path = "/api/missed-calls/missed"
        taken = await call(http, hotline, "POST", path, first, {"status": "offered"})
        stolen = await call(http, hotline, "POST", path, second, {"status": "done"})
        _, listed_by_other = await call(http, hotline, "GET", "/api/missed-calls", second)
        _, listed_by_taker = await call(http, hotline, "GET", "/api/missed-calls", first)
        closed_by_lead = await call(http, hotline, "POST", path, lead, {"status": "done"})
    assert taken[0] == 200
    assert stolen[0] == 404 and stolen[1]["error_id"] == "unknown-call"
    assert listed_by_other["missed_calls"][0]["number"] == "139****5678"
    assert listed_by_taker["missed_calls"][0]["number"] == "13912345678"
    assert closed_by_lead[0] == 200
