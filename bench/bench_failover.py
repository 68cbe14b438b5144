"""Failover time of `make cluster`'s arrangement (tools/cluster_launcher.py: two `hotline
serve` nodes on one PostgreSQL, rtpengine, Kamailio in front), measured from the active
node's `kill -9` until the standby's /healthz says active, until its SIP port answers
OPTIONS with 200, and until a new call through Kamailio is answered (a minimal UAC retrying
every 50 ms). Each round kills the active node and starts it again as the standby of the
next round. Prints figures; asserts nothing about time. bench/bench_cluster.py measures its
failover with `measure_failover` from here.

    python bench/bench_failover.py [--rounds 5] [--database-url URL]
(the database, default `hotline_failover_bench` on 127.0.0.1:5432, is emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.cluster_run import fresh_database  # noqa: E402
from tests.support.sipp import free_ports  # noqa: E402
from tools.cluster_launcher import Cluster, ClusterSettings, Node  # noqa: E402
from tools.cluster_support import options_status  # noqa: E402

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline_failover_bench"
GIVE_UP_SECONDS = 120.0


async def start_cluster(
    work: Path,
    database_url: str,
    *,
    rtp: tuple[int, int] = (24000, 24399),
    relay: tuple[int, int] = (34000, 34199),
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> Cluster:
    """The cluster on free ports of loopback (no nginx), on an emptied database."""
    base, _, name = database_url.rpartition("/")
    url = await fresh_database(f"{base}/{name}", "")
    cluster = Cluster(
        ClusterSettings(
            workdir=work / "cluster",
            node_sip_port=free_ports(1),
            node_console_port=free_ports(1),
            rtp_ports=rtp,
            proxy=("127.0.0.1", free_ports(1)),
            rtpengine_ng=free_ports(1),
            rtpengine_cli=free_ports(1),
            rtpengine_ports=relay,
            nginx_port=None,
            database_url=url,
            overrides={"sip": {"drain_seconds": 0}, **(overrides or {})},
        )
    )
    await cluster.start()
    return cluster


def answered_through(proxy: tuple[str, int], timeout: float) -> bool:
    """One INVITE through the proxy: True once a 200 comes (then ACK and BYE by its route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        common = (
            f"From: <sip:13800138000@127.0.0.1:{port}>;tag={tag}\r\nCall-ID: {call_id}\r\n"
            "Max-Forwards: 70\r\n"
        )
        invite = (
            f"INVITE sip:12319@{proxy[0]}:{proxy[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
            f"{common}To: <sip:12319@{proxy[0]}>\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:13800138000@127.0.0.1:{port}>\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"
        )
        sock.sendto(invite.encode(), proxy)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            sock.settimeout(left)
            try:
                data = sock.recv(65535).decode(errors="replace")
            except OSError:
                return False
            status = data.split(" ", 2)[1] if data.startswith("SIP/2.0 ") else ""
            if status.startswith("1"):
                continue
            if status != "200":
                return False
            break
        headers = data.split("\r\n\r\n", 1)[0].split("\r\n")
        to = next(h for h in headers if h.lower().startswith("to:"))
        contact = next(h for h in headers if h.lower().startswith("contact:"))
        target = contact.split("<", 1)[1].split(">", 1)[0]
        routes = [
            h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("record-route:")
        ]
        route = "".join(f"Route: {r}\r\n" for r in routes)
        for number, method in ((1, "ACK"), (2, "BYE")):
            request = (
                f"{method} {target} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
                f"{route}{common}{to}\r\nCSeq: {number} {method}\r\nContent-Length: 0\r\n\r\n"
            )
            sock.sendto(request.encode(), proxy)
        return True


@dataclass
class Failover:
    """Seconds from kill -9 until each sign of the new active node; None: not within 120 s."""

    killed: str
    took_over: str
    healthz: float | None = None
    options: float | None = None
    call: float | None = None

    def line(self) -> str:
        def since(value: float | None) -> str:
            return f"{value:.2f} s" if value is not None else f"not within {GIVE_UP_SECONDS:.0f} s"

        return (
            f"kill -9 {self.killed} → {self.took_over} /healthz active: {since(self.healthz)};"
            f" answers OPTIONS 200: {since(self.options)};"
            f" first new call answered through Kamailio: {since(self.call)}"
        )


async def measure_failover(cluster: Cluster, active: Node) -> Failover:
    """Kill `active`; three pollers at once (each asks again 50 ms after an answer) time
    when the other node says it is active, answers OPTIONS, and a call through the proxy
    is answered."""
    standby = next(node for node in cluster.nodes if node is not active)
    sip = (standby.address, standby.sip_port)
    killed_at = time.monotonic()

    async def first(check: Callable[[], Awaitable[bool]]) -> float | None:
        while time.monotonic() - killed_at < GIVE_UP_SECONDS:
            if await check():
                return time.monotonic() - killed_at
            await asyncio.sleep(0.05)
        return None

    async with aiohttp.ClientSession() as http:

        async def healthz() -> bool:
            return await standby.role(http) == "active"

        async def options() -> bool:
            return await asyncio.to_thread(options_status, sip, 0.05) == 200

        async def call() -> bool:
            return await asyncio.to_thread(answered_through, cluster.sip_address, 5.0)

        active.kill()
        times = await asyncio.gather(first(healthz), first(options), first(call))
    return Failover(active.name, standby.name, *times)


async def restart_as_standby(cluster: Cluster, node: Node) -> None:
    """The killed node started again (as systemd would), back as the standby."""
    assert node.process is not None
    await node.process.process.wait()
    cluster.processes.remove(node.process)
    await cluster.start_node(node)
    async with asyncio.timeout(GIVE_UP_SECONDS):
        while (await cluster.roles())[node.name] != "standby":
            await asyncio.sleep(0.1)


async def run(args: argparse.Namespace, work: Path) -> None:
    cluster = await start_cluster(work, args.database_url)
    rounds: list[Failover] = []
    try:
        active = await cluster.wait_for_active(GIVE_UP_SECONDS)
        for n in range(args.rounds):
            rounds.append(await measure_failover(cluster, active))
            print(f"round {n + 1}: {rounds[-1].line()}", flush=True)
            await restart_as_standby(cluster, active)
            active = await cluster.wait_for_active(GIVE_UP_SECONDS)
    finally:
        await cluster.stop()
    for sign in ("healthz", "options", "call"):
        times = [t for t in (getattr(r, sign) for r in rounds) if t is not None]
        if times:
            print(
                f"{sign}: median {statistics.median(times):.2f} s, max {max(times):.2f} s"
                f" ({len(times)}/{len(rounds)} rounds)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep its logs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as scratch:
        asyncio.run(run(args, args.keep or Path(scratch)))


if __name__ == "__main__":
    main()
