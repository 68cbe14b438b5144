"""The gateway behind a real Kamailio (deploy/kamailio/edge.cfg): the hotline registers its
number with it as with a carrier's registrar, a citizen's call comes through it, and every
request of the dialog passes through it again because it record-routes: the caller's ACK by
the route the gateway's 200 carried, and the gateway's BYE when the agent hangs up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from telephony.trunk_binding import TrunkStatus
from tests.conftest import RunningHotline
from tests.e2e.test_trunk_registration import reaches
from tests.interop.kamailio import Kamailio, kamailio
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[Kamailio]:
    with kamailio(tmp_path / "kamailio") as running:
        yield running


@pytest.fixture
def hotline_overrides(edge: Kamailio) -> dict[str, dict[str, object]]:
    host, port = edge.address
    return {"trunk": {"register_to": f"{host}:{port}", "numbers": ("12319",), "expires": 60}}


def registered(status: TrunkStatus) -> bool:
    return status.registered


async def test_a_call_through_kamailio_keeps_it_on_the_dialogs_path(
    hotline: RunningHotline, edge: Kamailio, tmp_path: Path
) -> None:
    [trunk] = hotline.system.gateway.trunk
    # Kamailio takes the REGISTER as its own only with its port in the Request-URI.
    await reaches(trunk, registered, 20)

    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(
        tmp_path, 1, "agent_hangup.xml", extra=["-d", "1500"]
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(
            hotline, tmp_path, 1, free_ports(4), "caller_via_proxy.xml", remote=edge.address
        )
        offer = await console.next_message("call.offered")
        assert offer["caller"] == "13800138000"
        await console.next_message("call.connected")  # the ACK came by the proxy
        ended = await console.next_message("call.ended")
        assert ended["reason"] == "agent-hangup"
        await console.ws.close()
    code, output = await caller.wait(60)
    assert code == 0, output  # the BYE came back through Kamailio
    assert (await phone.wait(60))[0] == 0
