"""The console page in real headless Chromium against the whole running system (loopback)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from sqlalchemy import func, select

from hotline.models import Ticket
from telephony.events import AgentAnswered, AgentLegFailed, CallArrived, CallEnded
from tests.conftest import RunningHotline

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path("/tmp/hotline-console-screenshots")
TICKET_NUMBER = re.compile(r"^12319-\d{8}-\d{4}$")
DRAIN = "小区门口下水道堵了，污水漫到路面上"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # A missing browser is a broken test machine, never a reason to skip.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM} (Debian package chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A 1366×768 page that fails the test on any uncaught script error."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"script errors on the page: {errors}"


async def log_in(page: Page, hotline: RunningHotline, agent_id: str, password: str) -> None:
    if not await page.get_by_label("坐席工号").is_visible():
        await page.goto(hotline.url("/?desk"))  # a lead would land on the wallboard
    await page.get_by_label("坐席工号").fill(agent_id)
    await page.get_by_label("密码").fill(password)
    await page.get_by_label("密码").press("Enter")  # Enter logs in; no mouse needed


async def page_get(page: Page, path: str) -> tuple[int, Any]:
    """GET through the page's own fetch, so the HttpOnly session cookie is what authenticates."""
    result = await page.evaluate(
        """async (path) => {
            const response = await fetch(path, {credentials: "same-origin"});
            return [response.status, await response.json()];
        }""",
        path,
    )
    return int(result[0]), result[1]


