"""Two real `hotline serve` nodes sharing one PostgreSQL behind a real Kamailio
(deploy/kamailio/cluster.cfg) and rtpengine, started by tools/cluster.py: the active node is
killed (-9, by its PID) with one call bridged to an agent and one waiting (a short call
recorded by rtpengine before); the standby takes
over, Kamailio's probes send new calls and the phone's REGISTER to it, nothing saved before
is lost, the dead node's calls are closed as "restart", and every case reaches the dispatch
core exactly once."""

from __future__ import annotations

import asyncio
import re
import wave
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from hotline.models import Call, MissedCall, Recording
from tests.support.cluster_peers import NodeConsole, register_through, start_phone
from tests.support.cluster_run import call_in, dispatch_core_running, running_cluster
from tests.support.dispatch_core import DispatchCoreStub
from tests.support.peers import CALLER_NUMBER, ticket_form
from tests.support.sipp import SippRun, free_ports
from tools.cluster_launcher import Cluster
from tools.cluster_support import options_status

pytestmark = [pytest.mark.sipp, pytest.mark.postgres]
AGENT = "1001"
TAKEOVER_DEADLINE = 60.0  # generous: the machine may be busy; nothing asserts on time


@pytest.fixture
async def dispatch_core() -> AsyncIterator[tuple[DispatchCoreStub, str]]:
    async with dispatch_core_running() as running:
        yield running


@pytest.fixture
async def cluster(
    tmp_path: Path, dispatch_core: tuple[DispatchCoreStub, str]
) -> AsyncIterator[Cluster]:
    _, dispatch_url = dispatch_core
    # No wrap-up: the next call right after the short one.
    overrides = {"routing": {"wrap_up_seconds": 0}}
    async with running_cluster(tmp_path / "cluster", dispatch_url, "_failover", overrides) as c:
        yield c


def routed(cluster: Cluster, pattern: str) -> list[str]:
    """Where Kamailio sent the requests its log lines matching `pattern` name, in order."""
    log = (cluster.settings.workdir / "kamailio.log").read_text(errors="replace")
    return re.findall(pattern, log)


async def kamailio_says(cluster: Cluster, line: str) -> None:
    """Wait until Kamailio's log has `line` (read every 100 ms, for 60 s)."""
    log = cluster.settings.workdir / "kamailio.log"
    async with asyncio.timeout(TAKEOVER_DEADLINE):
        while line not in log.read_text(errors="replace"):
            await asyncio.sleep(0.1)


def register_hops(cluster: Cluster) -> list[str]:
    """Where the agent's REGISTERs went: relayed to a node, or moved on from a dead one."""
    return routed(cluster, rf"REGISTER (?:of {AGENT} from \S+ relayed|\S+ moved) to (\S+)")


def call_hops(cluster: Cluster, sip_call_id: str) -> list[str]:
    sip_id = re.escape(sip_call_id)
    return routed(cluster, rf"(?:call {sip_id} dispatched|INVITE {sip_id} moved) to (\S+)")


