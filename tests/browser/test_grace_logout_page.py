"""The grace logout seen by the shift lead, with real SIP: the agent goes ready on the desk,
then the agent's browser is closed and nothing reconnects; past [console]
presence_grace_seconds the lead's wallboard shows the agent 未签入, and a citizen dialling
from SIPp through the running gateway waits in the queue (the wallboard shows the call
waiting) and is offered to nobody."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from routing import AgentState
from tests.browser.test_console_page import browser, log_in
from tests.browser.test_wallboard_page import new_page
from tests.conftest import RunningHotline
from tests.support.peers import start_caller
from tests.support.sipp import free_ports

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize(
        "hotline_overrides",
        [{"console": {"presence_grace_seconds": 0.5}, "wallboard": {"figures_seconds": 0.2}}],
    ),
]
__all__ = ["browser"]  # the shared Chromium fixture


@pytest.fixture
async def wall(browser: Browser) -> AsyncIterator[Page]:
    async for page in new_page(browser, 1920, 1080):
        yield page


async def test_a_closed_desk_logs_the_agent_out_on_the_wallboard_and_the_call_waits(
    hotline: RunningHotline, browser: Browser, wall: Page, tmp_path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    routing = hotline.system.switchboard.routing

    await wall.goto(hotline.url("/"))
    await wall.get_by_label("坐席工号").fill("9001")
    await wall.get_by_label("密码").fill("pw-9001-secret")
    await wall.get_by_label("密码").press("Enter")
    await expect(wall).to_have_url(hotline.url("/wallboard"))
    await expect(wall.locator("body")).to_have_attribute("data-synced", "true")
    queue = wall.locator("[data-testid=queue][data-queue='12319']")
    agent_tile = wall.locator("[data-testid=agent][data-agent='1001']")

    # The agent's own browser: logs in, goes ready; the lead sees 空闲.
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    desk = await context.new_page()
    desk.set_default_timeout(15_000)
    await log_in(desk, hotline, "1001", "pw-1001-secret")
    await desk.get_by_test_id("btn-ready").click()
    await expect(desk.get_by_test_id("state-badge")).to_have_text("空闲")
    await expect(agent_tile.get_by_test_id("agent-state")).to_have_text("空闲")
    assert routing.agent("1001").state is AgentState.READY

    # The browser is closed (its websocket with it); nothing comes back.
    await context.close()
    await expect(agent_tile.get_by_test_id("agent-state")).to_have_text("未签入")
    assert routing.agent("1001").state is AgentState.LOGGED_OUT

    # A citizen dials 12319: the call waits, shown on the wallboard, and rings nobody.
    caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=4000)
    await expect(queue.get_by_test_id("queue-waiting")).to_have_text("1")
    await expect(wall.get_by_test_id("call")).to_have_count(1)
    await expect(wall.get_by_test_id("call")).to_contain_text("138****8000")
    (call_id,) = hotline.system.switchboard.calls
    assert routing.position(call_id) == 1
    assert routing.agent_for_call(call_id) is None
    await expect(agent_tile.get_by_test_id("agent-state")).to_have_text("未签入")

    code, output = await asyncio.wait_for(caller.wait(60), 90)
    assert code == 0, output
    await expect(queue.get_by_test_id("queue-waiting")).to_have_text("0")
    await expect(wall.get_by_test_id("call")).to_have_count(0)
