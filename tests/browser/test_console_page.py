"""The console page in headless Chromium against the real server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import RunningHotline

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), "Chromium is missing (Debian package chromium)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def log_in(page: Page, hotline: RunningHotline, agent_id: str, password: str) -> None:
    await page.goto(hotline.url("/"))
    await page.get_by_label("坐席工号").fill(agent_id)
    await page.get_by_label("密码").fill(password)
    await page.get_by_test_id("login-submit").click()


async def test_agent_logs_in_goes_ready_and_saves_a_ticket_with_suggestions(
    hotline: RunningHotline,
    browser: Browser,
    tmp_path: Path,
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    page = await browser.new_page(viewport={"width": 1366, "height": 768})

    await log_in(page, hotline, "1001", "wrong-password")
    await expect(page.get_by_test_id("login-error")).to_have_text("工号或密码错误")

    await log_in(page, hotline, "1001", "pw-1001-secret")
    badge = page.get_by_test_id("state-badge")
    await expect(badge).to_have_text("未签入")
    await page.get_by_test_id("btn-ready").click()
    await expect(badge).to_have_text("空闲")
    assert hotline.system.switchboard.routing.agent("1001").state.value == "ready"

    # A shift lead pauses the agent from elsewhere: the page follows over the websocket.
    async with aiohttp.ClientSession() as http:
        lead = await hotline.login(http, "9001")
        async with http.post(
            hotline.url("/api/agents/1001/state"),
            json={"state": "paused"},
            headers={"Authorization": f"Bearer {lead}"},
        ) as response:
            assert response.status == 200
    await expect(badge).to_have_text("示忙")

    await page.get_by_label("诉求描述").fill("小区门口下水道堵了，污水漫到路面上")
    chips = page.get_by_test_id("suggestion")
    await expect(chips.first).to_be_visible()
    codes = [await chip.get_attribute("data-code") for chip in await chips.all()]
    assert "MUNICIPAL" in codes
    await expect(page.get_by_label("承办部门")).to_have_value("MUNICIPAL")
    await page.locator('[data-testid="suggestion"]').first.click()

    await page.get_by_label("地址").fill("人民路12号小区门口")
    await page.get_by_label("联系电话").fill("abc")
    await page.get_by_test_id("ticket-save").click()
    phone_error = page.locator('[data-testid="field-error"][data-field="phone"]')
    await expect(phone_error).to_be_visible()
    await expect(page.get_by_test_id("ticket-saved")).to_have_text("")

    await page.get_by_label("联系电话").fill("13800138000")
    await page.keyboard.press("Control+s")
    saved = page.get_by_test_id("ticket-saved")
    await expect(saved).to_have_text(re.compile(r"已保存：12319-\d{8}-\d{4}"))
    number = (await saved.text_content() or "").split("：")[1]
    await page.screenshot(path=str(tmp_path / "console.png"))

    ticket = await hotline.system.tickets.get(number)
    assert ticket is not None
    assert (ticket.phone, ticket.department_code, ticket.address) == (
        "13800138000",
        "MUNICIPAL",
        "人民路12号小区门口",
    )
    assert ticket.created_by == "1001"
    await page.close()
