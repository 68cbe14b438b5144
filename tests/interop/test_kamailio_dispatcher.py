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
from tests.support.sipp import free_ports

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
