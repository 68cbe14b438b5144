"""The closed loop from a real call: a SIPp citizen call is answered by a SIPp agent phone,
the ticket is forwarded to a real HTTP dispatch core, which posts 派遣, 处置, 结案 back; the
回访 is offered to a ready agent, who presses 回拨: the gateway rings that agent's SIPp phone,
then calls the citizen (SIPp behind the trunk) at the ticket's number; after they talk, the
outcome closes the case (办结), or reopens it (重办).

What the click-to-call itself carries (audio both ways, the recording, refusals) is proven
in tests/e2e/test_click_to_call.py."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.support.core_events import post_event
from tests.support.dialling import start_citizen, traced_messages
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
from tests.support.tones import start_party, tone_payloads

pytestmark = pytest.mark.sipp


@pytest.fixture
def trunk_port() -> int:
    """The outbound proxy: here the citizen's SIPp itself."""
    return free_ports(1)


@pytest.fixture
def hotline_overrides(trunk_port: int) -> dict[str, dict[str, object]]:
    return {"sip": {"outbound_proxy": f"127.0.0.1:{trunk_port}"}}


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


async def visit_by_phone(
    hotline: RunningHotline,
    tmp_path: Path,
    visitor: ConsoleClient,
    number: str,
    trunk_port: int,
) -> None:
    """The offered 回访 by click-to-call: the visitor's phone (1002) rings and answers, the
    citizen is called through the trunk at the ticket's number, they talk, the citizen hangs
    up."""
    phone_port = free_ports(1)
    phone = await start_party(
        "visitor-phone", tmp_path, phone_port, free_ports(4), tone_payloads(1300, 3.0)
    )
    citizen = await start_citizen(
        tmp_path, trunk_port, free_ports(4), tone_payloads(700, 3.0), talk_ms=1500
    )
    await register_phones(hotline, tmp_path, ["1002"], phone_port)
    status, body = await visitor.post(f"/api/tickets/{number}/visit/dial", {})
    assert status == 202, body
    states = [(await visitor.next_message("dial.state"))["state"] for _ in range(4)]
    assert states == ["calling-agent", "calling-citizen", "connected", "ended"]
    assert (await citizen.wait(60))[0] == 0
    assert (await phone.wait(60))[0] == 0
    assert f"INVITE sip:{CALLER_NUMBER}@127.0.0.1:{trunk_port} SIP/2.0" in traced_messages(citizen)


async def round_trip(
    hotline: RunningHotline, http: aiohttp.ClientSession, number: str, kinds: list[str]
) -> None:
    for kind in kinds:
        status, body = await post_event(http, hotline, number, kind, reason=f"{kind} 说明")
        assert status == 200 and body["applied"], body


async def test_a_call_goes_round_to_a_satisfied_visit(
    hotline: RunningHotline, tmp_path: Path, trunk_port: int
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
        await visit_by_phone(hotline, tmp_path, visitor, number, trunk_port)
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
    hotline: RunningHotline, tmp_path: Path, trunk_port: int
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
        await visit_by_phone(hotline, tmp_path, visitor, number, trunk_port)
        status, view = await visitor.post(
            f"/api/tickets/{number}/visit", {"outcome": "unsatisfied", "note": "问题依旧"}
        )
        assert status == 200 and view["state"] == "forwarded" and view["reopened"] == 1
        await hotline.dispatch.wait_until(
            lambda r: any(c.case.get("command") == "reopen" for c in r)
        )
        for console in (taker, lead, visitor):
            await console.ws.close()
