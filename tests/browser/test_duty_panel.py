"""The duty panel in real headless Chromium: a lead sees who is on duty and lets an agent
off the roster go ready; an agent sees the missed-call list and completes a callback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from playwright.async_api import Page, expect

from routing.roster import Roster
from telephony.events import CallArrived, CallbackRequested, CallEnded
from tests.browser import test_console_page as console
from tests.conftest import RunningHotline

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


async def test_a_lead_sees_the_shift_and_lets_an_agent_go_ready(
    hotline: RunningHotline, page: Page
) -> None:
    for agent in ("1001", "1002"):
        await hotline.add_agent(agent)
    await hotline.add_agent("9001", role="lead")
    day, shift = Roster.of_pattern("2x12", [], "Asia/Shanghai").current(datetime.now(UTC))
    csv = f"date,shift,agent_id,role,skills,dialects\n{day},{shift.name},1001,agent,,粤语\n"
    csv += f"{day},{shift.name},9001,lead,,\n"
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "9001")
        async with http.put(
            hotline.url("/api/roster"), data=csv, headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert r.status == 200
    await log_in(page, hotline, "9001", "pw-9001-secret")
    on_duty = page.get_by_test_id("roster-person")
    await expect(on_duty).to_have_text(["1001  粤语", "9001（班长）"])
    await expect(page.get_by_test_id("roster-shift")).to_contain_text(f"{day} {shift.name}")
    await page.get_by_test_id("override-agent").fill("1002")
    await page.get_by_test_id("override-reason").fill("来电高峰")
    await page.get_by_test_id("override-submit").click()
    await expect(page.get_by_test_id("override-result")).to_contain_text("已允许 1002 示闲")
    await expect(page.get_by_test_id("roster-override")).to_have_text(
        "1002  临时上岗（9001：来电高峰）"
    )
    assert hotline.system.switchboard.duty is not None
    assert hotline.system.switchboard.duty.may_go_ready("1002", datetime.now(UTC))


async def test_an_agent_sees_missed_calls_and_completes_a_callback(
    hotline: RunningHotline, page: Page
) -> None:
    await hotline.add_agent("1001")
    switchboard = hotline.system.switchboard
    now = datetime.now(UTC) - timedelta(minutes=5)
    for n, number in enumerate(["13800001111", "13900002222"]):
        switchboard.on_telephony_event(
            CallArrived(now, f"c{n}", f"s{n}", number, "12319", "12319", "PCMU")
        )
    switchboard.on_telephony_event(CallbackRequested(now, "c0", "13800001111"))
    switchboard.on_telephony_event(CallEnded(now, "c0", "caller-hangup", 0, 0))
    switchboard.on_telephony_event(CallEnded(now, "c1", "caller-hangup", 0, 0))
    await switchboard.synced()

    await log_in(page, hotline, "1001", "pw-1001-secret")
    items = page.get_by_test_id("missed-item")
    await expect(items).to_have_count(2)
    await expect(items.nth(1)).to_contain_text("139****2222")
    await page.get_by_test_id("btn-ready").click()
    # The callback is offered to the agent as an outbound task: the badge shows it is theirs.
    await expect(page.get_by_test_id("state-badge")).to_have_text("振铃")
    assert switchboard.routing.agent_for_call("c0") == "1001"
    # The task is pushed to the console at once, with the number unmasked for this agent.
    await expect(page.get_by_test_id("callback-task")).to_be_visible()
    await expect(page.get_by_test_id("callback-task-number")).to_have_text("13800001111")
    await switchboard.synced()
    await page.get_by_test_id("missed-refresh").click()
    await expect(items.nth(0)).to_contain_text("13800001111")  # shown to the one calling back
    await page.get_by_test_id("callback-task-done").click()
    await expect(page.get_by_test_id("callback-task")).to_be_hidden()
    await expect(items).to_have_count(1)
    await expect(items.nth(0)).to_contain_text("139****2222")