async def lead_sets_state(hotline: RunningHotline, agent_id: str, state: str) -> None:
    """A shift lead changes an agent's state from another client (not the page)."""
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "9001")
        async with http.post(
            hotline.url(f"/api/agents/{agent_id}/state"),
            json={"state": state},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200, await response.text()


async def ready_agent(page: Page, hotline: RunningHotline) -> Locator:
    """Agent 1001 logs in on the page and goes ready; returns the state badge."""
    await hotline.add_agent("1001")
    await log_in(page, hotline, "1001", "pw-1001-secret")
    badge = page.get_by_test_id("state-badge")
    await page.get_by_test_id("btn-ready").click()
    await expect(badge).to_have_text("空闲")
    return badge


def arrive(hotline: RunningHotline, caller: str, dialled: str, queue: str) -> str:
    """What the SIP gateway reports once a caller is greeted and queued."""
    call_id = str(uuid.uuid4())
    hotline.system.switchboard.on_telephony_event(
        CallArrived(datetime.now(UTC), call_id, f"sim-{call_id}", caller, dialled, queue, "PCMU")
    )
    return call_id


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_login_state_suggestions_and_ticket(hotline: RunningHotline, page: Page) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")

    # Wrong password: a visible error, still on the login form.
    await log_in(page, hotline, "1001", "wrong-password")
    await expect(page.get_by_test_id("login-error")).to_have_text("工号或密码错误")
    await expect(page.get_by_test_id("state-badge")).to_be_hidden()

    await log_in(page, hotline, "1001", "pw-1001-secret")
    badge = page.get_by_test_id("state-badge")
    await expect(badge).to_have_text("未签入")
    await expect(page.get_by_test_id("agent-name")).to_have_text("Agent 1001")
    await expect(page.get_by_test_id("login-error")).to_be_hidden()

    # 示闲: the badge and the server agree.
    await page.get_by_test_id("btn-ready").click()
    await expect(badge).to_have_text("空闲")
    status, me = await page_get(page, "/api/me")
    assert status == 200
    assert me["status"]["state"] == "ready"
    assert me["agent"]["id"] == "1001"

    # Changes made elsewhere arrive over the websocket.
    await lead_sets_state(hotline, "1001", "paused")
    await expect(badge).to_have_text("示忙")
    await lead_sets_state(hotline, "1001", "ready")
    await expect(badge).to_have_text("空闲")

    # Suggestions while typing; the top one is preselected; a chip click selects its department.
    department = page.get_by_label("承办部门")
    await expect(department).to_have_value("")
    await page.get_by_label("诉求描述").fill(DRAIN)
    chips = page.get_by_test_id("suggestion")
    suggestions = page.get_by_test_id("suggestions")
    await expect(suggestions).to_have_attribute("data-classified", DRAIN)
    await expect(chips.first).to_be_visible()
    codes = [await chip.get_attribute("data-code") for chip in await chips.all()]
    assert "MUNICIPAL" in codes
    assert len(codes) == 3
    await expect(chips.first).to_contain_text("%")
    await expect(page.get_by_test_id("category")).to_contain_text("下水道")
    # Up to three directory categories with scores; the first is preselected, a click picks.
    categories = page.get_by_test_id("category-choice")
    await expect(categories.first).to_have_attribute("aria-pressed", "true")
    await expect(categories.first).to_contain_text("%")
    assert 2 <= await categories.count() <= 3
    await categories.nth(1).click()
    await expect(categories.nth(1)).to_have_attribute("aria-pressed", "true")
    await expect(categories.first).to_have_attribute("aria-pressed", "false")
    await expect(department).to_have_value("MUNICIPAL")
    other = next(code for code in codes if code and code != "MUNICIPAL")
    await page.locator(f'[data-testid="suggestion"][data-code="{other}"]').click()
    await expect(department).to_have_value(other)
    # The agent chose: a new classification no longer overrides the choice...
    await page.get_by_label("诉求描述").fill(DRAIN + "，味道很大")
    await expect(suggestions).to_have_attribute("data-classified", DRAIN + "，味道很大")
    await expect(department).to_have_value(other)
    # ...until the agent picks a chip again.
    await page.locator('[data-testid="suggestion"][data-code="MUNICIPAL"]').click()
    await expect(department).to_have_value("MUNICIPAL")
    await expect(
        page.locator('[data-testid="suggestion"][data-code="MUNICIPAL"]')
    ).to_have_attribute("aria-pressed", "true")

    # Missing required fields are all shown at once, nothing is sent.
    save = page.get_by_test_id("ticket-save")
    await save.click()
    for field in ("phone", "address"):
        error = page.locator(f'[data-testid="field-error"][data-field="{field}"]')
        await expect(error).to_be_visible()
        await expect(error).not_to_have_text("")

    # A bad phone number: the server's field error shows beside the phone field; nothing saved.
    await page.get_by_label("地址").fill("人民路12号小区门口")
    await page.get_by_label("联系电话").fill("abc")
    await save.click()
    phone_error = page.locator('[data-testid="field-error"][data-field="phone"]')
    await expect(phone_error).to_be_visible()
    await expect(phone_error).to_contain_text("正确的电话号码")  # the server's check, in Chinese
    await expect(page.get_by_label("联系电话")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator('[data-testid="field-error"][data-field="address"]')).to_be_hidden()
    await expect(page.get_by_test_id("ticket-saved")).to_have_text("")
    await screenshot(page, "phone-error")
    async with hotline.system.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Ticket)) == 0

    # Ctrl+S from the keyboard saves; the number is shown and the form is cleared.
    await page.get_by_label("联系电话").fill("13800138000")
    await expect(phone_error).to_be_hidden()
    await page.get_by_label("来电人姓名").fill("王女士")
    await page.keyboard.press("Control+s")
    saved = page.get_by_test_id("ticket-saved")
    await expect(saved).to_have_text(re.compile(r"^已保存：12319-\d{8}-\d{4}$"))
    number = (await saved.get_attribute("data-number")) or ""
    assert TICKET_NUMBER.match(number), number
    assert (await saved.text_content()) == f"已保存：{number}"
    await expect(page.get_by_test_id("recent-list")).to_contain_text(number)
    for label in ("来电人姓名", "联系电话", "地址", "诉求描述"):
        await expect(page.get_by_label(label)).to_have_value("")
    await expect(department).to_have_value("")
    await expect(page.get_by_test_id("suggestion")).to_have_count(0)
    await screenshot(page, "after-save")

    # The API (through the page's cookie) and the database both have the ticket.
    status, ticket = await page_get(page, f"/api/tickets/{number}")
    assert status == 200, ticket
    assert ticket["number"] == number
    assert (ticket["phone"], ticket["address"], ticket["caller_name"]) == (
        "13800138000",
        "人民路12号小区门口",
        "王女士",
    )
    assert ticket["department_code"] == "MUNICIPAL"
    assert ticket["description"].startswith(DRAIN)
    assert ticket["hotline"] == "12319"
    assert ticket["call_id"] is None
    assert ticket["category_code"] is not None
    assert ticket["created_by"] == "1001"
    stored = await hotline.system.tickets.get(number)
    assert stored is not None and stored.created_by == "1001"


