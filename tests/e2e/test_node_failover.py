"""Two `hotline serve` nodes on one PostgreSQL: the standby takes over when the active dies.

Both are real processes on loopback with [cluster] enabled. The first to start is active; the
second answers 503 on its console and keeps its SIP port closed. A citizen waits in the queue
of the active when it is killed (-9, by PID); the standby takes the lease, starts the whole
system on its own ports, and the waiting call is in the log as ended by the restart and on
the missed-call list (漏话). Last, the new active's lease connection is cut from the server
side, and it fences itself: it stops and exits with the lease-lost status.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from hotline.cluster import LEASE_LOST_EXIT
from hotline.lease import connect_arguments
from hotline.models import Call, MissedCall
from tests.e2e.test_gateway_robustness import SipProbe
from tests.support.cluster_db import cluster_postgres_url
from tests.support.peers import start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
# Starting a node (the classifier, the database) takes seconds; far longer is a failure.
DEADLINE = 90.0
AGENT = ("1001", "pw-1001-secret")
T = TypeVar("T")


@dataclass
class Node:
    name: str
    console_port: int
    sip_port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def node_env(url: str, node: Node, key: int, rtp_min: int) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return {
        **inherited,
        # The nodes run this checkout's code, whatever else is installed.
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_CLUSTER_ENABLED": "true",
        "HOTLINE_CLUSTER_LEASE_KEY": str(key),
        "HOTLINE_CLUSTER_POLL_SECONDS": "0.2",
        "HOTLINE_CLUSTER_NODE_NAME": node.name,
        "HOTLINE_CONSOLE_HOST": "127.0.0.1",
        "HOTLINE_CONSOLE_PORT": str(node.console_port),
        "HOTLINE_SIP_HOST": "127.0.0.1",
        "HOTLINE_SIP_PORT": str(node.sip_port),
        "HOTLINE_SIP_TRUNK_PEERS": "127.0.0.1",
        "HOTLINE_SIP_RTP_PORT_MIN": str(rtp_min),
        "HOTLINE_SIP_RTP_PORT_MAX": str(rtp_min + 199),
        "HOTLINE_SIP_NONCE_SECRET": "failover-nonce",
        "HOTLINE_SIP_DRAIN_SECONDS": "0",
        "HOTLINE_DEMO_DISPATCH_SINK": "true",
        "HOTLINE_DEMO_EVENT_DELAY_SECONDS": "0",
        "HOTLINE_NLP_MODEL_PATH": "",
    }


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    made = []
    for name in ("node-a", "node-b"):
        console = free_ports(2)
        made.append(Node(name, console, console + 1, tmp_path / f"{name}.log"))
    yield made[0], made[1]
    for node in made:  # whatever the test left running, by its PID
        if node.process is not None and node.process.poll() is None:
            os.kill(node.process.pid, signal.SIGKILL)
            node.process.wait(30)


def start(node: Node, env: dict[str, str], cwd: Path) -> None:
    with node.log.open("wb") as log:
        node.process = subprocess.Popen(
            [sys.executable, "-m", "hotline.cli", "serve", "--migrate", "--plain-logs"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def health(http: aiohttp.ClientSession, node: Node) -> tuple[int, dict[str, Any]] | None:
    """/healthz's status and body, or None while nothing listens."""
    try:
        async with http.get(node.url + "/healthz") as response:
            return response.status, await response.json()
    except aiohttp.ClientConnectionError:
        return None


async def until(what: str, node: Node, probe: Callable[[], Awaitable[T | None]]) -> T:
    """Ask again until the probe gives something, within the deadline; the node must live."""
    async with asyncio.timeout(DEADLINE):
        while True:
            got = await probe()
            if got is not None:
                return got
            process = node.process
            assert process is not None and process.poll() is None, (
                f"{node.name} exited while waiting for {what}:\n{node.output()}"
            )
            await asyncio.sleep(0.1)  # the pace of asking


