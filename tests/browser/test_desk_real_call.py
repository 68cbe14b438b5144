"""The agent's desk in headless Chromium with a real SIP call through the running gateway
(SIPp as the citizen behind the trunk and as the agent's phone): the phone's registration
shows at login, 示忙 asks for a reason picked with a number key, the call pops and the cursor
lands in 诉求描述, 保持/恢复 and 挂断 act on the call (the citizen's SIPp gets the BYE), the
wrap-up countdown shows with 延长, and 立即示闲 makes the agent ready."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from routing import AgentState
from tests.browser import test_console_page as console
from tests.conftest import RunningHotline
from tests.support.peers import register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import caller_payloads
from tests.support.sipp import free_ports

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("hotline_overrides", [{"routing": {"wrap_up_seconds": 90.0}}]),
]


async def test_a_real_call_pops_is_held_hung_up_and_wrapped_up_on_the_desk(
    hotline: RunningHotline, page: Page, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_answer.xml")
    await register_phones(hotline, tmp_path, ["1001"], phone_port)
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await expect(page.get_by_test_id("phone-status")).to_have_text("话机：已注册")

    # 示忙: the configured reasons, the second picked with the key 2.
    await page.get_by_test_id("btn-paused").click()
    await expect(page.get_by_test_id("pause-picker")).to_be_visible()
    await expect(page.get_by_test_id("pause-reason").nth(1)).to_contain_text("用餐")
    await page.keyboard.press("2")
    await expect(page.get_by_test_id("state-badge")).to_have_text("示忙")
    assert hotline.system.switchboard.routing.agent("1001").reason == "用餐"
    await expect(page.get_by_test_id("pause-picker")).to_be_hidden()

    await page.get_by_test_id("btn-ready").click()
    await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")
    caller = await start_caller(
        hotline,
        tmp_path,
        1,
        free_ports(4),
        "caller_talks_until_bye.xml",
        payloads=caller_payloads(30, 8),
    )
    await expect(page.get_by_test_id("call-status")).to_have_text("通话中", timeout=20_000)
    await expect(page.get_by_test_id("ticket-description")).to_be_focused()

    await page.get_by_test_id("btn-hold").click()
    await expect(page.get_by_test_id("call-status")).to_contain_text("通话保持中")
    await expect(page.get_by_test_id("btn-hold")).to_have_text("恢复")
    await page.get_by_test_id("btn-hold").click()
    await expect(page.get_by_test_id("call-status")).to_have_text("通话中")

    await page.get_by_test_id("btn-hangup").click()
    code, output = await caller.wait(60)
    assert code == 0, output  # the citizen's scenario ends only on the gateway's BYE
    await expect(page.get_by_test_id("call-status")).to_contain_text("坐席挂断")
    await expect(page.get_by_test_id("wrapup-box")).to_be_visible()
    await expect(page.get_by_test_id("wrapup-countdown")).to_have_text(
        re.compile(r"话后处理 剩余 \d+ 秒")
    )
    before = hotline.system.switchboard.routing.agent("1001").wrap_up_until
    await page.get_by_test_id("wrapup-extend").click()
    await expect(page.get_by_test_id("desk-status")).to_have_text("已延长话后处理")
    after = hotline.system.switchboard.routing.agent("1001").wrap_up_until
    assert before is not None and after is not None and after > before

    await page.get_by_test_id("wrapup-ready").click()
    await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")
    await expect(page.get_by_test_id("wrapup-box")).to_be_hidden()
    assert hotline.system.switchboard.routing.agent("1001").state is AgentState.READY
    phone_code, phone_output = await phone.wait(60)
    assert phone_code == 0, phone_output