async def test_keyboard_order_and_urgency_suggestion(hotline: RunningHotline, page: Page) -> None:
    await hotline.add_agent("1001")
    await log_in(page, hotline, "1001", "pw-1001-secret")
    # After login the focus waits on 示闲: Enter starts taking calls, no mouse needed.
    await expect(page.get_by_test_id("btn-ready")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")

    # Tab walks the form in reading order; Enter in a one-line field moves on, never saves.
    await page.get_by_label("来电人姓名").focus()
    for label in ("联系电话", "地址", "诉求描述"):
        await page.keyboard.press("Tab")
        await expect(page.get_by_label(label)).to_be_focused()
    await page.get_by_label("地址").fill("人民路1号")
    await page.get_by_label("地址").press("Enter")
    await expect(page.get_by_label("诉求描述")).to_be_focused()
    await expect(page.locator('[data-testid="field-error"]:visible')).to_have_count(0)

    urgent = page.get_by_label("紧急")
    await expect(urgent).not_to_be_checked()
    await page.get_by_label("诉求描述").fill("路边井盖那里燃气泄漏了，味道很大")
    await expect(urgent).to_be_checked()
    await expect(page.get_by_test_id("urgent-reason")).not_to_have_text("")
    await urgent.uncheck()  # the agent overrides: later classifications keep their hands off
    await page.get_by_label("诉求描述").fill("路边井盖那里燃气泄漏了，味道很大，快来人")
    await expect(page.get_by_test_id("suggestions")).to_have_attribute(
        "data-classified", "路边井盖那里燃气泄漏了，味道很大，快来人"
    )
    await expect(urgent).not_to_be_checked()


async def test_a_call_is_offered_connected_ended_and_ticketed(
    hotline: RunningHotline, page: Page
) -> None:
    badge = await ready_agent(page, hotline)

    # The call is queued and offered to the only ready agent. A simulated call is unknown to
    # the SIP gateway, so ringing the (unregistered) phone is a no-op and the offer stands.
    call_id = arrive(hotline, "13912345678", "12319", "12319")
    panel = page.get_by_test_id("call-panel")
    await expect(panel).to_have_attribute("data-phase", "offered")
    await expect(page.get_by_test_id("call-status")).to_contain_text("来电")
    await expect(page.get_by_test_id("call-caller")).to_have_text("13912345678")
    await expect(page.get_by_test_id("call-hotline")).to_have_text("12319")
    await expect(badge).to_have_text("振铃")
    await expect(page.get_by_label("联系电话")).to_have_value("13912345678")
    await expect(page.get_by_label("热线", exact=True)).to_have_value("12319")
    await expect(page.get_by_test_id("ticket-call")).to_contain_text("13912345678")
    await screenshot(page, "offered")

    hotline.system.switchboard.on_telephony_event(AgentAnswered(datetime.now(UTC), call_id, "1001"))
    await expect(panel).to_have_attribute("data-phase", "connected")
    await expect(page.get_by_test_id("call-status")).to_have_text("通话中")
    await expect(badge).to_have_text("通话中")
    await expect(page.get_by_test_id("call-timer")).to_have_text(re.compile(r"00:0[1-9]"))

    await page.get_by_label("诉求描述").fill(DRAIN)
    await page.get_by_label("地址").fill("解放路8号")
    await screenshot(page, "talking")

    hotline.system.switchboard.on_telephony_event(
        CallEnded(datetime.now(UTC), call_id, "caller-hangup", 100, 100)
    )
    await expect(page.get_by_test_id("call-status")).to_contain_text("已挂机")
    await expect(badge).to_have_text(re.compile("话后处理|空闲"))  # wrap-up is 0.5 s in tests
    await expect(badge).to_have_text("空闲")

    # The ticket written after hang-up still belongs to the call.
    await expect(page.get_by_label("承办部门")).to_have_value("MUNICIPAL")
    await page.get_by_test_id("ticket-save").click()
    saved = page.get_by_test_id("ticket-saved")
    await expect(saved).to_have_text(re.compile(r"已保存：12319-\d{8}-\d{4}"))
    number = await saved.get_attribute("data-number")
    status, ticket = await page_get(page, f"/api/tickets/{number}")
    assert status == 200
    assert ticket["call_id"] == call_id
    assert ticket["phone"] == "13912345678"
    await expect(page.get_by_test_id("ticket-call")).to_be_hidden()


async def test_a_missed_transferred_call_pauses_the_agent(
    hotline: RunningHotline, page: Page
) -> None:
    badge = await ready_agent(page, hotline)

    # A 12345 transfer queued under 96198: the ticket's hotline is the queue.
    call_id = arrive(hotline, "13700001111", "12345", "96198")
    await expect(page.get_by_test_id("call-hotline")).to_have_text("96198")
    await expect(page.get_by_test_id("call-panel")).to_contain_text("12345")
    await expect(page.get_by_label("热线", exact=True)).to_have_value("96198")
    await expect(page.get_by_label("联系电话")).to_have_value("13700001111")

    hotline.system.switchboard.on_telephony_event(
        AgentLegFailed(datetime.now(UTC), call_id, "1001", "not-registered")
    )
    await expect(page.get_by_test_id("call-panel")).to_have_attribute("data-phase", "missed")
    await expect(page.get_by_test_id("call-status")).to_contain_text("未接")
    await expect(badge).to_have_text("示忙")
    # The call goes back to the queue: this form no longer claims it.
    await expect(page.get_by_label("联系电话")).to_have_value("")
    await expect(page.get_by_test_id("ticket-call")).to_be_hidden()


async def test_session_survives_reload_and_websocket_drops(
    hotline: RunningHotline, page: Page
) -> None:
    await hotline.add_agent("9001", role="lead")
    badge = await ready_agent(page, hotline)

    # Reload: the session cookie goes straight to the desk, state intact.
    await page.reload()
    await expect(badge).to_have_text("空闲")
    await expect(page.get_by_label("坐席工号")).to_be_hidden()

    # The server drops every websocket; the page reconnects and keeps following pushes.
    await expect(page.locator("body[data-socket=open]")).to_have_count(1)
    await hotline.system.notifier.close_all()
    await expect(page.get_by_test_id("banner")).to_contain_text("重连")
    await expect(page.get_by_test_id("banner")).to_be_hidden(timeout=10_000)
    await lead_sets_state(hotline, "1001", "paused")
    await expect(badge).to_have_text("示忙")

    # 签出 is a state (the agent stays on the page); 退出系统 ends the session.
    await page.get_by_test_id("btn-logout").click()
    await expect(badge).to_have_text("未签入")
    await page.get_by_test_id("btn-signout").click()
    await expect(page.get_by_label("坐席工号")).to_be_visible()
    status, _ = await page_get(page, "/api/me")
    assert status == 401
    await screenshot(page, "login")


async def test_ready_clicked_as_the_console_connects_is_not_undone_by_a_late_answer(
    hotline: RunningHotline, page: Page
) -> None:
    """The socket's hello asks /api/me again; that answer, read before 示闲 and delivered
    after it, must not put the badge back to 未签入 (the agent would take no calls and not
    know why)."""
    import asyncio

    from playwright.async_api import APIResponse, Route

    await hotline.add_agent("1001")
    # Several panels read /api/me when the socket says hello; the page marks console.js's
    # resync (its caller is on the stack) so that this one is the request held.
    await page.add_init_script(
        """{
          const fetchNow = window.fetch;
          window.fetch = function (resource, options) {
            if (new Error().stack.includes("resyncCall") && options && options.headers) {
              options.headers["X-Test-Caller"] = "resync";
            }
            return fetchNow.call(this, resource, options);
          };
        }"""
    )
    held: list[Route] = []
    answers: list[APIResponse] = []
    read = asyncio.Event()

    async def hold_the_resync(route: Route) -> None:
        if route.request.headers.get("x-test-caller") != "resync" or held:
            await route.continue_()
            return
        held.append(route)
        answers.append(await route.fetch())  # the server reads the state now: 未签入
        read.set()

    await page.route("**/api/me", hold_the_resync)
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await asyncio.wait_for(read.wait(), timeout=10)
    await page.get_by_test_id("btn-ready").click()
    badge = page.get_by_test_id("state-badge")
    await expect(badge).to_have_text("空闲")
    await held[0].fulfill(response=answers[0])
    await page.wait_for_function("() => document.body.dataset.resynced === '1'")
    await expect(badge).to_have_text("空闲")
    status = hotline.system.switchboard.routing.find_agent("1001")
    assert status is not None and status.state.value == "ready"
