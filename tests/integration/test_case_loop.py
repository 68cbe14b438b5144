"""The closed loop over real HTTP on SQLite and PostgreSQL: a ticket is forwarded to a real
HTTP dispatch core, which posts its status events back; 回访 is offered to a ready agent over
the websocket; 退单 → 改派, 不满意 → 重办; bad events change nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from dispatch.sender import sign_body
from tests.conftest import RunningHotline
from tests.support.core_events import SECRET, post_event, post_raw
from tests.support.peers import ConsoleClient, open_console

FORM = {
    "hotline": "12319",
    "caller_name": "张先生",
    "phone": "13800138000",
    "address": "幸福路12号",
    "description": "小区门口井盖缺失，晚上很危险",
    "department_code": "MUNICIPAL",
    "category_code": "01001",
}


async def wait_for(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `probe` (an async callable) until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.05)


async def ticket_json(client: ConsoleClient, number: str) -> tuple[int, dict[str, Any]]:
    async with client.http.get(
        client.hotline.url(f"/api/tickets/{number}"),
        headers={"Authorization": f"Bearer {client.token}"},
    ) as response:
        return response.status, await response.json()


async def forwarded_ticket(hotline: RunningHotline, agent: ConsoleClient) -> str:
    status, ticket = await agent.post("/api/tickets", FORM)
    assert status == 201, ticket
    number = str(ticket["number"])

    async def forwarded() -> bool:
        return (await ticket_json(agent, number))[1]["state"] == "forwarded"

    await wait_for(forwarded)
    return number


async def setup(hotline: RunningHotline, http: aiohttp.ClientSession) -> tuple[ConsoleClient, ...]:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("9001", role="lead")
    return (
        await open_console(hotline, http, "1001"),
        await open_console(hotline, http, "1002"),
        await open_console(hotline, http, "9001"),
    )


async def test_core_events_close_the_loop_and_the_visit_is_offered_and_recorded(
    hotline: RunningHotline,
) -> None:
    async with aiohttp.ClientSession() as http:
        agent, other, lead = await setup(hotline, http)
        number = await forwarded_ticket(hotline, agent)
        case = hotline.dispatch.received[0].case
        assert case["number"] == number and case["deadline"]
        for kind, extra in [
            ("dispatched", {"department": "MUNICIPAL"}),
            ("handling", {}),
            ("handled", {"reason": "已补装井盖"}),
            ("closed", {}),
        ]:
            status, body = await post_event(http, hotline, number, kind, **extra)
            assert (status, body["applied"]) == (200, True), body
            pushed = await agent.next_message("case.updated")
            while pushed["event"] == "forwarded":  # the sender's acknowledgement came first
                pushed = await agent.next_message("case.updated")
            assert (pushed["ticket"], pushed["event"]) == (number, kind)
        status, view = await ticket_json(agent, number)
        assert view["state"] == "callback" and view["overdue"] is False
        assert [e["type"] for e in view["events"]] == [
            "accepted",
            "forwarded",
            "dispatched",
            "handling",
            "handled",
            "closed",
        ]
        assert view["events"][4]["reason"] == "已补装井盖"
        assert view["events"][2]["by"] == "core:MUNICIPAL"
        # A ready agent is offered the 回访 as a work item.
        await other.go_ready()
        offered = await other.next_message("visit.offered", timeout=30)
        assert offered["ticket"] == number
        # Only the agent holding the visit (or a lead) records its outcome.
        status, body = await agent.post(f"/api/tickets/{number}/visit", {"outcome": "satisfied"})
        assert (status, body["error_id"]) == (403, "not-your-visit")
        status, body = await other.post(f"/api/tickets/{number}/visit", {"outcome": "satisfied"})
        assert status == 200, body
        assert body["state"] == "closed" and body["satisfaction"] == "visit_satisfied"
        assert body["events"][-1]["by"] == "1002"
        # The task is over: the agent passes through talking into wrap-up.
        states = [(await other.next_message("agent.state"))["state"] for _ in range(2)]
        assert states == ["talking", "wrap_up"]
        await lead.ws.close()


async def test_returned_then_reassigned_and_unsatisfied_reopens(
    hotline: RunningHotline,
) -> None:
    async with aiohttp.ClientSession() as http:
        agent, other, lead = await setup(hotline, http)
        number = await forwarded_ticket(hotline, agent)
        await post_event(http, hotline, number, "dispatched", department="MUNICIPAL")
        status, _ = await post_event(http, hotline, number, "returned", reason="不属于本部门")
        assert status == 200
        reminder = await lead.next_message("case.reminder")
        assert reminder["event"] == "returned"
        # An agent may not 改派; a lead may, and the core is told through the outbox.
        status, body = await agent.post(
            f"/api/tickets/{number}/actions", {"action": "reassign", "department": "LANDSCAPE"}
        )
        assert (status, body["error_id"]) == (403, "lead-only")
        status, body = await lead.post(
            f"/api/tickets/{number}/actions",
            {"action": "reassign", "department": "LANDSCAPE", "reason": "绿化带内井盖"},
        )
        assert status == 200 and body["state"] == "forwarded", body
        await hotline.dispatch.wait_until(lambda r: any(c.case.get("command") for c in r))
        (command,) = hotline.dispatch.commands("reassign")
        assert command["ticket"] == number and command["department"] == "LANDSCAPE"
        for kind in ("dispatched", "handled", "closed"):
            assert (await post_event(http, hotline, number, kind))[0] == 200
        await other.go_ready()
        await other.next_message("visit.offered")
        status, body = await other.post(
            f"/api/tickets/{number}/visit", {"outcome": "unsatisfied", "note": "井盖仍松动"}
        )
        assert status == 200 and body["state"] == "forwarded" and body["reopened"] == 1
        await hotline.dispatch.wait_until(
            lambda r: any(c.case.get("command") == "reopen" for c in r)
        )
        assert [e["type"] for e in body["events"]][-2:] == ["closed", "visit_unsatisfied"]


async def test_bad_status_events_get_a_stable_error_and_change_nothing(
    hotline: RunningHotline,
) -> None:
    async with aiohttp.ClientSession() as http:
        agent, _, _ = await setup(hotline, http)
        number = await forwarded_ticket(hotline, agent)
        before = (await ticket_json(agent, number))[1]["events"]
        body = json.dumps(
            {"event_id": "e1", "ticket": number, "type": "dispatched", "at": "2026-06-08T10:00Z"}
        ).encode()
        cases = [
            (body, None, "application/json", 401, "bad-signature"),
            (body, "sha256=" + "0" * 64, "application/json", 401, "bad-signature"),
            (body, sign_body(SECRET, body), "text/plain", 415, "json-required"),
            (
                b"{not json",
                sign_body(SECRET, b"{not json"),
                "application/json",
                400,
                "invalid-json",
            ),
            (
                b"x" * 20000,
                sign_body(SECRET, b"x" * 20000),
                "application/json",
                413,
                "body-too-large",
            ),
        ]
        for raw, signature, content_type, status, error_id in cases:
            got = await post_raw(http, hotline, raw, signature, content_type)
            assert (got[0], got[1]["error_id"]) == (status, error_id), (status, got)
        unknown = await post_event(http, hotline, "12319-20260101-9999", "dispatched")
        assert (unknown[0], unknown[1]["error_id"]) == (404, "unknown-ticket")
        impossible = await post_event(http, hotline, number, "closed")
        assert (impossible[0], impossible[1]["error_id"]) == (409, "transition-not-allowed")
        assert "forwarded" in impossible[1]["message"]
        bad_date = await post_event(http, hotline, number, "dispatched", at="yesterday")
        assert (bad_date[0], bad_date[1]["field"]) == (400, "at")
        bad_type = await post_event(http, hotline, number, "teleported")
        assert (bad_type[0], bad_type[1]["field"]) == (400, "type")
        assert (await ticket_json(agent, number))[1]["events"] == before
        # The same event id twice: applied once.
        first = await post_event(http, hotline, number, "dispatched", event_id="core-42")
        again = await post_event(http, hotline, number, "dispatched", event_id="core-42")
        assert first == (200, {**first[1], "applied": True, "duplicate": False})
        assert again[0] == 200 and again[1]["duplicate"] is True and again[1]["applied"] is False
        events = (await ticket_json(agent, number))[1]["events"]
        assert [e["type"] for e in events].count("dispatched") == 1
        # Older than the core's last event: out of order.
        late = await post_event(http, hotline, number, "handling", at="2020-01-01T00:00:00+08:00")
        assert (late[0], late[1]["error_id"]) == (409, "out-of-order")


async def test_refused_commands_become_dead_letters_leads_see(
    hotline: RunningHotline,
) -> None:
    hotline.dispatch.refuse_commands = 422
    async with aiohttp.ClientSession() as http:
        agent, _, lead = await setup(hotline, http)
        number = await forwarded_ticket(hotline, agent)
        await post_event(http, hotline, number, "dispatched")
        await post_event(http, hotline, number, "returned", reason="职责不清")
        status, _ = await lead.post(
            f"/api/tickets/{number}/actions",
            {"action": "reject", "reason": "不属于城管受理范围"},
        )
        assert status == 200

        async def dead() -> list[dict[str, Any]]:
            async with http.get(
                hotline.url("/api/dead-letters"), headers={"Authorization": f"Bearer {lead.token}"}
            ) as response:
                assert response.status == 200
                return list((await response.json())["dead_letters"])

        (letter,) = await wait_for(dead)
        assert letter["command"] == "reject" and letter["ticket"] == number
        assert letter["error"].startswith("HTTP 422") and letter["attempts"] == 1
        async with http.get(
            hotline.url("/api/dead-letters"), headers={"Authorization": f"Bearer {agent.token}"}
        ) as response:
            assert response.status == 403
        # Not retried for ever: one attempt, nothing pending.
        assert await hotline.system.sender.pending_count() == 0
        hotline.dispatch.refuse_commands = None
        status, _ = await lead.post(f"/api/dead-letters/{letter['id']}/retry", {})
        assert status == 200
        await hotline.dispatch.wait_until(lambda r: len([c for c in r if "command" in c.case]) >= 2)
        assert await wait_for(lambda: _empty(dead))


async def _empty(dead: Callable[[], Any]) -> bool:
    return not await dead()


async def test_confidential_case_hides_the_caller(hotline: RunningHotline) -> None:
    async with aiohttp.ClientSession() as http:
        agent, other, lead = await setup(hotline, http)
        status, ticket = await agent.post("/api/tickets", {**FORM, "confidential": True})
        assert status == 201
        number = ticket["number"]
        (received,) = await hotline.dispatch.wait_for(1)
        assert received.case["phone"] == "" and received.case["caller_name"] == ""
        assert received.case["confidential"] is True
        assert (await ticket_json(agent, number))[0] == 200
        assert (await ticket_json(lead, number))[0] == 200
        status, body = await ticket_json(other, number)
        assert (status, body["error_id"]) == (404, "unknown-ticket")
        async with http.get(
            hotline.url("/api/tickets?phone=13800138000"),
            headers={"Authorization": f"Bearer {other.token}"},
        ) as response:
            assert (await response.json())["tickets"] == []
        async with http.get(
            hotline.url("/api/tickets?phone=13800138000"),
            headers={"Authorization": f"Bearer {agent.token}"},
        ) as response:
            (mine,) = (await response.json())["tickets"]
        assert mine["number"] == number and mine["phone"] == "138****8000"
        assert mine["address"] == "幸福路**号"


HANDOFF = {
    "external_number": "12345-2026-000123",
    "caller_name": "王女士",
    "phone": "13700001234",
    "address": "人民路8号",
    "description": "12345转来：路边垃圾多日未清运",
    "department_code": "SANITATION",
}


async def test_a_12345_handoff_becomes_a_ticket_once_and_can_be_sent_back(
    hotline: RunningHotline,
) -> None:
    secret = "handoff-secret"  # tests.conftest.hotline_config's [handoff] secret
    async with aiohttp.ClientSession() as http:
        agent, _, lead = await setup(hotline, http)
        body = json.dumps(HANDOFF, ensure_ascii=False).encode()
        refused = await post_raw(
            http, hotline, body, sign_body("wrong", body), path="/api/handoff/12345"
        )
        assert (refused[0], refused[1]["error_id"]) == (401, "bad-signature")
        created = await post_raw(
            http, hotline, body, sign_body(secret, body), path="/api/handoff/12345"
        )
        assert created[0] == 201 and created[1]["duplicate"] is False, created
        again = await post_raw(
            http, hotline, body, sign_body(secret, body), path="/api/handoff/12345"
        )
        assert again == (200, {**created[1], "duplicate": True})
        number = created[1]["number"]
        status, view = await ticket_json(lead, number)
        assert view["source"] == "12345" and view["external_number"] == HANDOFF["external_number"]
        # A case of the 12319 line cannot be sent back to 12345; this one can.
        status, own = await agent.post("/api/tickets", FORM)
        status, body_own = await lead.post(
            f"/api/tickets/{own['number']}/actions", {"action": "send_back", "reason": "x"}
        )
        assert (status, body_own["error_id"]) == (409, "not-from-12345")
        status, sent = await lead.post(
            f"/api/tickets/{number}/actions",
            {"action": "send_back", "reason": "属于住建部门职责，退回12345"},
        )
        assert status == 200 and sent["state"] == "sent_back", sent
        received = await hotline.dispatch.wait_until(
            lambda r: any(c.case.get("command") == "send_back" for c in r)
        )
        back = next(c for c in received if c.case.get("command") == "send_back")
        assert back.case["external_number"] == HANDOFF["external_number"]
        assert back.signature == sign_body(secret, back.body)
        # The core had the case but had not dispatched it: it is told to withdraw it.
        await hotline.dispatch.wait_until(
            lambda r: any(c.case.get("command") == "withdraw" for c in r)
        )


async def test_a_voicemail_draft_is_completed_into_a_case_and_forwarded(
    hotline: RunningHotline,
) -> None:
    from datetime import UTC, datetime

    from telephony.events import VoicemailLeft

    switchboard = hotline.system.switchboard
    switchboard.on_telephony_event(
        VoicemailLeft(
            datetime.now(UTC), "vm-1", "13912345678", "12319", "12319", "after-hours", "/x.wav", 9.5
        )
    )
    await switchboard.synced()
    async with aiohttp.ClientSession() as http:
        agent, _, _ = await setup(hotline, http)
        async with http.get(
            hotline.url("/api/voicemails"), headers={"Authorization": f"Bearer {agent.token}"}
        ) as response:
            (draft,) = (await response.json())["voicemails"]
        number = draft["number"]
        assert (await ticket_json(agent, number))[0] == 404  # a draft is no case yet
        form = {**FORM, "phone": "13912345678", "description": "留言：路灯不亮三天了"}
        status, case = await agent.post(f"/api/voicemails/{number}/complete", form)
        assert status == 201, case
        assert case["state"] == "accepted" and case["source"] == "voicemail"
        assert case["call_id"] == "vm-1" and case["created_by"] == "1001"
        (received,) = await hotline.dispatch.wait_for(1)
        assert received.idempotency_key == number
        assert received.case["description"] == "留言：路灯不亮三天了"
        again = await agent.post(f"/api/voicemails/{number}/complete", form)
        assert (again[0], again[1]["error_id"]) == (409, "not-a-draft")
        missing = await agent.post(f"/api/voicemails/{number}/complete", {"phone": "1"})
        assert missing[0] == 400
