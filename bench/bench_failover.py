"""Failover time of two `hotline serve` nodes on one PostgreSQL ([cluster] enabled): from the
active node's `kill -9` until the standby's /healthz answers role active and its SIP port
answers OPTIONS.

Both nodes are real processes on loopback; each round kills the active one and starts it
again as the standby of the next round. Prints figures; asserts nothing about time.

    python bench/bench_failover.py --postgres postgresql+asyncpg://postgres@127.0.0.1/DB
(the database is emptied and migrated first).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import migrations

ROOT = Path(__file__).resolve().parents[1]


def free_port_pair() -> int:
    """A port p with p and p+1 free on loopback (TCP p for the console, UDP p+1 for SIP)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sip:
                sip.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


def start(name: str, url: str, port: int, rtp: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_CLUSTER_ENABLED": "true",
        "HOTLINE_CLUSTER_NODE_NAME": name,
        "HOTLINE_CONSOLE_PORT": str(port),
        "HOTLINE_SIP_PORT": str(port + 1),
        "HOTLINE_SIP_RTP_PORT_MIN": str(rtp),
        "HOTLINE_SIP_RTP_PORT_MAX": str(rtp + 199),
        "HOTLINE_SIP_DRAIN_SECONDS": "0",
        "HOTLINE_DEMO_DISPATCH_SINK": "true",
        "HOTLINE_NLP_MODEL_PATH": "",
    }
    with (folder / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hotline.cli", "serve", "--plain-logs"],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def role(http: aiohttp.ClientSession, port: int) -> str | None:
    try:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return str((await response.json()).get("role"))
    except (aiohttp.ClientError, ValueError):
        return None


async def until_role(http: aiohttp.ClientSession, port: int, wanted: str) -> None:
    async with asyncio.timeout(120):
        while await role(http, port) != wanted:
            await asyncio.sleep(0.005)


async def until_sip(port: int) -> None:
    """Send OPTIONS every 5 ms until one is answered."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        own = sock.getsockname()[1]
        async with asyncio.timeout(120):
            for n in range(1_000_000):
                message = (
                    f"OPTIONS sip:127.0.0.1:{port + 1} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{own};branch=z9hG4bKbench{n};rport\r\n"
                    f"From: <sip:bench@127.0.0.1>;tag=b\r\nTo: <sip:127.0.0.1>\r\n"
                    f"Call-ID: bench-{own}-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                )
                await loop.sock_sendto(sock, message.encode(), ("127.0.0.1", port + 1))
                try:
                    async with asyncio.timeout(0.005):
                        await loop.sock_recv(sock, 65535)
                    return
                except TimeoutError:
                    continue


async def reset(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def run(url: str, rounds: int) -> None:
    await reset(url)
    await asyncio.to_thread(migrations.upgrade, url)
    folder = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    ports = {"a": free_port_pair(), "b": free_port_pair()}
    rtp = {"a": 33000, "b": 33200}
    processes = {}
    sip: list[float] = []
    try:
        async with aiohttp.ClientSession() as http:
            processes["a"] = start("a", url, ports["a"], rtp["a"], folder)
            await until_role(http, ports["a"], "active")
            active, standby = "a", "b"
            for n in range(rounds):
                processes[standby] = start(standby, url, ports[standby], rtp[standby], folder)
                await until_role(http, ports[standby], "standby")
                killed = time.perf_counter()
                os.kill(processes[active].pid, signal.SIGKILL)
                await asyncio.gather(
                    until_role(http, ports[standby], "active"), until_sip(ports[standby])
                )
                sip.append(time.perf_counter() - killed)
                processes[active].wait(30)
                print(f"round {n + 1}: {standby} active {sip[-1] * 1000:.0f} ms after kill -9")
                active, standby = standby, active
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(30)
    print(
        f"kill -9 → standby's /healthz active and SIP answering, {rounds} rounds: "
        f"median {statistics.median(sip) * 1000:.0f} ms, max {max(sip) * 1000:.0f} ms "
        f"(poll_seconds 0.5; logs in {folder})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a database of its own: it is emptied")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.postgres, args.rounds))


if __name__ == "__main__":
    main()
