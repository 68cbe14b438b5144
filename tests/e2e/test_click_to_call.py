"""Click-to-call (回拨) with real peers: SIPp as the agent's registered phone and SIPp as the
citizen behind the trunk. The agent's phone rings first; once it answers the citizen is
called through the outbound proxy; the two hear each other, the call is recorded (citizen
left, agent right), and the 回访 outcome then closes the case. A citizen who refuses gives
未接通; an agent who declines dials nobody out."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from agent_console.dial_api import dial_api_key
from hotline.models import AuditRecord, OutboundCall
from tests.conftest import RunningHotline
from tests.support.dialling import (
    CITIZEN,
    case_awaiting_visit,
    case_view,
    start_citizen,
    traced_messages,
)
from tests.support.peers import register_phones, start_agent_phones
from tests.support.sipp import free_ports, start_sipp
from tests.support.tones import pcm_frames_with_tone, start_party, tone_payloads, wav_channel_frames

pytestmark = pytest.mark.sipp

CITIZEN_TONE, AGENT_TONE, QUIET_BIN = 700, 1300, 2300


@pytest.fixture
def trunk_port() -> int:
    """The outbound proxy: here the citizen's SIPp itself."""
    return free_ports(1)


@pytest.fixture
def hotline_overrides(trunk_port: int, tmp_path: Path) -> dict[str, dict[str, object]]:
    return {
        "sip": {"outbound_proxy": f"127.0.0.1:{trunk_port}"},
        "media": {"recordings_dir": str(tmp_path / "recordings")},
    }


async def dial_states(console: object, count: int) -> list[dict[str, object]]:
    from tests.support.peers import ConsoleClient

    assert isinstance(console, ConsoleClient)
    return [await console.next_message("dial.state") for _ in range(count)]


async def outbound_row(hotline: RunningHotline, dial_id: str, recorded: bool) -> OutboundCall:
    """The dial's row once written (and its recording linked, if `recorded`)."""
    await hotline.system.app[dial_api_key].dials.synced()
    async with asyncio.timeout(20):
        while True:
            async with hotline.system.sessions() as db:
                row = await db.get(OutboundCall, dial_id)
            if row is not None and row.outcome and (row.recording_path or not recorded):
                return row
            await asyncio.sleep(0.05)  # the recording is closed on the writer thread


async def test_a_visit_dialled_from_the_console_reaches_the_citizen_and_closes_the_case(
    hotline: RunningHotline, tmp_path: Path, trunk_port: int
) -> None:
    phone_port, agent_media, citizen_media = free_ports(1), free_ports(4), free_ports(4)
    phone = await start_party(
        "agent", tmp_path, phone_port, agent_media, tone_payloads(AGENT_TONE, 6.0)
    )
    citizen = await start_citizen(
        tmp_path, trunk_port, citizen_media, tone_payloads(CITIZEN_TONE, 6.0), talk_ms=4000
    )
    async with aiohttp.ClientSession() as http:
        number, visitor = await case_awaiting_visit(hotline, http, "1002")
        await register_phones(hotline, tmp_path, ["1002"], phone_port)
        status, body = await visitor.post(f"/api/tickets/{number}/visit/dial", {})
        assert status == 202 and body["state"] == "calling-agent", body
        dial_id = str(body["dial_id"])
        # A second press while the first dial runs is refused.
        status, again = await visitor.post(f"/api/tickets/{number}/visit/dial", {})
        assert (status, again["error_id"]) == (409, "dial-in-progress"), again

        states = await dial_states(visitor, 4)
        assert [s["state"] for s in states] == [
            "calling-agent",
            "calling-citizen",
            "connected",
            "ended",
        ]
        assert states[-1]["reason"] == "citizen-hangup"
        assert all(s["dial_id"] == dial_id and s["number"] != CITIZEN for s in states)
        citizen_code, citizen_out = await citizen.wait(60)
        phone_code, phone_out = await phone.wait(60)
        assert citizen_code == 0, citizen_out  # hung up first, got its 200
        assert phone_code == 0, phone_out  # the agent's phone got the gateway's BYE

        # The citizen was called at their number through the trunk, shown the hotline.
        trace = traced_messages(citizen)
        assert f"INVITE sip:{CITIZEN}@127.0.0.1:{trunk_port} SIP/2.0" in trace
        assert "P-Asserted-Identity: <sip:12319@" in trace

        row = await outbound_row(hotline, dial_id, recorded=True)
        assert (row.task, row.task_ref, row.agent_id) == ("visit", number, "1002")
        assert row.outcome == "talked" and row.connected_at is not None
        assert row.recording_path and row.recording_seconds and row.recording_seconds > 1.0
        citizen_side, agent_side = wav_channel_frames(Path(row.recording_path))
        # Each side's own voice on its own channel, at least a second of it ...
        assert pcm_frames_with_tone(citizen_side, CITIZEN_TONE, QUIET_BIN) > 50
        assert pcm_frames_with_tone(agent_side, AGENT_TONE, QUIET_BIN) > 50
        # ... and not the other's: two directions, not one echoed.
        assert pcm_frames_with_tone(citizen_side, AGENT_TONE, QUIET_BIN) == 0

        status, view = await visitor.post(f"/api/tickets/{number}/visit", {"outcome": "satisfied"})
        assert status == 200 and view["state"] == "closed", view
        assert view["events"][-1]["type"] == "visit_satisfied"
        await visitor.ws.close()

    async with hotline.system.sessions() as db:
        audit = (
            await db.scalars(select(AuditRecord).where(AuditRecord.action == "call.dial"))
        ).all()
    assert [(a.actor_id, a.object_id) for a in audit] == [("1002", number)]
    assert audit[0].detail["dial_id"] == dial_id and CITIZEN not in str(audit[0].detail)


