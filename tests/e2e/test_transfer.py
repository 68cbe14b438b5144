"""Blind transfer and three-way calls, with SIPp as caller, agent phone and department."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import Call, CallEvent
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import RtpTap, caller_payloads
from tests.support.sipp import free_ports, start_sipp
from tests.support.tones import frames_with_tone, start_party, tone_payloads

pytestmark = pytest.mark.sipp

DEPARTMENT = "80010"
CALLER_TONE, AGENT_TONE, DEPARTMENT_TONE, QUIET_BIN = 500, 1100, 1700, 2300


@pytest.fixture
def department_port() -> int:
    """Where the outbound proxy (here the department's SIPp itself) listens."""
    return free_ports(1)


@pytest.fixture
def outbound_password() -> str:
    """The gateway's digest password toward the proxy; empty: no credentials configured."""
    return ""


@pytest.fixture
def hotline_overrides(department_port: int, outbound_password: str) -> dict[str, dict[str, object]]:
    return {
        "sip": {
            "outbound_proxy": f"127.0.0.1:{department_port}",
            "outbound_username": "hotline" if outbound_password else "",
            "outbound_password": outbound_password,
            "transfer_targets": (f"城管执法={DEPARTMENT}", "12345 热线=12345"),
        }
    }


async def test_blind_transfer_from_the_console_hands_the_caller_to_the_department(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    department_media = free_ports(4)
    department = await start_sipp(
        "department",
        "agent_answer.xml",
        cwd=tmp_path / "department",
        local_port=department_port,
        extra=["-rtp_echo", "-mp", str(department_media), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    caller_media = free_ports(4)
    sent = caller_payloads(6.0, 8)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({department_media}) as tap:
            caller = await start_caller(
                hotline, tmp_path, 1, caller_media, talk_ms=7000, payloads=sent
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            call_id = offer["call_id"]

            status, body = await console.post("/api/calls/no-such-call/transfer", {"target": "1"})
            assert (status, body["error_id"]) == (404, "unknown-call")
            status, body = await console.post(
                f"/api/calls/{call_id}/transfer", {"target": "99999", "mode": "blind"}
            )
            assert (status, body["error_id"], body["field"]) == (400, "unknown-target", "target")
            status, body = await console.post(
                f"/api/calls/{call_id}/transfer", {"target": "城管执法", "mode": "blind"}
            )
            assert status == 202 and body["target"] == DEPARTMENT, body

            transferred = await console.next_message("call.transferred")
            assert transferred["target"] == DEPARTMENT and transferred["mode"] == "blind"
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "transferred"
            wrap_up = await console.next_message("agent.state")
            assert wrap_up["state"] == "wrap_up"
            # The agent is off the call now: a second transfer is refused.
            status, body = await console.post(
                f"/api/calls/{call_id}/transfer", {"target": DEPARTMENT}
            )
            assert status in (403, 409), body

            caller_code, caller_out = await caller.wait(60)
            department_code, department_out = await department.wait(60)
            phone_code, phone_out = await phone.wait(60)
        await console.ws.close()

    assert caller_code == 0, caller_out
    assert department_code == 0, department_out  # got the BYE after the caller hung up
    assert phone_code == 0, phone_out  # the agent's phone was hung up at the transfer
    # The caller's own audio reached the department through the gateway.
    assert tap.matching(department_media, set(sent)) > 25, tap.received

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, call_id)
        events = (
            await db.scalars(
                select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.id)
            )
        ).all()
    assert call is not None and call.end_reason == "caller-hangup"
    transfer = [e for e in events if e.kind == "transferred"]
    assert len(transfer) == 1 and transfer[0].detail == {"target": DEPARTMENT, "mode": "blind"}
    assert transfer[0].agent_id == "1001"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("outbound_password", "outcome"),
    [("sbc-secret", "call.transferred"), ("wrong", "call.transfer_failed")],
)
async def test_the_gateway_answers_the_proxys_digest_challenge(
    hotline: RunningHotline, tmp_path: Path, department_port: int, outcome: str
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    department = await start_sipp(
        "department",
        "department_auth.xml",
        cwd=tmp_path / "department",
        local_port=department_port,
        extra=["-rtp_echo", "-mp", str(free_ports(4)), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=5000)
        offer = await console.next_message("call.offered")
        await console.next_message("call.connected")
        status, body = await console.post(
            f"/api/calls/{offer['call_id']}/transfer", {"target": DEPARTMENT}
        )
        assert status == 202, body
        result = await console.next_message(outcome)
        assert result["target"] == DEPARTMENT
        if outcome == "call.transfer_failed":
            assert result["reason"] == "rejected-403"  # one retry only, then the caller stays
        results = [await run.wait(60) for run in (phone, department, caller)]
        await console.ws.close()
    for code, output in results:
        assert code == 0, output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_refused_transfer_leaves_the_caller_with_the_agent(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    department = await start_sipp(
        "department",
        "agent_reject.xml",
        cwd=tmp_path / "department",
        local_port=department_port,
        timeout_s=90,
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=5000)
        offer = await console.next_message("call.offered")
        await console.next_message("call.connected")
        status, body = await console.post(
            f"/api/calls/{offer['call_id']}/transfer", {"target": DEPARTMENT, "mode": "blind"}
        )
        assert status == 202, body
        failed = await console.next_message("call.transfer_failed")
        assert failed["reason"] == "rejected-486" and failed["target"] == DEPARTMENT
        ended = await console.next_message("call.ended")
        assert ended["reason"] == "caller-hangup"  # the caller talked on with the agent
        results = [await run.wait(60) for run in (phone, department, caller)]
        await console.ws.close()
    for code, output in results:
        assert code == 0, output
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        kinds = (
            await db.scalars(select(CallEvent.kind).where(CallEvent.call_id == offer["call_id"]))
        ).all()
    assert "transfer-failed" in kinds and "transferred" not in kinds


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_when_the_agent_leaves_a_three_way_caller_and_department_talk_on(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, "agent_hangup.xml", extra=["-d", "3000"]
    )
    department_media = free_ports(4)
    department = await start_sipp(
        "department",
        "agent_answer.xml",
        cwd=tmp_path / "department",
        local_port=department_port,
        extra=["-rtp_echo", "-mp", str(department_media), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    sent = caller_payloads(7.0, 8)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({department_media}) as tap:
            caller = await start_caller(
                hotline, tmp_path, 1, free_ports(4), talk_ms=8000, payloads=sent
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            status, body = await console.post(
                f"/api/calls/{offer['call_id']}/transfer",
                {"target": DEPARTMENT, "mode": "three_way"},
            )
            assert status == 202, body
            await console.next_message("call.transferred")
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "agent-left"
            assert (await console.next_message("agent.state"))["state"] == "wrap_up"
            results = [await run.wait(60) for run in (phone, caller, department)]
        await console.ws.close()
    for code, output in results:
        assert code == 0, output  # the department got the BYE when the caller hung up
    # Mixed audio is re-encoded; the caller's own frames reach the department unchanged only
    # once the two are bridged directly, after the agent left.
    assert tap.matching(department_media, set(sent)) > 25, tap.received
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        kinds = (
            await db.scalars(select(CallEvent.kind).where(CallEvent.call_id == offer["call_id"]))
        ).all()
    assert call is not None and call.end_reason == "caller-hangup"
    assert "agent-left" in kinds


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("scenario", ["agent_refer.xml", "agent_refer_bye_crosses.xml"])
async def test_refer_from_the_agents_phone_transfers_the_call(
    hotline: RunningHotline, tmp_path: Path, department_port: int, scenario: str
) -> None:
    """Whether the phone waits for the gateway's BYE or sends its own as it finishes the
    transfer, the caller goes on talking to the department."""
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, scenario, extra=["-d", "1000", "-key", "target", DEPARTMENT]
    )
    department = await start_sipp(
        "department",
        "agent_answer.xml",
        cwd=tmp_path / "department",
        local_port=department_port,
        extra=["-rtp_echo", "-mp", str(free_ports(4)), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=6000)
        offer = await console.next_message("call.offered")
        await console.next_message("call.connected")
        transferred = await console.next_message("call.transferred")
        assert transferred["target"] == DEPARTMENT and transferred["mode"] == "blind"
        ended = await console.next_message("call.ended")
        assert ended["reason"] == "transferred"
        assert (await console.next_message("agent.state"))["state"] == "wrap_up"
        results = [await run.wait(60) for run in (phone, department, caller)]
        await console.ws.close()
    # The phone got 202, NOTIFY 100 then NOTIFY 200 (terminated), then the BYE, in that order.
    for code, output in results:
        assert code == 0, output
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        kinds = (
            await db.scalars(select(CallEvent.kind).where(CallEvent.call_id == offer["call_id"]))
        ).all()
    assert "transferred" in kinds


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_phone_hanging_up_right_after_refer_still_transfers_the_caller(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, "agent_refer_hangup.xml", extra=["-d", "1000", "-key", "target", DEPARTMENT]
    )
    department_media = free_ports(4)
    department = await start_sipp(
        "department",
        "department_rings.xml",
        cwd=tmp_path / "department",
        local_port=department_port,
        extra=["-rtp_echo", "-d", "1500", "-mp", str(department_media), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    sent = caller_payloads(7.0, 8)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({department_media}) as tap:
            caller = await start_caller(
                hotline, tmp_path, 1, free_ports(4), talk_ms=8000, payloads=sent
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "agent-left"  # free for the next call while it rings
            transferred = await console.next_message("call.transferred")
            assert transferred["target"] == DEPARTMENT
            results = [await run.wait(60) for run in (phone, department, caller)]
        await console.ws.close()
    for code, output in results:
        assert code == 0, output
    assert tap.matching(department_media, set(sent)) > 25, tap.received
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        kinds = (
            await db.scalars(select(CallEvent.kind).where(CallEvent.call_id == offer["call_id"]))
        ).all()
    assert call is not None and call.end_reason == "caller-hangup"
    assert "agent-left" in kinds and "transferred" in kinds


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_refer_to_a_number_outside_the_directory_is_refused(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, "agent_refer_refused.xml", extra=["-d", "500", "-key", "target", "99999"]
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), "caller_hears_bye.xml")
        await console.next_message("call.connected")
        ended = await console.next_message("call.ended")
        # The caller stayed with the agent until the agent hung up.
        assert ended["reason"] == "agent-hangup"
        results = [await run.wait(60) for run in (phone, caller)]
        await console.ws.close()
    for code, output in results:
        assert code == 0, output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_three_way_call_lets_every_party_hear_the_other_two(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    phone_port, agent_media = free_ports(1), free_ports(4)
    department_media, caller_media = free_ports(4), free_ports(4)
    agent = await start_party(
        "agent", tmp_path, phone_port, agent_media, tone_payloads(AGENT_TONE, 8.0)
    )
    department = await start_party(
        "department",
        tmp_path,
        department_port,
        department_media,
        tone_payloads(DEPARTMENT_TONE, 8.0),
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media, agent_media, department_media}) as tap:
            caller = await start_caller(
                hotline,
                tmp_path,
                1,
                caller_media,
                talk_ms=9000,
                payloads=tone_payloads(CALLER_TONE, 8.0),
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            status, body = await console.post(
                f"/api/calls/{offer['call_id']}/transfer",
                {"target": DEPARTMENT, "mode": "three_way"},
            )
            assert status == 202, body
            transferred = await console.next_message("call.transferred")
            assert transferred["mode"] == "three_way"
            results = [await run.wait(60) for run in (caller, agent, department)]
        await console.ws.close()

    for code, output in results:
        assert code == 0, output  # the caller hung up; agent and department got BYEs

    def heard(port: int, tone: int) -> int:
        return frames_with_tone(tap.payloads.get(port, []), tone, QUIET_BIN)

    # Each end hears the other two (25 frames: half a second of each) ...
    assert heard(caller_media, AGENT_TONE) > 25 and heard(caller_media, DEPARTMENT_TONE) > 25
    assert heard(agent_media, CALLER_TONE) > 25 and heard(agent_media, DEPARTMENT_TONE) > 25
    assert heard(department_media, CALLER_TONE) > 25 and heard(department_media, AGENT_TONE) > 25
    # ... and never itself: the department joined only the mix.
    assert heard(department_media, DEPARTMENT_TONE) == 0
