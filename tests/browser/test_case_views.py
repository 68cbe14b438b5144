"""The ticket history view and the 回访 flow in real headless Chromium: a lead looks a case
up and sees each event the dispatch core posted; an agent is offered the 回访, records
满意, and the history shows the case 办结."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update

from hotline.models import Ticket
from tests.browser import test_console_page as console
from tests.conftest import RunningHotline
from tests.support.core_events import post_event

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

FORM = {
    "hotline": "12319",
    "caller_name": "张先生",
    "phone": "13800138000",
    "address": "幸福路12号",
    "description": "小区门口井盖缺失",
    "department_code": "MUNICIPAL",
    "category_code": "01001",
}


async def closed_case(
    hotline: RunningHotline, http: aiohttp.ClientSession, agent: str = "9001"
) -> str:
    token = await hotline.login(http, agent)
    async with http.post(
        hotline.url("/api/tickets"), json=FORM, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 201
        number = str((await response.json())["number"])
    async with asyncio.timeout(20):  # the core acknowledged it: 转派 is in the log
        while True:
            record = await hotline.system.cases.get(number)
            if record is not None and record.case.state.value == "forwarded":
                break
            await asyncio.sleep(0.05)
    for kind, extra in [
        ("dispatched", {"department": "MUNICIPAL"}),
        ("handled", {"reason": "已补装井盖"}),
        ("closed", {}),
    ]:
        status, body = await post_event(http, hotline, number, kind, **extra)
        assert status == 200, body
    return number


async def test_the_history_view_and_the_visit_flow(hotline: RunningHotline, page: Page) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        number = await closed_case(hotline, http, "1001")  # the agent's own ticket
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await page.get_by_test_id("case-number").fill(number)
    await page.get_by_test_id("case-lookup").click()
    await expect(page.get_by_test_id("case-state")).to_have_text("回访")
    events = page.get_by_test_id("case-event")
    await expect(events).to_have_count(5)
    await expect(events.nth(0)).to_contain_text("受理")
    await expect(events.nth(1)).to_contain_text("转派")
    await expect(events.nth(2)).to_contain_text("派遣")
    await expect(events.nth(3)).to_contain_text("已补装井盖")
    await expect(page.get_by_test_id("case-deadline")).to_contain_text("截止")
    # Ready: the 回访 is offered as a task, with the caller's number for this agent.
    await page.get_by_test_id("btn-ready").click()
    await expect(page.get_by_test_id("visit-task")).to_be_visible()
    await expect(page.get_by_test_id("visit-ticket")).to_have_text(number)
    await expect(page.get_by_test_id("visit-phone")).to_have_text("13800138000")
    await console.screenshot(page, "visit-offered")
    await page.get_by_test_id("visit-note").fill("市民表示井盖已补好")
    await page.get_by_test_id("visit-satisfied").click()
    await expect(page.get_by_test_id("visit-result")).to_have_text("已记录：办结")
    await expect(page.get_by_test_id("visit-task")).to_be_hidden()
    await expect(page.get_by_test_id("case-state")).to_have_text("办结")
    await expect(events.last).to_contain_text("回访：满意")
    await expect(events.last).to_contain_text("市民表示井盖已补好")
    await console.screenshot(page, "case-history")


async def test_the_ticket_page_shows_the_callers_survey(
    hotline: RunningHotline, page: Page
) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with http.post(
            hotline.url("/api/tickets"), json=FORM, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 201
            number = str((await response.json())["number"])
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await page.get_by_test_id("case-number").fill(number)
    await page.get_by_test_id("case-lookup").click()
    await expect(page.get_by_test_id("case-survey")).to_have_text("好差评：—")  # not asked
    # What the switchboard writes when the caller pressed 2 after the agent hung up.
    async with hotline.system.sessions.begin() as db:
        await db.execute(
            update(Ticket).where(Ticket.number == number).values(survey="fairly_satisfied")
        )
    await page.get_by_test_id("case-lookup").click()
    await expect(page.get_by_test_id("case-survey")).to_have_text("好差评：基本满意")


async def test_a_lead_sees_reminders_and_dead_letters(hotline: RunningHotline, page: Page) -> None:
    await hotline.add_agent("9001", role="lead")
    hotline.dispatch.refuse_commands = 400
    await log_in(page, hotline, "9001", "pw-9001-secret")
    await expect(page.get_by_test_id("dead-empty")).to_be_visible()
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "9001")
        async with http.post(
            hotline.url("/api/tickets"), json=FORM, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            number = str((await response.json())["number"])
        await post_event(http, hotline, number, "dispatched")
        await post_event(http, hotline, number, "returned", reason="不属于本部门")
        await expect(page.get_by_test_id("case-reminder")).to_contain_text(f"{number} 退单")
        async with http.post(
            hotline.url(f"/api/tickets/{number}/actions"),
            json={"action": "reassign", "department": "LANDSCAPE", "reason": "绿化带"},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200
    await expect(page.get_by_test_id("dead-letter")).to_contain_text(f"{number} reassign HTTP 400")


async def test_an_emergency_is_offered_in_one_click_and_a_second_ticket_keeps_the_call(
    hotline: RunningHotline, page: Page
) -> None:
    from datetime import UTC, datetime

    from telephony.events import AgentAnswered

    await hotline.add_agent("1001")
    calls: list[tuple[str, str, str]] = []
    hotline.system.switchboard.connect_transfers(
        lambda call_id, number, mode: calls.append((call_id, number, mode)),
        {"119 消防救援": "119"},
        {"119": "119"},
    )
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await page.get_by_test_id("btn-ready").click()
    await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")
    call_id = console.arrive(hotline, "13912345678", "12319", "12319")
    hotline.system.switchboard.on_telephony_event(AgentAnswered(datetime.now(UTC), call_id, "1001"))
    await expect(page.get_by_test_id("call-panel")).to_have_attribute("data-phase", "connected")
    await page.get_by_label("诉求描述").fill("楼下饭店着火了，火势很大")
    await expect(page.get_by_test_id("ticket-emergency")).to_have_value("119")
    await expect(page.get_by_test_id("emergency-reason")).to_contain_text("起火")
    button = page.get_by_test_id("emergency-transfer")
    await expect(button).to_have_text("一键转接 119 消防")
    await button.click()
    await expect(page.get_by_test_id("emergency-status")).to_contain_text("正在转接 119")
    assert calls == [(call_id, "119", "three_way")]
    # The ticket records the hand-off; a second matter in the same call keeps call and phone.
    await page.get_by_label("地址").fill("解放路8号")
    await page.get_by_label("联系电话").fill("13900001111")
    await page.get_by_test_id("ticket-department").select_option("ENFORCEMENT")
    await page.get_by_test_id("ticket-save").click()
    saved = page.get_by_test_id("ticket-saved")
    await expect(saved).to_have_text(re.compile(r"已保存：12319-\d{8}-\d{4}"))
    first = await saved.get_attribute("data-number")
    record = await hotline.system.cases.get(str(first))
    assert record is not None and record.ticket.emergency_service == "119"
    await expect(page.get_by_test_id("ticket-call")).to_contain_text("13912345678")
    await expect(page.get_by_label("联系电话")).to_have_value("13900001111")
    await expect(page.get_by_test_id("ticket-emergency")).to_have_value("")
    await page.get_by_label("诉求描述").fill("另外，小区门口路灯不亮")
    await page.get_by_label("地址").fill("解放路8号")
    await page.get_by_test_id("ticket-department").select_option("MUNICIPAL")
    await page.get_by_test_id("ticket-save").click()
    await expect(saved).to_have_text(re.compile(rf"已保存：(?!{first})12319-\d{{8}}-\d{{4}}"))
    second = await saved.get_attribute("data-number")
    other = await hotline.system.cases.get(str(second))
    assert other is not None and other.ticket.call_id == call_id
    assert other.ticket.phone == "13900001111" and other.ticket.emergency_service is None


async def test_a_voicemail_is_completed_from_the_list_and_forwarded(
    hotline: RunningHotline, page: Page
) -> None:
    from datetime import UTC, datetime

    from telephony.events import VoicemailLeft

    await hotline.add_agent("1001")
    switchboard = hotline.system.switchboard
    switchboard.on_telephony_event(
        VoicemailLeft(
            datetime.now(UTC), "vm-7", "13912345678", "12319", "12319", "after-hours", "/x.wav", 20
        )
    )
    await switchboard.synced()
    await log_in(page, hotline, "1001", "pw-1001-secret")
    item = page.get_by_test_id("voicemail-item")
    await expect(item).to_contain_text("139****5678")
    await page.get_by_test_id("voicemail-complete").click()
    await expect(page.get_by_test_id("ticket-notice")).to_contain_text("正在补全语音留言")
    await page.get_by_label("诉求描述").fill("留言反映：小区路灯不亮三天")
    await page.get_by_label("地址").fill("解放路8号")
    await page.get_by_test_id("ticket-department").select_option("MUNICIPAL")
    await page.get_by_test_id("ticket-save").click()
    await expect(page.get_by_test_id("ticket-saved")).to_contain_text("已保存：12319-")
    await expect(page.get_by_test_id("voicemail-empty")).to_be_visible()
    await expect(page.get_by_test_id("case-state")).to_have_text(re.compile("受理|已转派"))
    (received,) = await hotline.dispatch.wait_for(1)
    assert received.case["source"] == "voicemail"
    assert received.case["phone"] == "13912345678"  # kept from the call
    assert received.case["call_id"] == "vm-7"


async def test_a_ringing_call_shows_the_callers_earlier_tickets(
    hotline: RunningHotline, page: Page
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        number = await closed_case(hotline, http)
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await page.get_by_test_id("btn-paused").click()
    await page.get_by_test_id("btn-ready").click()
    await expect(page.get_by_test_id("state-badge")).to_have_text(re.compile("空闲|振铃"))
    # The 回访 of that case is offered first; the agent records it, then the caller rings.
    await expect(page.get_by_test_id("visit-task")).to_be_visible()
    await page.get_by_test_id("visit-unreached").click()
    await expect(page.get_by_test_id("visit-result")).to_contain_text("已记录：回访")
    await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")
    console.arrive(hotline, "13800138000", "12319", "12319")
    history = page.get_by_test_id("history-item")
    await expect(history).to_have_count(1)
    await expect(history).to_contain_text(number)
    await expect(history).to_contain_text("回访")
    await history.get_by_role("button").click()
    await expect(page.get_by_test_id("case-event").last).to_contain_text("回访：未接通")
