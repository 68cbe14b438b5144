"""The hotline registers its trunk number at the carrier's registrar (SIPp) with digest auth and
keeps refreshing it while a second SIPp pours calls in: a re-REGISTER under load that keeps
the trunk up, where pyVoIP took a stray datagram for its answer and gave up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from hotline.models import Call
from telephony.trunk_binding import TrunkState, TrunkStatus
from telephony.upstream import UpstreamRegistration
from tests.conftest import RunningHotline
from tests.support.peers import CALLER_NUMBER
from tests.support.rtp_audio import caller_payloads, write_rtp_pcap
from tests.support.sipp import SippRun, free_ports, start_sipp

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CALLS = 100
CALLS_PER_SECOND = 10
HOLD_MS = 1000


@dataclass
class Registrar:
    run: SippRun
    port: int


@pytest.fixture
async def registrar(tmp_path: Path) -> AsyncIterator[Registrar]:
    """SIPp as the carrier's registrar, up before the hotline starts."""
    port = free_ports(1)
    run = await start_sipp(
        "upstream-registrar",
        "upstream_registrar.xml",
        cwd=tmp_path / "registrar",
        local_port=port,
        calls=1,
        timeout_s=90,
    )
    try:
        yield Registrar(run, port)
    finally:
        run.stop()


@pytest.fixture
def hotline_overrides(registrar: Registrar) -> dict[str, dict[str, object]]:
    return {
        "trunk": {
            "register_to": f"127.0.0.1:{registrar.port}",
            "numbers": ("12319",),
            "username": "hotline",
            "password": "trunk-secret",
            "expires": 300,
        }
    }


async def reaches(
    trunk: UpstreamRegistration, predicate: Callable[[TrunkStatus], bool], timeout: float
) -> TrunkStatus:
    """The trunk's status once `predicate` holds (looked at after every REGISTER attempt)."""
    try:
        return await asyncio.wait_for(trunk.wait_until(predicate), timeout)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s; now {trunk.status()}") from None


async def start_callers(hotline: RunningHotline, tmp: Path) -> SippRun:
    """Citizens calling at CALLS_PER_SECOND; nobody is ready, so each waits, then hangs up."""
    workdir = tmp / "callers"
    workdir.mkdir()
    write_rtp_pcap(workdir / "caller.pcap", caller_payloads(HOLD_MS / 1000, 8), 8)
    options = {
        "-key": "caller",
        "-s": "12319",
        "-d": str(HOLD_MS),
        "-mp": str(free_ports(4)),
        "-mi": "127.0.0.1",
        "-r": str(CALLS_PER_SECOND),
        "-rp": "1000",
        "-l": str(CALLS),
    }
    extra = [x for pair in options.items() for x in pair]
    extra.insert(2, CALLER_NUMBER)  # -key caller <number>
    return await start_sipp(
        "callers",
        "caller.xml",
        cwd=workdir,
        local_port=free_ports(1),
        remote=hotline.sip_address,
        calls=CALLS,
        extra=extra,
        timeout_s=90,
    )


async def test_the_trunk_stays_registered_through_refreshes_while_calls_pour_in(
    hotline: RunningHotline, registrar: Registrar, tmp_path: Path
) -> None:
    gateway = hotline.system.gateway
    [trunk] = gateway.trunk
    # Challenged, then accepted.
    first = await reaches(trunk, lambda status: status.registered, 20)
    assert first.state is TrunkState.REGISTERED and first.expires_in is not None
    assert first.expires_in <= 4.0  # the contact's 4 s, not the Expires header's 3600

    callers = await start_callers(hotline, tmp_path)
    seen: list[TrunkStatus] = []

    def refreshed_twice(status: TrunkStatus) -> bool:
        seen.append(status)
        return status.registrations >= first.registrations + 2

    # Two refreshes (the first answering a stale-nonce challenge) while the calls come in,
    # each attempt leaving the trunk registered, with no failure in between.
    await reaches(trunk, refreshed_twice, 30)
    assert all(s.registered and s.failures == 0 for s in seen), seen
    assert callers.process.returncode is None, "the refreshes must happen under load"

    async with aiohttp.ClientSession() as http, http.get(hotline.url("/metrics")) as response:
        exposition = await response.text()
    aor = "sip:12319@127.0.0.1"
    assert f'hotline_trunk_registered{{aor="{aor}",state="registered"}} 1.0' in exposition
    assert f'hotline_trunk_failures{{aor="{aor}"}} 0.0' in exposition

    code, output = await callers.wait(90)
    assert code == 0, output  # every call answered and hung up cleanly
    status = trunk.status()
    assert status.registered and status.failures == 0 and status.last_error is None
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        ended = await db.scalar(
            select(func.count()).select_from(Call).where(Call.end_reason == "caller-hangup")
        )
    assert ended == CALLS

    await gateway.stop()  # unregisters first: the registrar's scenario ends on Expires: 0
    code, output = await registrar.run.wait(30)
    assert code == 0, output
    assert trunk.status().state is TrunkState.UNREGISTERED and not trunk.status().registered
