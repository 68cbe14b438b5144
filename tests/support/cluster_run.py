"""A cluster of tools/cluster_launcher.py for one test, on free ports of loopback, its
database on the suite's PostgreSQL server; a dispatch core for its cases; citizens calling
in through its Kamailio."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp import web

from tests.support.cluster_db import cluster_postgres_url
from tests.support.dispatch_core import DispatchCoreStub
from tests.support.peers import CALLER_NUMBER
from tests.support.rtp_audio import caller_payloads, write_rtp_pcap
from tests.support.sipp import SippRun, free_ports, start_sipp
from tools.cluster_launcher import Cluster, ClusterSettings


async def fresh_database(url: str, suffix: str) -> str:
    """A new, empty database named after the test database, on the same server."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + suffix
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


@asynccontextmanager
async def dispatch_core_running() -> AsyncIterator[tuple[DispatchCoreStub, str]]:
    """A dispatch core on loopback, and the URL cases are sent to."""
    stub = DispatchCoreStub()
    runner = web.AppRunner(stub.app())
    await runner.setup()
    port = free_ports(1)
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield stub, f"http://127.0.0.1:{port}/cases"
    finally:
        await runner.cleanup()


def nginx_required() -> None:
    """A test about the consoles behind nginx: without nginx it fails in CI, where
    tools/install-test-deps.sh installs it, and is skipped elsewhere."""
    if shutil.which("nginx") is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (tools/install-test-deps.sh installs it)")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")


@asynccontextmanager
async def running_cluster(
    workdir: Path,
    dispatch_url: str,
    database_suffix: str,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> AsyncIterator[Cluster]:
    """Two nodes, rtpengine, Kamailio and (when installed) nginx, on free ports."""
    # Checked and emptied on a thread: the check runs its own event loop.
    database_url = await fresh_database(
        await asyncio.to_thread(cluster_postgres_url), database_suffix
    )
    rtp, relay = free_ports(200), free_ports(100)
    sections: dict[str, dict[str, object]] = {
        "dispatch": {"url": dispatch_url, "max_backoff_seconds": 2},
        "demo": {"dispatch_sink": False},
        "survey": {"enabled": False},
        "sip": {"drain_seconds": 0},
    }
    for section, keys in (overrides or {}).items():
        sections.setdefault(section, {}).update(keys)
    settings = ClusterSettings(
        workdir=workdir,
        node_sip_port=free_ports(1),
        node_console_port=free_ports(1),
        rtp_ports=(rtp, rtp + 199),
        proxy=("127.0.0.1", free_ports(1)),
        rtpengine_ng=free_ports(1),
        rtpengine_cli=free_ports(1),
        rtpengine_ports=(relay, relay + 99),
        nginx_port=free_ports(1) if shutil.which("nginx") else None,
        database_url=database_url,
        overrides=sections,
    )
    running = Cluster(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def call_in(cluster: Cluster, workdir: Path, talk_ms: int) -> SippRun:
    """A citizen calls through Kamailio and talks for `talk_ms`, then hangs up."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_rtp_pcap(workdir / "caller.pcap", caller_payloads(3.0, 0), 0)
    return await start_sipp(
        "caller",
        "caller_hangs_up_via_proxy.xml",
        cwd=workdir,
        local_port=free_ports(1),
        remote=cluster.sip_address,
        calls=1,
        extra=[
            *("-key", "caller", CALLER_NUMBER, "-s", "12319", "-d", str(talk_ms)),
            *("-mp", str(free_ports(4)), "-mi", "127.0.0.1"),
        ],
        timeout_s=600,
    )
