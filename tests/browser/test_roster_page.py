"""The roster editor in headless Chromium: a lead puts an agent on a shift with a dialect seat
by keyboard alone and sees the staffing gap of that day close by one; drags another agent in;
takes one off with Delete, and the gap opens again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from hotline.models import Call
from routing.staffing_gap import past_weekdays
from tests.browser.test_console_page import browser
from tests.conftest import RunningHotline

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize(
        "hotline_overrides",
        [
            {
                "hotlines": {"12319": "12319", "12320": "粤语"},
                "routing": {"wrap_up_seconds": 0.5, "staffing_weeks": 1},
            }
        ],
    ),
]
__all__ = ["browser"]
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"script errors on the page: {errors}"


def monday_after_next(now: datetime) -> date:
    today = now.astimezone(ZONE).date()
    return today - timedelta(days=today.weekday()) + timedelta(days=14)


async def test_a_lead_edits_the_roster_by_keyboard_and_the_gap_follows(
    hotline: RunningHotline, page: Page
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("9001", role="lead")
    now = datetime.now(UTC)
    monday = monday_after_next(now)
    # The Monday the gap reads: 30 calls between 09:00 and 10:00 (2.5 Erlangs at 300 s).
    (read,) = past_weekdays(monday, now, ZONE, 1)
    nine = datetime(read.year, read.month, read.day, 9, tzinfo=ZONE)
    async with hotline.system.sessions.begin() as db:
        db.add_all(
            Call(
                id=str(uuid.uuid4()),
                sip_call_id=f"s{n}",
                dialled="12319",
                queue="12319",
                caller="13800000000",
                state="ended",
                codec="PCMU",
                arrived_at=nine + timedelta(minutes=2 * n),
            )
            for n in range(30)
        )

    await page.goto(hotline.url("/"))
    await page.get_by_label("坐席工号").fill("9001")
    await page.get_by_label("密码").fill("pw-9001-secret")
    await page.get_by_label("密码").press("Enter")
    await expect(page).to_have_url(hotline.url("/wallboard"))
    # From the wallboard to the roster of the week of that Monday, then keys only.
    await page.goto(hotline.url(f"/roster?start={monday - timedelta(days=7)}"))
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.get_by_test_id("next-week").press("Enter")
    await expect(page.get_by_test_id("week-label")).to_contain_text(monday.isoformat())
    first = page.locator("[data-testid=cell][data-row='0'][data-col='0']")
    await first.focus()
    await expect(page.locator("body")).to_have_attribute("data-gap-day", monday.isoformat())
    nine_row = page.locator("[data-testid=gap-hour][data-hour='9']")
    await expect(nine_row.get_by_test_id("gap-calls")).to_have_text("30.0")
    await expect(nine_row.get_by_test_id("gap-rostered")).to_have_text("0")
    needed = int(await nine_row.get_by_test_id("gap-needed").inner_text())
    assert needed >= 3
    await expect(nine_row.get_by_test_id("gap-value")).to_have_text(str(-needed))

    # Arrow keys move along the grid and the gap follows the day.
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("body")).to_have_attribute(
        "data-gap-day", (monday + timedelta(days=1)).isoformat()
    )
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator("body")).to_have_attribute("data-gap-day", monday.isoformat())
    await expect(first).to_be_focused()

    # Enter opens the form on Monday's 白班: agent 1001 with the 粤语 dialect seat.
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("assign-where")).to_have_text(f"{monday} 白班")
    await page.keyboard.type("1001")
    await page.keyboard.press("Tab")  # 角色
    await page.keyboard.press("Tab")  # 技能席
    await page.keyboard.type("12319:3")
    await page.keyboard.press("Tab")  # the first dialect box: 12319
    await page.keyboard.press("Tab")  # 粤语
    await page.keyboard.press("Space")
    await page.keyboard.press("Enter")
    chip = first.locator("[data-testid=chip][data-agent='1001']")
    await expect(chip.get_by_test_id("chip-dialects")).to_have_text("方言:粤语")
    await expect(nine_row.get_by_test_id("gap-rostered")).to_have_text("1")
    await expect(nine_row.get_by_test_id("gap-value")).to_have_text(str(1 - needed))
    await expect(first).to_be_focused()

    # Dragging 1002 from the agents onto the same shift adds a second agent.
    await page.locator("[data-testid=palette-agent][data-agent='1002']").drag_to(first)
    await expect(first.get_by_test_id("chip")).to_have_count(2)
    await expect(nine_row.get_by_test_id("gap-rostered")).to_have_text("2")

    # Number key 1 picks the first agent in the cell, Delete takes them off.
    await first.focus()
    await page.keyboard.press("1")
    await expect(chip).to_be_focused()
    await page.keyboard.press("Delete")
    await expect(chip).to_have_count(0)
    await expect(nine_row.get_by_test_id("gap-rostered")).to_have_text("1")
    await expect(nine_row.get_by_test_id("gap-value")).to_have_text(str(1 - needed))
    entries = [
        (e.agent_id, e.dialects)
        for e in hotline.system.switchboard.duty.roster.entries  # type: ignore[union-attr]
    ]
    assert entries == [("1002", ())]
