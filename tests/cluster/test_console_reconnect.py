"""An agent's console in real headless Chromium through nginx in front of two real `hotline
serve` nodes (tools/cluster_launcher.py, with Kamailio, rtpengine and PostgreSQL): the agent
signs in at nginx's address and is ready on the active node; that node is killed (-9, by its
PID). The page says the live connection is down, reconnects by itself through the same
address to the node that took over (the session is in the shared database), shows the agent
ready as the new node restored them, and a real call through Kamailio pops on it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from hotline.models import AgentEvent
from tests.browser import test_console_page as console
from tests.support.cluster_peers import demo_password, register_through, start_phone
from tests.support.cluster_run import (
    call_in,
    dispatch_core_running,
    nginx_required,
    running_cluster,
)
from tests.support.peers import CALLER_NUMBER
from tests.support.sipp import free_ports
from tools.cluster_launcher import Cluster

browser, page = console.browser, console.page  # the same Chromium fixtures

pytestmark = [pytest.mark.browser, pytest.mark.sipp, pytest.mark.postgres]
AGENT = "1001"
DEADLINE_MS = 60_000  # generous: the machine may be busy; nothing asserts on time


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    nginx_required()
    async with dispatch_core_running() as (_, dispatch_url):
        async with running_cluster(tmp_path / "cluster", dispatch_url, "_reconnect") as running:
            assert running.nginx_url is not None
            yield running


async def latest_state(sessions: async_sessionmaker[AsyncSession], agent_id: str) -> str | None:
    async with sessions() as db:
        event = await db.scalar(
            select(AgentEvent)
            .where(AgentEvent.agent_id == agent_id)
            .order_by(AgentEvent.id.desc())
            .limit(1)
        )
    return event.state if event is not None else None


async def saved_as(sessions: async_sessionmaker[AsyncSession], agent_id: str, state: str) -> None:
    """Wait until the agent's last state change is in the database (every 100 ms, 60 s)."""
    async with asyncio.timeout(DEADLINE_MS / 1000):
        while await latest_state(sessions, agent_id) != state:
            await asyncio.sleep(0.1)


async def node_behind_nginx(page: Page) -> str:
    """Which node answers the page's requests through nginx (/healthz names it). Asked
    until one answers 200 (every 100 ms, 60 s): just after a failover nginx may still count
    both nodes as failed (the dead one, and the standby's 503) and answer 502 itself."""
    async with asyncio.timeout(DEADLINE_MS / 1000):
        while True:
            status, body = await page.evaluate(
                """async () => {
                    const response = await fetch("/healthz", {credentials: "same-origin"});
                    return [response.status, await response.text()];
                }"""
            )
            if status == 200:
                return str(json.loads(body)["node"])
            await asyncio.sleep(0.1)


async def test_the_console_reconnects_through_nginx_to_the_node_that_took_over(
    cluster: Cluster, page: Page, tmp_path: Path
) -> None:
    assert cluster.nginx_url is not None
    engine = create_async_engine(cluster.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    first = await cluster.wait_for_active(DEADLINE_MS / 1000)
    second = next(node for node in cluster.nodes if node is not first)
    phone_port = free_ports(1)
    phone = await start_phone(tmp_path / "phone", phone_port, calls=1)
    caller = None
    try:
        await register_through(cluster.sip_address, tmp_path / "register", AGENT, phone_port)

        # Signed in at nginx's address, ready, on the active node.
        await page.goto(cluster.nginx_url + "/?desk")
        await page.get_by_label("坐席工号").fill(AGENT)
        await page.get_by_label("密码").fill(demo_password(AGENT))
        await page.get_by_label("密码").press("Enter")
        await expect(page.locator("body")).to_have_attribute("data-socket", "open")
        await page.get_by_test_id("btn-ready").click()
        await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")
        assert await node_behind_nginx(page) == first.name
        await saved_as(sessions, AGENT, "ready")  # what the next node restores

        # The crash: the page says so while it reconnects.
        first.kill()
        assert first.process is not None
        await first.process.process.wait()
        banner = page.get_by_test_id("banner")
        await expect(banner).to_be_visible(timeout=DEADLINE_MS)
        await expect(banner).to_contain_text("实时连接已断开")

        # Back by itself, through the same address, on the node that took over: the banner
        # gone, the session still valid, the agent ready as the restore left them.
        await expect(page.locator("body")).to_have_attribute(
            "data-socket", "open", timeout=DEADLINE_MS
        )
        await expect(banner).to_be_hidden(timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("login-agent")).to_be_hidden()
        await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")
        assert await node_behind_nginx(page) == second.name
        assert (await cluster.wait_for_active(DEADLINE_MS / 1000, besides=first)) is second

        # A citizen's call through Kamailio pops on this console; the phone answers it.
        caller = await call_in(cluster, tmp_path / "caller", 3000)
        await expect(page.get_by_test_id("call-status")).to_have_text("通话中", timeout=DEADLINE_MS)
        await expect(page.get_by_text(CALLER_NUMBER).first).to_be_visible()
        code, output = await caller.wait(120)
        assert code == 0, output
        code, output = await phone.wait(120)
        assert code == 0, output
    finally:
        for run in (phone, caller):
            if run is not None:
                run.stop()
        await engine.dispose()

    # The node that took over answered it, and the session that signed in before the crash
    # is the one still in use.
    async with aiohttp.ClientSession() as http:
        async with http.get(cluster.nginx_url + "/healthz") as response:
            assert response.status == 200
            assert (await response.json())["node"] == second.name
