"""The roster editor over the console API: leads only, clear 4xx for bad input, audited,
seats applied to routing at once, and the staffing gap read from the call log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import AuditRecord, Call
from routing.roster import Roster
from tests.conftest import RunningHotline

DIALECT_LINES: dict[str, object] = {
    "hotlines": {"12319": "12319", "12320": "粤语"},
    "routing": {"wrap_up_seconds": 0.5, "staffing_weeks": 1},
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("hotline_overrides", [DIALECT_LINES])
async def test_a_lead_edits_the_roster_and_the_gap_follows(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    now = datetime.now(UTC)
    roster = Roster.of_pattern("2x12", [], "Asia/Shanghai")
    day, shift = roster.current(now)  # the shift running now may have started yesterday
    local = now.astimezone(roster.zone)
    today, hour = local.date(), local.hour
    # Last week, same weekday and hour: 30 calls of 300 s (2.5 Erlangs) need at least 3.
    last_week = local.replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    async with hotline.system.sessions.begin() as db:
        db.add_all(
            Call(
                id=str(uuid.uuid4()),
                sip_call_id=f"s{n}",
                dialled="12319",
                queue="12319",
                caller="13800000000",
                state="ended",
                codec="PCMU",
                arrived_at=last_week + timedelta(minutes=n),
            )
            for n in range(30)
        )
    assign: dict[str, Any] = {
        "day": day.isoformat(),
        "shift": shift.name,
        "agent_id": "1001",
        "dialects": ["粤语"],
        "skills": ["12319:3"],
    }
    async with aiohttp.ClientSession() as http:
        agent, lead = [await hotline.login(http, a) for a in ("1001", "9001")]
        post = hotline.url("/api/roster/assignments")
        async with http.post(post, json=assign, headers=bearer(agent)) as r:
            assert r.status == 403
        async with http.get(hotline.url("/api/roster/week"), headers=bearer(agent)) as r:
            assert r.status == 403
        bad = [
            ({**assign, "day": "23/11"}, 400, "invalid-field"),
            ({**assign, "shift": "早班"}, 400, "unknown-shift"),
            ({**assign, "agent_id": "7777"}, 404, "unknown-agent"),
            ({**assign, "role": "boss"}, 400, "invalid-field"),
            ({**assign, "dialects": ["闽南语"]}, 400, "unknown-queue"),
            ({**assign, "skills": ["a;b"]}, 400, "invalid-seat"),
            ({**assign, "skills": "12319"}, 400, "invalid-field"),
        ]
        for body, status, error_id in bad:
            async with http.post(post, json=body, headers=bearer(lead)) as r:
                assert (r.status, (await r.json())["error_id"]) == (status, error_id), body

        gap_url = hotline.url(f"/api/staffing/gap?day={today}")
        async with http.get(gap_url, headers=bearer(lead)) as r:
            before = {h["hour"]: h for h in (await r.json())["hours"]}[hour]
        assert before["calls"] == 30 and before["needed"] >= 3 and before["rostered"] == 0
        assert before["gap"] == -before["needed"]

        async with http.post(post, json=assign, headers=bearer(lead)) as r:
            assert r.status == 201, await r.text()
        async with http.post(post, json=assign, headers=bearer(lead)) as r:
            assert r.status == 200  # the same place again: changed, not added
        async with http.get(gap_url, headers=bearer(lead)) as r:
            after = {h["hour"]: h for h in (await r.json())["hours"]}[hour]
        assert (after["rostered"], after["gap"]) == (1, before["gap"] + 1)

        async with http.get(
            hotline.url(f"/api/roster/week?start={day}"), headers=bearer(lead)
        ) as r:
            week = await r.json()
        assert week["entries"] == [
            {
                "day": day.isoformat(),
                "shift": shift.name,
                "agent_id": "1001",
                "role": "agent",
                "skills": ["12319:3"],
                "dialects": ["粤语"],
            }
        ]
        assert [s["name"] for s in week["shifts"]] == ["白班", "夜班"] and "粤语" in week["queues"]

        async with http.post(
            hotline.url("/api/agents/1001/state"), json={"state": "ready"}, headers=bearer(agent)
        ) as r:
            assert r.status == 200
        status = hotline.system.switchboard.routing.agent("1001")
        assert status.dialects == {"粤语"} and status.skills == {"12319": 3, "粤语": 1}

        gone = hotline.url(f"/api/roster/assignments/{day}/{shift.name}/1001")
        async with http.delete(gone, headers=bearer(lead)) as r:
            assert r.status == 200
        # Off the roster, the seats leave routing at once.
        assert hotline.system.switchboard.routing.agent("1001").dialects == frozenset()
        async with http.delete(gone, headers=bearer(lead)) as r:
            assert (r.status, (await r.json())["error_id"]) == (404, "not-assigned")
        async with http.get(hotline.url("/api/staffing/gap?day=x"), headers=bearer(lead)) as r:
            assert (r.status, (await r.json())["error_id"]) == (400, "invalid-field")
    async with hotline.system.sessions() as db:
        audit = (
            await db.scalars(select(AuditRecord).where(AuditRecord.action.like("roster.%")))
        ).all()
    assert [(a.action, a.actor_id, a.object_id) for a in audit] == [
        ("roster.assign", "9001", "1001"),
        ("roster.assign", "9001", "1001"),
        ("roster.unassign", "9001", "1001"),
    ]
