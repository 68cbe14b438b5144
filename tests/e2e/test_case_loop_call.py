"""The closed loop from a real call: a SIPp citizen call is answered by a SIPp agent phone,
the ticket is forwarded to a real HTTP dispatch core, which posts 派遣, 处置, 结案 back; the
回访 is offered to a ready agent and its outcome closes the case (办结), or reopens it (重办).

The 回访 click-to-call itself (agent's phone, then the citizen, recorded) is proven in
tests/e2e/test_click_to_call.py; here the outcome is recorded after the offer."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.support.core_events import post_event
from tests.support.peers import (
    CALLER_NUMBER,
    ConsoleClient,
    open_console,
    register_phones,
    start_agent_phones,
    start_caller,
    ticket_form,
)
from tests.support.sipp import free_ports

pytestmark = pytest.mark.sipp


async def call_to_ticket(
    hotline: RunningHotline, tmp_path: Path, http: aiohttp.ClientSession
) -> tuple[ConsoleClient, str, str]:
    phone, phone_port, _ = await start_agent_phones(tmp_path, calls=1)
    await register_phones(hotline, tmp_path, ["1001"], phone_port)
    console = await open_console(hotline, http, "1001")
    await console.go_ready()
    caller = await start_caller(hotline, tmp_path, 1, free_ports(4))
    offer = await console.next_message("call.offered")
    await console.next_message("call.connected")
    status, ticket = await console.post("/api/tickets", ticket_form(offer["call_id"], offer))
    assert status == 201, ticket
    await console.next_message("call.ended")
    assert (await caller.wait(60))[0] == 0
    assert (await phone.wait(60))[0] == 0
    # Back from wrap-up, and paused so the 回访 goes to the other agent.
    status, _ = await console.post("/api/agents/1001/state", {"state": "paused"})
    assert status == 200
    return console, str(ticket["number"]), str(offer["call_id"])


async def round_trip(
    hotline: RunningHotline, http: aiohttp.ClientSession, number: str, kinds: list[str]
) -> None:
    for kind in kinds:
        status, body = await post_event(http, hotline, number, kind, reason=f"{kind} 说明")
        assert status == 200 and body["applied"], body


async def test_a_call_goes_round_to_a_satisfied_visit(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    async with aiohttp.ClientSession() as http:
        taker, number, call_id = await call_to_ticket(hotline, tmp_path, http)
        (case,) = await hotline.dispatch.wait_for(1)
        assert case.case["number"] == number and case.case["call_id"] == call_id
        await round_trip(hotline, http, number, ["dispatched", "handling", "handled", "closed"])
        visitor = await open_console(hotline, http, "1002")
        await visitor.go_ready()
        offered = await visitor.next_message("visit.offered")
        assert offered["ticket"] == number
        status, view = await visitor.post(f"/api/tickets/{number}/visit", {"outcome": "satisfied"})
        assert status == 200 and view["state"] == "closed", view
        assert view["phone"] == CALLER_NUMBER and view["call_id"] == call_id
        types = [e["type"] for e in view["events"]]
        assert types[0] == "accepted" and types[-4:] == [
            "handling",
            "handled",
            "closed",
            "visit_satisfied",
        ]
        await taker.ws.close()
        await visitor.ws.close()


async def test_a_call_returned_reassigned_then_unsatisfied_is_reopened(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        taker, number, _ = await call_to_ticket(hotline, tmp_path, http)
        await hotline.dispatch.wait_for(1)
        await post_event(http, hotline, number, "dispatched", department="MUNICIPAL")
        status, _ = await post_event(http, hotline, number, "returned", reason="非本部门职责")
        assert status == 200
        lead = await open_console(hotline, http, "9001")
        status, body = await lead.post(
            f"/api/tickets/{number}/actions",
            {"action": "reassign", "department": "LANDSCAPE", "reason": "绿化带内"},
        )
        assert status == 200 and body["state"] == "forwarded"
        await hotline.dispatch.wait_until(
            lambda r: any(c.case.get("command") == "reassign" for c in r)
        )
        await round_trip(hotline, http, number, ["dispatched", "handled", "closed"])
        visitor = await open_console(hotline, http, "1002")
        await visitor.go_ready()
        await visitor.next_message("visit.offered")
        status, view = await visitor.post(
            f"/api/tickets/{number}/visit", {"outcome": "unsatisfied", "note": "问题依旧"}
        )
        assert status == 200 and view["state"] == "forwarded" and view["reopened"] == 1
        await hotline.dispatch.wait_until(
            lambda r: any(c.case.get("command") == "reopen" for c in r)
        )
        for console in (taker, lead, visitor):
            await console.ws.close()