async def test_a_citizen_who_refuses_is_recorded_unreached(
    hotline: RunningHotline, tmp_path: Path, trunk_port: int
) -> None:
    phone_port, agent_media = free_ports(1), free_ports(4)
    phone = await start_party(
        "agent", tmp_path, phone_port, agent_media, tone_payloads(AGENT_TONE, 6.0)
    )
    citizen = await start_sipp(
        "citizen", "agent_reject.xml", cwd=tmp_path / "citizen", local_port=trunk_port
    )
    async with aiohttp.ClientSession() as http:
        number, visitor = await case_awaiting_visit(hotline, http, "1002")
        await register_phones(hotline, tmp_path, ["1002"], phone_port)
        status, body = await visitor.post(f"/api/tickets/{number}/visit/dial", {})
        assert status == 202, body
        states = await dial_states(visitor, 3)
        assert [s["state"] for s in states] == ["calling-agent", "calling-citizen", "unreached"]
        assert states[-1]["reason"] == "rejected-486"
        assert (await citizen.wait(60))[0] == 0
        phone_code, phone_out = await phone.wait(60)
        assert phone_code == 0, phone_out  # the agent's leg was hung up

        row = await outbound_row(hotline, str(body["dial_id"]), recorded=False)
        assert (row.outcome, row.reason, row.recording_path) == (
            "citizen-unreached",
            "rejected-486",
            None,
        )
        # 未接通 is on the case, by the agent; it stays in 回访 for the next attempt.
        async with asyncio.timeout(20):
            while (record := await hotline.system.cases.get(number)) is not None and (
                record.events[-1].type != "visit_unreached"
            ):
                await asyncio.sleep(0.05)  # recorded once the dial's end has been handled
        assert record is not None and record.case.state.value == "callback"
        assert record.events[-1].by == "1002" and "rejected-486" in record.events[-1].reason
        await visitor.ws.close()


@pytest.fixture
def trunk_socket(trunk_port: int) -> Iterator[socket.socket]:
    """Listens where the trunk would be, to see that nothing is sent there."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", trunk_port))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


async def test_an_agent_who_declines_dials_nobody_out(
    hotline: RunningHotline, tmp_path: Path, trunk_socket: socket.socket
) -> None:
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_reject.xml")
    async with aiohttp.ClientSession() as http:
        number, visitor = await case_awaiting_visit(hotline, http, "1002")
        await register_phones(hotline, tmp_path, ["1002"], phone_port)
        status, body = await visitor.post(f"/api/tickets/{number}/visit/dial", {})
        assert status == 202, body
        states = await dial_states(visitor, 2)
        assert [s["state"] for s in states] == ["calling-agent", "agent-unreached"]
        assert (await phone.wait(60))[0] == 0
        row = await outbound_row(hotline, str(body["dial_id"]), recorded=False)
        assert row.outcome == "agent-unreached"
        with pytest.raises(BlockingIOError):
            trunk_socket.recv(65535)  # no INVITE went to the trunk
        # Nothing was recorded on the case: the agent may press 回拨 again.
        assert (await case_view(visitor, number))["events"][-1]["type"] == "closed"
        await visitor.ws.close()
