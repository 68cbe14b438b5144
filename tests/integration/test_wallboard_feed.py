"""The wallboard over the real websocket and API: snapshot on connect, live updates, alerts
acknowledged and audited, leads only. Calls here are gateway events injected at the
switchboard (unit level); tests/browser/test_wallboard_page.py drives real SIP calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from hotline.audit import AuditLog
from telephony.events import AgentAnswered, CallArrived, CallEnded
from tests.conftest import RunningHotline
from tests.support.peers import ConsoleClient, open_console

pytestmark = pytest.mark.parametrize(
    "hotline_overrides", [{"wallboard": {"wait_alert_seconds": 0.5, "figures_seconds": 0.1}}]
)


def arrive(hotline: RunningHotline, caller: str = "13800138000") -> str:
    call_id = str(uuid.uuid4())
    hotline.system.switchboard.on_telephony_event(
        CallArrived(datetime.now(UTC), call_id, f"sim-{call_id}", caller, "12319", "12319", "PCMU")
    )
    return call_id


async def until(client: ConsoleClient, kind: str, check: Any, timeout: float = 10.0) -> Any:
    """The first pushed message of `kind` for which `check(message)` is true."""
    while True:
        message = await client.next_message(kind, timeout)
        if check(message):
            return message


def queue(message: dict[str, Any], name: str = "12319") -> dict[str, Any]:
    return next(q for q in message["queues"] if q["queue"] == name)


async def test_a_lead_gets_a_snapshot_then_live_changes(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        agent = await open_console(hotline, http, "1001")
        lead = await open_console(hotline, http, "9001")
        snapshot = await lead.next_message("wallboard")
        assert {q["queue"] for q in snapshot["queues"]} == {"12319", "96198"}
        assert {a["agent_id"]: a["state"] for a in snapshot["agents"]} == {
            "1001": "logged_out",
            "9001": "logged_out",
        }
        # Nobody logged in: both queues are unattended, and say so.
        assert {a["kind"] for a in snapshot["alerts"]} == {"no_agent"}

        call_id = arrive(hotline)
        waiting = await until(lead, "wallboard.queues", lambda m: queue(m)["waiting"] == 1)
        assert queue(waiting)["oldest_since"] is not None
        calls = await until(lead, "wallboard.call", lambda m: len(m["calls"]) == 1)
        assert calls["calls"][0]["caller"] == "138****8000"  # masked on the wall screen
        assert calls["calls"][0]["call_id"] == call_id and calls["removed"] == []

        await agent.go_ready()  # the call is offered at once
        offered = await until(
            lead, "wallboard.agents", lambda m: any(a["state"] == "offered" for a in m["agents"])
        )
        assert [a["agent_id"] for a in offered["agents"]] == ["1001"]  # only who changed
        hotline.system.switchboard.on_telephony_event(
            AgentAnswered(datetime.now(UTC), call_id, "1001")
        )
        talking = await until(
            lead, "wallboard.agents", lambda m: m["agents"][0]["state"] == "talking"
        )
        assert talking["agents"][0]["hotline"] == "12319"
        assert talking["agents"][0]["call_connected_at"] is not None
        hotline.system.switchboard.on_telephony_event(
            CallEnded(datetime.now(UTC), call_id, "caller-hangup", 10, 10)
        )
        ended = await until(lead, "wallboard.call", lambda m: m["removed"] == [call_id])
        assert ended["calls"] == []  # only the change travels, not the list
        # Today's figures follow from the call log once the call's record is written.
        answered = await until(
            lead, "wallboard.queues", lambda m: queue(m)["today"]["answered"] == 1
        )
        assert queue(answered)["today"]["answer_rate_in_time"] == 1.0
        assert queue(answered)["last_hour"]["offered"] == 1
        # An agent's websocket gets none of it.
        assert agent.ws.close_code is None
        await agent.ws.close()
        await lead.ws.close()


async def test_an_alert_is_raised_acknowledged_audited_and_cleared(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        lead = await open_console(hotline, http, "9001")
        await lead.next_message("wallboard")
        call_id = arrive(hotline)
        raised = await until(lead, "wallboard.alert", lambda m: m["alert"]["kind"] == "long_wait")
        alert = raised["alert"]
        assert alert["acked_by"] is None and alert["subject"] == "12319"
        agent = await hotline.login(http, "1001")
        refused = await lead_post(http, hotline, agent, f"/api/alerts/{alert['id']}/ack", {})
        assert refused == (403, "lead-only")
        acked = await lead_post(
            http, hotline, lead.token, f"/api/alerts/{alert['id']}/ack", {"note": "已安排"}
        )
        assert acked == (200, None)
        pushed = await until(lead, "wallboard.alert", lambda m: m["alert"]["id"] == alert["id"])
        assert pushed["alert"]["acked_by"] == "9001"
        again = await lead_post(http, hotline, lead.token, f"/api/alerts/{alert['id']}/ack", {})
        assert again == (409, "already-acknowledged")
        unknown = await lead_post(http, hotline, lead.token, "/api/alerts/99999/ack", {})
        assert unknown == (404, "unknown-alert")
        bad = await lead_post(http, hotline, lead.token, "/api/alerts/x/ack", {})
        assert bad == (400, "invalid-field")
        # The caller hangs up: the condition is gone, the alert clears.
        hotline.system.switchboard.on_telephony_event(
            CallEnded(datetime.now(UTC), call_id, "caller-hangup", 0, 0)
        )
        cleared = await until(
            lead,
            "wallboard.alert",
            lambda m: m["alert"]["id"] == alert["id"] and m["alert"]["cleared_at"],
        )
        assert cleared["alert"]["acked_by"] == "9001"
        await lead.ws.close()
    (entry,) = await AuditLog(hotline.system.sessions).entries(action="alert.ack")
    assert (entry.actor_id, entry.object_id, entry.why) == ("9001", str(alert["id"]), "已安排")
    assert entry.detail["alert"] == "long_wait"
    async with aiohttp.ClientSession() as http:
        async with http.get(hotline.url("/metrics")) as response:
            text = await response.text()
    assert 'hotline_alerts_total{kind="long_wait"} 1.0' in text


async def test_the_snapshot_is_for_leads_and_remote_control_is_audited(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    await hotline.add_agent("9100", role="admin")
    async with aiohttp.ClientSession() as http:
        agent, lead, admin = [await hotline.login(http, a) for a in ("1001", "9001", "9100")]
        for token, status in ((agent, 403), (admin, 403), (lead, 200)):
            async with http.get(
                hotline.url("/api/wallboard"), headers={"Authorization": f"Bearer {token}"}
            ) as response:
                assert response.status == status
        ready = await state(http, hotline, agent, "1001", {"state": "ready"})
        assert ready == 200
        by_admin = await state(http, hotline, admin, "1001", {"state": "logged_out"})
        assert by_admin == 403
        bad_reason = await state(http, hotline, lead, "1001", {"state": "paused", "reason": "x"})
        assert bad_reason == 400
        paused = await state(http, hotline, lead, "1001", {"state": "paused", "reason": "培训"})
        out = await state(http, hotline, lead, "1001", {"state": "logged_out", "reason": "下班"})
        assert (paused, out) == (200, 200)
    entries = await AuditLog(hotline.system.sessions).entries(action="agent.state")
    assert [(e.actor_id, e.object_id, e.why, e.detail["state"]) for e in entries] == [
        ("9001", "1001", "下班", "logged_out"),
        ("9001", "1001", "培训", "paused"),
    ]
    assert all(e.at is not None for e in entries)


async def lead_post(
    http: aiohttp.ClientSession, hotline: RunningHotline, token: str, path: str, body: Any
) -> tuple[int, str | None]:
    async with http.post(
        hotline.url(path), json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        data = await response.json()
        return response.status, data.get("error_id")


async def state(
    http: aiohttp.ClientSession, hotline: RunningHotline, token: str, agent: str, body: Any
) -> int:
    async with http.post(
        hotline.url(f"/api/agents/{agent}/state"),
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        return response.status