async def queued_calls(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Calls waiting in a queue, once there is one (asked every 100 ms, for 60 s)."""
    async with asyncio.timeout(60):
        while True:
            async with sessions() as db:
                rows = (await db.scalars(select(Call).where(Call.state == "queued"))).all()
            if rows:
                return len(rows)
            await asyncio.sleep(0.1)


async def recorded(sessions: async_sessionmaker[AsyncSession], call_id: str) -> Recording:
    """The call's recording row, once the node has written its WAV (asked every 100 ms, for
    60 s: rtpengine's capture is turned into the WAV after the call's media session ends)."""
    async with asyncio.timeout(60):
        while True:
            async with sessions() as db:
                row = await db.scalar(select(Recording).where(Recording.call_id == call_id))
            if row is not None:
                return row
            await asyncio.sleep(0.1)


async def test_the_standby_takes_over_when_the_active_node_is_killed(
    cluster: Cluster, dispatch_core: tuple[DispatchCoreStub, str], tmp_path: Path
) -> None:
    core, _ = dispatch_core
    engine = create_async_engine(cluster.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    first = await cluster.wait_for_active(TAKEOVER_DEADLINE)
    second = next(node for node in cluster.nodes if node is not first)
    assert (await cluster.roles())[second.name] == "standby"
    assert options_status((second.address, second.sip_port), 0.5) is None  # not listening

    phone_port = free_ports(1)
    phone = await start_phone(tmp_path / "phone-1", phone_port, calls=2)
    callers: list[SippRun] = []
    async with aiohttp.ClientSession() as http:
        try:
            # Before: the phone registers through Kamailio, a call is bridged to the agent
            # and its ticket is saved and forwarded; a second caller waits in the queue.
            await register_through(cluster.sip_address, tmp_path / "reg-1", AGENT, phone_port)
            console = await NodeConsole.open(http, first.console_url, AGENT)
            await console.go_ready()
            # A short call, bridged and finished before the crash: recorded by rtpengine.
            short_call = await call_in(cluster, tmp_path / "caller-0", 3000)
            short = await console.next_message("call.offered")
            await console.next_message("call.ended")
            code, output = await short_call.wait(120)
            assert code == 0, output
            recording = await recorded(sessions, short["call_id"])
            callers.append(await call_in(cluster, tmp_path / "caller-1", 600_000))
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            status, saved = await console.request(
                "POST", "/api/tickets", ticket_form(offer["call_id"], offer)
            )
            assert status == 201, saved
            before = saved["number"]
            await core.wait_until(lambda got: any(c.idempotency_key == before for c in got), 60)
            callers.append(await call_in(cluster, tmp_path / "caller-2", 600_000))
            assert await queued_calls(sessions) == 1
            await console.ws.close()

            # The crash.
            first.kill()
            assert first.process is not None
            await first.process.process.wait()
            for run in (*callers, phone):
                run.stop()

            taken_over = await cluster.wait_for_active(TAKEOVER_DEADLINE, besides=first)
            assert taken_over is second
            assert options_status((second.address, second.sip_port), 2.0) == 200
            # Kamailio's probes find it.
            await kamailio_says(cluster, f"node up: sip:{second.address}:{second.sip_port}")

            # After: the phone's next REGISTER through Kamailio lands on the new node, the
            # agent signs in there, and a new call through Kamailio reaches them.
            phone = await start_phone(tmp_path / "phone-2", phone_port, calls=1)
            await register_through(cluster.sip_address, tmp_path / "reg-2", AGENT, phone_port)
            assert register_hops(cluster)[-1] == f"sip:{second.address}:{second.sip_port}"
            console = await NodeConsole.open(http, second.console_url, AGENT)
            await console.go_ready()
            after_call = await call_in(cluster, tmp_path / "caller-3", 2000)
            offer = await console.next_message("call.offered")
            assert offer["caller"] == CALLER_NUMBER
            await console.next_message("call.connected")
            status, saved = await console.request(
                "POST", "/api/tickets", ticket_form(offer["call_id"], offer, 1)
            )
            assert status == 201, saved
            after = saved["number"]
            await console.next_message("call.ended")
            code, output = await after_call.wait(120)
            assert code == 0, output
            code, output = await phone.wait(120)
            assert code == 0, output

            # The ticket saved before the crash is there.
            status, view = await console.request("GET", f"/api/tickets/{before}")
            assert status == 200, view
            assert view["forwarded"] is True
            if cluster.nginx_url is not None:
                # One console address: nginx passes the dead node by, to the active one.
                async with http.get(cluster.nginx_url + "/healthz") as response:
                    assert response.status == 200, await response.text()
            await console.close()
        finally:
            for run in (*callers, phone):
                run.stop()

    # Kamailio sent the new call to the new node.
    new_uri = f"sip:{second.address}:{second.sip_port}"
    async with sessions() as db:
        calls = {c.id: c for c in (await db.scalars(select(Call))).all()}
        missed = {m.call_id: m for m in (await db.scalars(select(MissedCall))).all()}
    last_call = calls[offer["call_id"]]
    hops = call_hops(cluster, last_call.sip_call_id)
    assert hops and hops[-1] == new_uri, hops

    # The call finished before the crash has its recording, stereo, linked to it.
    assert Path(recording.path).parent.parent == cluster.settings.workdir.resolve() / "recordings"
    with wave.open(recording.path, "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        assert wav.getnframes() > 0
    assert calls[short["call_id"]].end_reason == "caller-hangup"

    # None silently lost: the bridged call and the waiting one ended as "restart", the one
    # waiting is on the missed-call list, the last call ended normally.
    assert len(calls) == 4, calls
    restarted = [c for c in calls.values() if c.end_reason == "restart"]
    assert len(restarted) == 2, [(c.state, c.end_reason) for c in calls.values()]
    assert all(c.state == "ended" for c in calls.values())
    waiting = [c for c in restarted if c.connected_at is None]
    assert len(waiting) == 1 and missed[waiting[0].id].kind == "restart"
    assert last_call.end_reason == "caller-hangup"

    # Each case reached the dispatch core, exactly once.
    await core.wait_until(lambda got: any(c.idempotency_key == after for c in got), 60)
    counts = Counter(c.idempotency_key for c in core.received if "command" not in c.case)
    assert counts[before] == 1 and counts[after] == 1, counts
    await engine.dispose()
