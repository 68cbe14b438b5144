"""The shift lead's wallboard in headless Chromium, driven by a real SIP call: SIPp dials the
hotline through the running gateway, a SIPp phone answers for the agent. The lead sees the
call wait, acknowledges the waiting-too-long alert, sees the agent talking, and pauses the
agent with a reason that the agent's own page then shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from hotline.audit import AuditLog
from tests.browser.test_console_page import browser, log_in
from tests.conftest import RunningHotline
from tests.support.peers import register_phones, start_agent_phones, start_caller
from tests.support.sipp import free_ports

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize(
        "hotline_overrides", [{"wallboard": {"wait_alert_seconds": 2, "figures_seconds": 0.2}}]
    ),
]
__all__ = ["browser"]  # the shared Chromium fixture


async def new_page(browser: Browser, width: int, height: int) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
async def wall(browser: Browser) -> AsyncIterator[Page]:
    async for page in new_page(browser, 1920, 1080):
        yield page


@pytest.fixture
async def desk(browser: Browser) -> AsyncIterator[Page]:
    async for page in new_page(browser, 1366, 768):
        yield page


async def test_a_real_call_moves_the_wallboard_and_the_lead_pauses_the_agent(
    hotline: RunningHotline, wall: Page, desk: Page, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1)
    await register_phones(hotline, tmp_path, ["1001"], phone_port)

    # The lead logs in on the console's address and lands on the wallboard.
    await wall.goto(hotline.url("/"))
    await wall.get_by_label("坐席工号").fill("9001")
    await wall.get_by_label("密码").fill("pw-9001-secret")
    await wall.get_by_label("密码").press("Enter")
    await expect(wall).to_have_url(hotline.url("/wallboard"))
    await expect(wall.locator("body")).to_have_attribute("data-synced", "true")
    queue = wall.locator("[data-testid=queue][data-queue='12319']")
    agent_tile = wall.locator("[data-testid=agent][data-agent='1001']")
    await expect(queue.get_by_test_id("queue-waiting")).to_have_text("0")
    await expect(agent_tile.get_by_test_id("agent-state")).to_have_text("未签入")

    await log_in(desk, hotline, "1001", "pw-1001-secret")  # signed in, not yet ready
    await expect(desk.get_by_test_id("state-badge")).to_have_text("未签入")

    # A citizen dials 12319 from the trunk; nobody is ready, so the call waits.
    caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=15000)
    await expect(queue.get_by_test_id("queue-waiting")).to_have_text("1")
    await expect(wall.get_by_test_id("call")).to_have_count(1)
    await expect(wall.get_by_test_id("call")).to_contain_text("138****8000")

    # Past the waiting limit the alert comes; the lead acknowledges it.
    alert = wall.locator("[data-testid=alert][data-kind=long_wait]")
    await expect(alert).to_contain_text("来电等待过长")
    await alert.get_by_test_id("alert-ack").click()
    await expect(alert).to_have_attribute("data-acked", "true")
    await expect(alert).to_contain_text("已确认（9001）")

    # The agent goes ready: the call rings the SIPp phone, which answers.
    await desk.get_by_test_id("btn-ready").click()
    await expect(agent_tile.get_by_test_id("agent-state")).to_have_text("通话中")
    await expect(agent_tile.get_by_test_id("agent-detail")).to_contain_text("12319 通话")
    await expect(queue.get_by_test_id("queue-waiting")).to_have_text("0")
    await expect(desk.get_by_test_id("state-badge")).to_have_text("通话中")
    # The caller answered at last: the waiting alert clears by itself.
    await expect(alert).to_have_count(0)

    # The lead pauses the agent for training; it applies when the call ends.
    await agent_tile.click()
    await wall.get_by_test_id("control-reason").select_option("培训")
    await wall.get_by_test_id("force-paused").click()
    await expect(wall.get_by_test_id("control-result")).to_contain_text("通话结束后示忙")
    await wall.get_by_test_id("control-close").click()

    # The caller hangs up; the agent is paused, and both pages say why.
    await expect(desk.get_by_test_id("state-badge")).to_have_text("示忙", timeout=30_000)
    await expect(desk.get_by_test_id("state-note")).to_have_text("示忙原因：培训")
    await expect(agent_tile.get_by_test_id("agent-state")).to_have_text("示忙")
    await expect(agent_tile.get_by_test_id("agent-detail")).to_have_text("原因：培训")
    await expect(queue.get_by_test_id("queue-today")).to_contain_text("接通 1")

    assert (await caller.wait(60))[0] == 0
    assert (await phone.wait(60))[0] == 0
    log = AuditLog(hotline.system.sessions)
    (paused,) = await log.entries(action="agent.state")
    assert (paused.actor_id, paused.object_id, paused.why) == ("9001", "1001", "培训")
    (acked,) = await log.entries(action="alert.ack")
    assert acked.actor_id == "9001" and acked.detail["alert"] == "long_wait"
    async with aiohttp.ClientSession() as http:
        async with http.get(hotline.url("/metrics")) as response:
            assert 'hotline_alerts_total{kind="long_wait"} 1.0' in await response.text()
