"""Attended transfer from an agent's phone (RFC 5589 §7, RFC 3891), with SIPp as caller,
agent phone and department: the phone holds the caller, consults the department through the
gateway, then REFERs with Replaces; the caller then talks to the department, both ways."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import CallEvent
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import RtpTap, write_rtp_pcap
from tests.support.sipp import free_ports, start_sipp
from tests.support.tones import frames_with_tone, start_party, tone_payloads

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

DEPARTMENT = "80010"
CALLER_TONE, DEPARTMENT_TONE, QUIET_BIN = 500, 1700, 2300


@pytest.fixture
def department_port() -> int:
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
            "transfer_targets": (f"城管执法={DEPARTMENT}",),
        }
    }


async def test_a_phone_consults_the_department_then_hands_the_caller_over(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path,
        1,
        "agent_attended.xml",
        extra=["-key", "target", DEPARTMENT, "-au", "1001", "-ap", "sip-1001-secret"],
    )
    caller_media, department_media = free_ports(4), free_ports(4)
    department = await start_party(
        "department",
        tmp_path,
        department_port,
        department_media,
        tone_payloads(DEPARTMENT_TONE, 9.0),
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media, department_media}) as tap:
            caller = await start_caller(
                hotline,
                tmp_path,
                1,
                caller_media,
                talk_ms=9000,
                payloads=tone_payloads(CALLER_TONE, 9.0),
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            transferred = await console.next_message("call.transferred")
            assert transferred["target"] == DEPARTMENT and transferred["mode"] == "attended"
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "transferred"
            assert (await console.next_message("agent.state"))["state"] == "wrap_up"
            results = [await run.wait(60) for run in (phone, caller, department)]
        await console.ws.close()
    # The phone got NOTIFY 200 (terminated) and a BYE on each of its dialogs; the department
    # got its BYE when the caller hung up.
    for code, output in results:
        assert code == 0, output

    def heard(port: int, tone: int) -> int:
        return frames_with_tone(tap.payloads.get(port, []), tone, QUIET_BIN)

    # After the transfer the caller and the department hear each other (half a second each).
    assert heard(caller_media, DEPARTMENT_TONE) > 25
    assert heard(department_media, CALLER_TONE) > 25
    assert not hotline.system.gateway.attended._consults  # the consultation is gone

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        events = (
            await db.scalars(select(CallEvent).where(CallEvent.call_id == offer["call_id"]))
        ).all()
    transfer = [e for e in events if e.kind == "transferred"]
    assert len(transfer) == 1
    assert transfer[0].detail == {"target": DEPARTMENT, "mode": "attended"}
    assert transfer[0].agent_id == "1001"


@pytest.mark.parametrize("outbound_password", ["sbc-secret"])
async def test_the_consultation_answers_the_proxys_digest_challenge(
    hotline: RunningHotline, tmp_path: Path, department_port: int
) -> None:
    """The proxy answers the consultation INVITE 401: the gateway sends it again with its
    digest (user hotline), the department answers, and the attended transfer completes."""
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path,
        1,
        "agent_attended.xml",
        extra=["-key", "target", DEPARTMENT, "-au", "1001", "-ap", "sip-1001-secret"],
    )
    caller_media = free_ports(4)
    department = await start_sipp(
        "department",
        "department_auth.xml",  # 403 to a wrong digest, which the phone's scenario fails on
        cwd=tmp_path / "department",
        local_port=department_port,
        extra=["-rtp_echo", "-mp", str(free_ports(4)), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media}) as tap:
            caller = await start_caller(
                hotline,
                tmp_path,
                1,
                caller_media,
                talk_ms=9000,
                payloads=tone_payloads(CALLER_TONE, 9.0),
            )
            await console.next_message("call.offered")
            await console.next_message("call.connected")
            transferred = await console.next_message("call.transferred")
            assert transferred["target"] == DEPARTMENT and transferred["mode"] == "attended"
            results = [await run.wait(60) for run in (phone, caller, department)]
        await console.ws.close()
    for code, output in results:
        assert code == 0, output
    # The department echoes what it gets: the caller hears itself back through it.
    heard = frames_with_tone(tap.payloads.get(caller_media, []), CALLER_TONE, QUIET_BIN)
    assert heard > 25


async def test_an_invite_with_replaces_takes_the_agents_leg_over(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    """Another agent's phone names the call's agent dialog in Replaces: a wrong tag gets 481,
    the right one is answered, bridged to the caller, and the first phone gets BYE."""
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    caller_media, taker_media = free_ports(4), free_ports(4)
    workdir = tmp_path / "taker"
    workdir.mkdir()
    write_rtp_pcap(workdir / "party.pcap", tone_payloads(DEPARTMENT_TONE, 6.0), 8)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media, taker_media}) as tap:
            caller = await start_caller(
                hotline,
                tmp_path,
                1,
                caller_media,
                talk_ms=7000,
                payloads=tone_payloads(CALLER_TONE, 7.0),
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            call = hotline.system.gateway._calls[offer["call_id"]]
            assert call.agent_leg is not None
            dialog = call.agent_leg.dialog
            replaces = (
                f"{dialog.sip_call_id};to-tag={dialog.local.tag};from-tag={dialog.remote.tag}"
            )
            taker = await start_sipp(
                "taker",
                "phone_replaces.xml",
                cwd=workdir,
                local_port=free_ports(1),
                remote=hotline.sip_address,
                extra=[
                    *("-s", "1001", "-key", "agent", "1002", "-key", "replaces", replaces),
                    *("-au", "1002", "-ap", "sip-1002-secret"),
                    *("-mp", str(taker_media), "-mi", "127.0.0.1"),
                ],
                timeout_s=60,
            )
            transferred = await console.next_message("call.transferred")
            assert transferred["target"] == "1002" and transferred["mode"] == "attended"
            assert (await console.next_message("call.ended"))["reason"] == "transferred"
            results = [await run.wait(60) for run in (taker, phone, caller)]
        await console.ws.close()
    for code, output in results:
        assert code == 0, output  # 481 then 200 for the taker; BYE for the first phone

    def heard(port: int, tone: int) -> int:
        return frames_with_tone(tap.payloads.get(port, []), tone, QUIET_BIN)

    assert heard(caller_media, DEPARTMENT_TONE) > 25
    assert heard(taker_media, CALLER_TONE) > 25
