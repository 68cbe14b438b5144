"""One-click hand-off of an emergency caller to 119 (国办函〔2025〕66号), with SIPp as the
caller, the agent's phone and the fire service behind the outbound proxy; the ticket and
the call record keep the hand-off."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import CallEvent
from tests.conftest import RunningHotline
from tests.support.peers import (
    open_console,
    register_phones,
    start_agent_phones,
    start_caller,
    ticket_form,
)
from tests.support.sipp import free_ports, start_sipp

pytestmark = pytest.mark.sipp


@pytest.fixture
def service_port() -> int:
    return free_ports(1)


@pytest.fixture
def hotline_overrides(service_port: int) -> dict[str, dict[str, object]]:
    return {
        "sip": {"outbound_proxy": f"127.0.0.1:{service_port}"},
        "emergency": {"numbers": ("119=119", "120=120"), "mode": "blind"},
    }


async def test_an_emergency_caller_is_handed_to_119_in_one_click(
    hotline: RunningHotline, tmp_path: Path, service_port: int
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    fire_service = await start_sipp(
        "fire-service",
        "agent_answer.xml",
        cwd=tmp_path / "fire-service",
        local_port=service_port,
        extra=["-rtp_echo", "-mp", str(free_ports(4)), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=7000)
        offer = await console.next_message("call.offered")
        await console.next_message("call.connected")
        call_id = offer["call_id"]
        # The classifier tells the agent this is a matter for 119.
        status, suggestion = await console.post(
            "/api/classify", {"text": "楼下饭店着火了，火势很大"}
        )
        assert status == 200 and suggestion["emergency"]["service"] == "119", suggestion
        status, body = await console.post(f"/api/calls/{call_id}/emergency", {"service": "110"})
        assert (status, body["error_id"]) == (400, "unknown-service")
        status, body = await console.post(f"/api/calls/{call_id}/emergency", {"service": "119"})
        assert status == 202 and body["number"] == "119", body
        transferred = await console.next_message("call.transferred")
        assert transferred["target"] == "119"
        status, ticket = await console.post(
            "/api/tickets",
            {
                **ticket_form(call_id, offer),
                "description": "饭店着火，已转119",
                "emergency_service": "119",
            },
        )
        assert status == 201 and ticket["emergency_service"] == "119", ticket
        assert (await caller.wait(60))[0] == 0
        assert (await fire_service.wait(60))[0] == 0
        assert (await phone.wait(60))[0] == 0
        await console.ws.close()
    (case,) = await hotline.dispatch.wait_for(1)
    assert case.case["emergency_service"] == "119"
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        kinds = (await db.scalars(select(CallEvent.kind).where(CallEvent.call_id == call_id))).all()
    assert "emergency-handoff" in kinds and "transferred" in kinds