async def role(http: aiohttp.ClientSession, node: Node, wanted: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        answer = await health(http, node)
        if answer is None or answer[1].get("role") != wanted:
            return None
        status, body = answer
        assert status == (200 if wanted == "active" else 503), body
        return body

    return await until(f"role {wanted}", node, probe)


async def refuses_sip(port: int) -> bool:
    """Whether nothing listens on the UDP port: the kernel answers an OPTIONS with port
    unreachable (a connected socket's next receive fails) instead of a SIP answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        host, own = sock.getsockname()
        options = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{own};branch=z9hG4bKstandby{own};rport\r\n"
            f"From: <sip:probe@{host}>;tag=s\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: standby-{own}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(sock, options.encode())
        try:
            async with asyncio.timeout(DEADLINE):
                await loop.sock_recv(sock, 65535)
        except ConnectionRefusedError:
            return True
        return False


async def add_agent(env: dict[str, str], cwd: Path) -> None:
    agent_id, password = AGENT
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hotline.cli", "agents", "add", agent_id, "--name", "坐席一"],
        input=f"{password}\nsip-{agent_id}-secret\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def database() -> str:
    return cluster_postgres_url()


async def rows(url: str) -> tuple[list[Call], list[MissedCall]]:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as db:
            calls = list(await db.scalars(select(Call)))
            missed = list(await db.scalars(select(MissedCall)))
        return calls, missed
    finally:
        await engine.dispose()


async def test_the_standby_takes_over_and_the_waiting_call_is_counted_as_missed(
    database: str, nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    first, second = nodes
    key = random.randrange(1, 2**62)
    first_env = node_env(database, first, key, 32000)
    second_env = node_env(database, second, key, 32200)
    caller = None
    async with aiohttp.ClientSession() as http:
        try:
            start(first, first_env, tmp_path)
            active = await role(http, first, "active")
            assert active["node"] == "node-a" and active["ok"]
            # Started second, on the same database and lease: it waits.
            start(second, second_env, tmp_path)
            standby = await role(http, second, "standby")
            assert standby == {"role": "standby", "error": "备用节点，等待接管", "node": "node-b"}
            async with http.post(second.url + "/api/login", json={}) as response:
                assert response.status == 503 and response.headers["Retry-After"] == "1"
            assert await refuses_sip(second.sip_port)
            await add_agent(first_env, tmp_path)

            # A citizen waits in the active node's queue: nobody is ready.
            caller = await start_caller(
                None,
                tmp_path,
                1,
                free_ports(4),
                talk_ms=120_000,
                remote=("127.0.0.1", first.sip_port),
            )

            async def queued() -> Call | None:
                calls, _ = await rows(database)
                return next((c for c in calls if c.state == "queued"), None)

            waiting = await until("the call in the queue", first, queued)

            assert first.process is not None
            os.kill(first.process.pid, signal.SIGKILL)
            await asyncio.to_thread(first.process.wait, 30)

            taken = await role(http, second, "active")
            assert taken["node"] == "node-b" and taken["ok"], taken
            probe = SipProbe()
            try:
                await probe.responses_until_sentinel(("127.0.0.1", second.sip_port))
            finally:
                probe.close()

            calls, missed = await rows(database)
            ended = next(c for c in calls if c.id == waiting.id)
            assert (ended.state, ended.end_reason) == ("ended", "restart")
            assert [(m.call_id, m.kind, m.status) for m in missed] == [
                (waiting.id, "restart", "open")
            ]
            agent_id, password = AGENT
            async with http.post(
                second.url + "/api/login", json={"agent_id": agent_id, "password": password}
            ) as response:
                assert response.status == 200, await response.text()
                token = (await response.json())["token"]
            async with http.get(
                second.url + "/api/missed-calls", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                assert response.status == 200
                listed = (await response.json())["missed_calls"]
            assert [(m["call_id"], m["kind"]) for m in listed] == [(waiting.id, "restart")]
            async with http.get(second.url + "/metrics") as response:
                assert 'hotline_cluster_active{node="node-b"} 1.0' in await response.text()

            # Fencing: the server ends the active node's lease connection.
            admin = await asyncpg.connect(**connect_arguments(database))
            try:
                cut = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'hotline lease node-b'"
                    " AND datname = current_database()"
                )
            finally:
                await admin.close()
            assert cut == 1
            assert second.process is not None
            code = await asyncio.to_thread(second.process.wait, DEADLINE)
            assert code == LEASE_LOST_EXIT, second.output()
            assert "租约丢失" in second.output()
        finally:
            if caller is not None:
                caller.stop()
                await caller.wait(30)
