"""The gateway behind a real Kamailio as a record-routing dispatcher
(deploy/kamailio/dispatcher.cfg with a list naming the gateway): a citizen's INVITE is
dispatched to the gateway, and every later request of the dialog passes through the proxy,
whichever side hangs up: the caller's ACK and BYE by the route the gateway's 200 carried, the
gateway's BYE by the Route it keeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from hotline.models import Call
from tests.conftest import RunningHotline
from tests.interop.kamailio import DISPATCHER, Kamailio, kamailio
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.sipp import SippRun, free_ports, start_sipp

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
def dispatcher(hotline: RunningHotline, tmp_path: Path) -> Iterator[Kamailio]:
    host, port = hotline.sip_address
    workdir = tmp_path / "kamailio"
    workdir.mkdir()
    gateways = workdir / "dispatcher.list"
    gateways.write_text(f"1 sip:{host}:{port}\n")
    with kamailio(workdir, DISPATCHER, {"DISPATCHER_LIST": f'"{gateways}"'}) as running:
        yield running


def relayed(proxy: Kamailio, sip_call_id: str) -> list[str]:
    """The in-dialog requests of the call the proxy relayed by its Route, in order."""
    log = proxy.log.read_text(errors="replace")
    return re.findall(rf"in-dialog (\w+) of {re.escape(sip_call_id)} relayed", log)


@pytest.mark.parametrize(
    ("caller_scenario", "phone_scenario", "reason"),
    [
        ("caller_via_proxy.xml", "agent_hangup.xml", "agent-hangup"),
        ("caller_hangs_up_via_proxy.xml", "agent_answer.xml", "caller-hangup"),
    ],
    ids=["agent-hangs-up", "caller-hangs-up"],
)
async def test_a_call_dispatched_by_kamailio_keeps_it_on_the_dialogs_path(
    hotline: RunningHotline,
    dispatcher: Kamailio,
    tmp_path: Path,
    caller_scenario: str,
    phone_scenario: str,
    reason: str,
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, phone_scenario, extra=["-d", "1500"]
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(
            hotline,
            tmp_path,
            1,
            free_ports(4),
            caller_scenario,
            talk_ms=1500,
            remote=dispatcher.address,
        )
        offer = await console.next_message("call.offered")
        assert offer["caller"] == "13800138000"
        await console.next_message("call.connected")  # the ACK came by the proxy
        ended = await console.next_message("call.ended")
        await console.ws.close()
    code, output = await caller.wait(60)
    assert code == 0, output  # the Record-Route came back; a BYE either way went through
    assert (await phone.wait(60))[0] == 0
    assert ended["reason"] == reason
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        row = await db.get(Call, offer["call_id"])
    assert row is not None and row.end_reason == reason
    sip_call_id = row.sip_call_id
    log = dispatcher.log.read_text(errors="replace")
    host, port = hotline.sip_address
    assert f"call {sip_call_id} dispatched to sip:{host}:{port}" in log, log[-2000:]
    # ACK from the caller; the BYE from whichever side hung up, both by loose routing.
    assert relayed(dispatcher, sip_call_id) == ["ACK", "BYE"], log[-2000:]


@pytest.mark.parametrize("down", ["answers-503", "dead-port"])
async def test_the_dispatcher_moves_a_call_past_a_gateway_that_is_down(
    hotline: RunningHotline, tmp_path: Path, down: str
) -> None:
    """Two gateways in the list, the other one down: round robin sends one of two calls to
    it first, and both calls still reach the live gateway and its agents."""
    host, port = hotline.sip_address
    down_port = free_ports(1)
    unavailable: SippRun | None = None
    if down == "answers-503":
        unavailable = await start_sipp(
            "gateway-down", "gateway_unavailable.xml", cwd=tmp_path / "down", local_port=down_port
        )
    workdir = tmp_path / "kamailio"
    workdir.mkdir()
    gateways = workdir / "dispatcher.list"
    gateways.write_text(f"1 sip:127.0.0.1:{down_port}\n1 sip:{host}:{port}\n")
    agents = ["1001", "1002"]
    for agent in agents:
        await hotline.add_agent(agent)
    phone, phone_port, _ = await start_agent_phones(tmp_path, 2)
    with kamailio(workdir, DISPATCHER, {"DISPATCHER_LIST": f'"{gateways}"'}) as proxy:
        async with aiohttp.ClientSession() as http:
            await register_phones(hotline, tmp_path, agents, phone_port)
            consoles = [await open_console(hotline, http, agent) for agent in agents]
            for console in consoles:
                await console.go_ready()
            caller = await start_caller(
                hotline,
                tmp_path,
                2,
                free_ports(4),
                "caller_hangs_up_via_proxy.xml",
                talk_ms=1500,
                remote=proxy.address,
            )
            offers = [await console.next_message("call.offered") for console in consoles]
            ends = [await console.next_message("call.ended") for console in consoles]
            for console in consoles:
                await console.ws.close()
        code, output = await caller.wait(60)
        assert code == 0, output  # both citizens were answered and hung up through the proxy
        assert (await phone.wait(60))[0] == 0
        if unavailable is not None:
            down_code, down_output = await unavailable.wait(60)
            assert down_code == 0, down_output  # it got one INVITE and answered it 503
        log = proxy.log.read_text(errors="replace")
    assert [end["reason"] for end in ends] == ["caller-hangup", "caller-hangup"]
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        rows = [await db.get(Call, offer["call_id"]) for offer in offers]
    sip_call_ids = [row.sip_call_id for row in rows if row is not None]
    assert len(sip_call_ids) == 2
    first_tries = {
        sip_call_id: re.findall(rf"call {re.escape(sip_call_id)} dispatched to (\S+)", log)
        for sip_call_id in sip_call_ids
    }
    moved = {
        sip_call_id: re.findall(rf"call {re.escape(sip_call_id)} moved to (\S+)", log)
        for sip_call_id in sip_call_ids
    }
    down_uri, live_uri = f"sip:127.0.0.1:{down_port}", f"sip:{host}:{port}"
    # Round robin: one call was sent to each gateway first; the one sent to the gateway that
    # is down moved on to the live one.
    assert sorted(tries[0] for tries in first_tries.values()) == sorted([down_uri, live_uri]), log
    for sip_call_id, tries in first_tries.items():
        expected = [live_uri] if tries == [down_uri] else []
        assert moved[sip_call_id] == expected, log[-3000:]
