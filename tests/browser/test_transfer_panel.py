"""The call card's transfer panel in headless Chromium (gateway events simulated)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from telephony.events import AgentAnswered, CallTransferred
from tests.browser.test_console_page import CHROMIUM, FLAGS, arrive, ready_agent
from tests.conftest import RunningHotline

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
async def desk_page() -> AsyncIterator[Page]:
    """A console-sized Chromium page that fails the test on any uncaught script error."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM} (Debian package chromium)")
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1366, "height": 768}, locale="zh-CN"
            )
            page = await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_default_timeout(10_000)
            yield page
        finally:
            await browser.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def hotline_overrides() -> dict[str, dict[str, object]]:
    return {
        "sip": {
            "outbound_proxy": "127.0.0.1:5999",
            "transfer_targets": ("城管执法=80010", "12345 热线=12345"),
        }
    }


async def test_the_agent_transfers_from_the_call_card(
    hotline: RunningHotline, desk_page: Page
) -> None:
    page = desk_page
    badge = await ready_agent(page, hotline)
    box = page.get_by_test_id("transfer-box")
    call_id = arrive(hotline, "13912345678", "12319", "12319")
    await expect(page.get_by_test_id("call-panel")).to_have_attribute("data-phase", "offered")
    await expect(box).to_be_hidden()  # nothing to transfer before the call is connected

    hotline.system.switchboard.on_telephony_event(AgentAnswered(datetime.now(UTC), call_id, "1001"))
    await expect(box).to_be_visible()
    target = page.get_by_label("转接至")
    await expect(target.locator("option")).to_have_text(
        ["城管执法（80010）", "12345 热线（12345）"]
    )
    await target.select_option("80010")

    # A simulated call has no SIP legs: the server refuses, and the page says so plainly.
    await page.get_by_test_id("transfer-blind").click()
    await expect(page.get_by_test_id("transfer-status")).to_have_text("该通话已结束")

    hotline.system.switchboard.on_telephony_event(
        CallTransferred(datetime.now(UTC), call_id, "1001", "80010", "blind")
    )
    await expect(page.get_by_test_id("call-status")).to_contain_text("已转接")
    await expect(box).to_be_hidden()
    await expect(badge).to_have_text("空闲")  # wrap-up (0.5 s in tests) then ready again
