"""漏话回拨 with real peers: a SIPp caller hangs up waiting in the queue; the entry is a
call-back task (offered by routing in its place, or taken from the list); the press rings the
agent's SIPp phone, then the citizen's SIPp behind the trunk at the caller's own number; the
outcome is recorded on the entry, and every console sees the list change with the number
masked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent_console.dial_api import dial_api_key
from hotline.models import MissedCall, OutboundCall
from tests.conftest import RunningHotline
from tests.support.dialling import start_citizen, traced_messages
from tests.support.peers import (
    CALLER_NUMBER,
    ConsoleClient,
    open_console,
    start_agent_phones,
    start_caller,
)
from tests.support.peers import register_phones as register
from tests.support.sipp import free_ports, start_sipp
from tests.support.tones import start_party, tone_payloads

pytestmark = pytest.mark.sipp


@pytest.fixture
def trunk_port() -> int:
    return free_ports(1)


@pytest.fixture
def hotline_overrides(trunk_port: int, tmp_path: Path) -> dict[str, dict[str, object]]:
    return {
        "sip": {"outbound_proxy": f"127.0.0.1:{trunk_port}"},
        "media": {"recordings_dir": str(tmp_path / "recordings")},
        "routing": {"call_back_abandoned": True, "wrap_up_seconds": 30.0},
    }


async def abandon(hotline: RunningHotline, tmp: Path, observer: ConsoleClient) -> dict[str, Any]:
    """A caller waits with nobody ready and hangs up; the entry every console is told of."""
    caller = await start_caller(hotline, tmp, 1, free_ports(4), talk_ms=1500)
    assert (await caller.wait(60))[0] == 0
    changed = await observer.next_message("missed.changed")
    return dict(changed["missed_call"])


async def states(console: ConsoleClient, count: int) -> list[str]:
    return [str((await console.next_message("dial.state"))["state"]) for _ in range(count)]


async def entry(hotline: RunningHotline, call_id: str, status: str) -> MissedCall:
    async with asyncio.timeout(20):
        while True:
            await hotline.system.switchboard.synced()
            async with hotline.system.sessions() as db:
                row = await db.get(MissedCall, call_id)
            if row is not None and row.status == status:
                return row
            await asyncio.sleep(0.05)  # the dial's end is applied on the writer task


async def outbound(hotline: RunningHotline, dial_id: str) -> OutboundCall:
    await hotline.system.app[dial_api_key].dials.synced()
    async with hotline.system.sessions() as db:
        row = await db.get(OutboundCall, dial_id)
    assert row is not None
    return row


async def listed(console: ConsoleClient, call_id: str) -> dict[str, Any]:
    async with console.http.get(
        console.hotline.url("/api/missed-calls"),
        headers={"Authorization": f"Bearer {console.token}"},
    ) as response:
        assert response.status == 200
        rows = (await response.json())["missed_calls"]
    return next(dict(r) for r in rows if r["call_id"] == call_id)


async def test_an_abandoned_caller_offered_by_routing_is_called_back_and_closed(
    hotline: RunningHotline, tmp_path: Path, trunk_port: int
) -> None:
    for agent in ("1002", "1003"):
        await hotline.add_agent(agent)
    phone_port = free_ports(1)
    phone = await start_party("agent", tmp_path, phone_port, free_ports(4), tone_payloads(900, 4))
    citizen = await start_citizen(
        tmp_path, trunk_port, free_ports(4), tone_payloads(700, 4), talk_ms=2000
    )
    async with aiohttp.ClientSession() as http:
        await register(hotline, tmp_path, ["1002"], phone_port)
        agent = await open_console(hotline, http, "1002")
        observer = await open_console(hotline, http, "1003")
        missed = await abandon(hotline, tmp_path, observer)
        call_id = str(missed["call_id"])
        assert (missed["kind"], missed["status"]) == ("abandoned", "open")
        assert missed["number"] != CALLER_NUMBER and missed["number"].endswith("8000")

        await agent.go_ready()
        offered = await agent.next_message("callback.offered")
        assert (offered["call_id"], offered["number"]) == (call_id, CALLER_NUMBER)
        status, body = await agent.post(f"/api/callbacks/{call_id}/dial", {})
        assert status == 202, body
        talking = await agent.next_message("agent.state")
        assert talking["state"] == "talking"
        assert await states(agent, 4) == ["calling-agent", "calling-citizen", "connected", "ended"]
        wrap_up = await agent.next_message("agent.state")
        assert wrap_up["state"] == "wrap_up"
        assert (await citizen.wait(60))[0] == 0
        assert (await phone.wait(60))[0] == 0
        # The trunk was asked for the caller's own number.
        assert f"INVITE sip:{CALLER_NUMBER}@127.0.0.1:{trunk_port} SIP/2.0" in traced_messages(
            citizen
        )
        row = await entry(hotline, call_id, "done")
        assert row.agent_id == "1002"
        done = await observer.next_message("missed.changed")
        while done["missed_call"]["status"] != "done":
            done = await observer.next_message("missed.changed")
        assert done["missed_call"]["number"] != CALLER_NUMBER
        dial = await outbound(hotline, str(body["dial_id"]))
        assert (dial.task, dial.task_ref, dial.outcome) == ("callback", call_id, "talked")
        for console in (agent, observer):
            await console.ws.close()


async def test_an_entry_taken_from_the_list_is_one_agents_and_a_refusal_leaves_it_open(
    hotline: RunningHotline, tmp_path: Path, trunk_port: int
) -> None:
    for agent in ("1002", "1003"):
        await hotline.add_agent(agent)
    phone_port = free_ports(1)
    phone = await start_party("agent", tmp_path, phone_port, free_ports(4), tone_payloads(900, 4))
    citizen = await start_sipp(
        "citizen", "agent_reject.xml", cwd=tmp_path / "citizen", local_port=trunk_port
    )
    async with aiohttp.ClientSession() as http:
        await register(hotline, tmp_path, ["1002"], phone_port)
        agent = await open_console(hotline, http, "1002")
        other = await open_console(hotline, http, "1003")
        status, body = await agent.post(
            "/api/agents/1002/state", {"state": "paused", "reason": "休息"}
        )
        assert status == 200, body
        assert (await agent.next_message("agent.state"))["state"] == "paused"
        missed = await abandon(hotline, tmp_path, other)
        call_id = str(missed["call_id"])
        assert hotline.system.switchboard.routing.position(call_id) == 1  # in line, unoffered

        status, body = await agent.post(f"/api/missed-calls/{call_id}", {"status": "offered"})
        assert status == 200, body
        status, body = await other.post(f"/api/missed-calls/{call_id}", {"status": "offered"})
        assert (status, body["error_id"]) == (409, "already-taken"), body
        status, body = await other.post(f"/api/callbacks/{call_id}/dial", {})
        assert (status, body["error_id"]) == (403, "not-your-callback"), body
        assert hotline.system.switchboard.routing.position(call_id) is None  # left the line
        assert (await listed(agent, call_id))["number"] == CALLER_NUMBER
        assert (await listed(other, call_id))["number"] != CALLER_NUMBER

        status, body = await agent.post(f"/api/callbacks/{call_id}/dial", {})
        assert status == 202, body
        assert (await agent.next_message("agent.state"))["state"] == "talking"
        assert await states(agent, 3) == ["calling-agent", "calling-citizen", "unreached"]
        # Back to the pause the agent dialled from.
        paused = await agent.next_message("agent.state")
        assert (paused["state"], paused["reason"]) == ("paused", "休息")
        assert (await citizen.wait(60))[0] == 0
        assert (await phone.wait(60))[0] == 0
        row = await entry(hotline, call_id, "unreached")
        assert row.agent_id == "1002"
        dial = await outbound(hotline, str(body["dial_id"]))
        assert (dial.outcome, dial.reason) == ("citizen-unreached", "rejected-486")
        # Still on the list for a retry, which anyone may take.
        assert (await listed(other, call_id))["status"] == "unreached"
        for console in (agent, other):
            await console.ws.close()


async def test_a_dial_cancelled_while_the_phone_rings_sends_cancel_and_keeps_the_entry(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1002")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_no_answer.xml")
    async with aiohttp.ClientSession() as http:
        await register(hotline, tmp_path, ["1002"], phone_port)
        agent = await open_console(hotline, http, "1002")
        missed = await abandon(hotline, tmp_path, agent)
        call_id = str(missed["call_id"])
        await agent.go_ready()
        assert (await agent.next_message("callback.offered"))["call_id"] == call_id
        status, body = await agent.post(f"/api/callbacks/{call_id}/dial", {})
        assert status == 202, body
        assert await states(agent, 1) == ["calling-agent"]
        status, cancelled = await agent.post(f"/api/dials/{body['dial_id']}/cancel", {})
        assert (status, cancelled["state"]) == (202, "cancelling"), cancelled
        assert await states(agent, 1) == ["cancelled"]
        assert (await phone.wait(60))[0] == 0  # the phone got CANCEL, answered 200 and 487
        status, again = await agent.post(f"/api/dials/{body['dial_id']}/cancel", {})
        assert (status, again["error_id"]) == (404, "unknown-dial"), again
        dial = await outbound(hotline, str(body["dial_id"]))
        assert dial.outcome == "cancelled"
        # Nobody was called: no wrap-up, and the entry is still the agent's to dial again.
        routing = hotline.system.switchboard.routing
        assert routing.agent("1002").state.value == "ready"
        row = await entry(hotline, call_id, "offered")
        assert row.agent_id == "1002"
        await agent.ws.close()
