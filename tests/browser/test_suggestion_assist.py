"""What the console adds beside the department chips, in real headless Chromium: the reasons,
the address heard in the description, the 确权 coordinator, and a repeat merged (并单)."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from hotline.models import OutboxMessage, Ticket
from tests.browser import test_console_page as console
from tests.conftest import RunningHotline

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
FIRST = {
    "hotline": "12319",
    "caller_name": "李四",
    "phone": "13800138000",
    "address": "解放路与人民路口",
    "description": "解放路与人民路口的井盖不见了",
    "department_code": "MUNICIPAL",
    "category_code": "01023",
    "urgent": True,
}
AGAIN = "人民路和解放路路口井盖不见了，晚上太危险"


async def test_reasons_address_and_a_repeat_merged(hotline: RunningHotline, page: Page) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with http.post(
            hotline.url("/api/tickets"), json=FIRST, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 201
            first = (await response.json())["number"]
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await page.get_by_label("联系电话").fill("13900139000")
    await page.get_by_label("诉求描述").fill(AGAIN)
    await expect(page.get_by_label("地址")).to_have_value("人民路和解放路路口")
    await expect(page.get_by_test_id("address-auto")).to_be_visible()
    # The danger model names the hazard, its failure and the exposure that make it urgent.
    await expect(page.get_by_test_id("reasons")).to_contain_text("井盖、不见了")
    await expect(page.get_by_test_id("reasons")).to_contain_text("→ 紧急：井盖缺失")
    repeat = page.get_by_test_id("repeat")
    await expect(repeat).to_have_count(1)
    await expect(repeat).to_have_attribute("data-number", first)
    await expect(repeat).to_contain_text("解放路与人民路口")
    await repeat.get_by_test_id("merge").click()
    await expect(page.get_by_test_id("merge-target")).to_contain_text(first)
    await page.get_by_test_id("ticket-save").click()
    await expect(page.get_by_test_id("ticket-saved")).to_contain_text(f"已并入 {first}")
    async with hotline.system.sessions() as db:
        merged = await db.scalar(select(Ticket).where(Ticket.merged_into == first))
        forwarded = (await db.scalars(select(OutboxMessage.ticket_id))).all()
    assert merged is not None and merged.status == "merged"
    assert merged.id not in forwarded
    # The form is fresh for the next caller: no merge, no repeat list, no address carried over.
    await expect(page.get_by_test_id("merge-target")).to_be_hidden()
    await expect(page.get_by_test_id("repeats")).to_be_hidden()


async def test_typed_address_is_kept_and_unclear_ownership_offers_the_coordinator(
    hotline: RunningHotline, page: Page
) -> None:
    await hotline.add_agent("1001")
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await page.get_by_label("地址").fill("东城区某某街道")
    await page.get_by_label("诉求描述").fill("建设路上井盖坏了，问了几家都说不归他们管，互相推")
    await expect(page.get_by_test_id("coordinator")).to_be_visible()
    await expect(page.get_by_test_id("ownership")).to_contain_text("权属不明井盖")
    await expect(page.get_by_label("地址")).to_have_value("东城区某某街道")  # typed, kept
    await page.get_by_test_id("coordinator").click()
    await expect(page.get_by_label("承办部门")).to_have_value("COORDINATION")
    await expect(page.locator("#department-auto")).to_be_hidden()
