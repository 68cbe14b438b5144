"""咨询转接 pressed in headless Chromium on a real SIP call through the running gateway (SIPp as
citizen, agent phone and department behind the outbound proxy): the panel shows the
consultation, 取回 takes the caller back and hangs the department up, a second 咨询转接 then
转接 hands the caller over, the agent's phone gets its BYE and the desk goes to wrap-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser import test_console_page as console
from tests.conftest import RunningHotline
from tests.support.peers import register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import caller_payloads
from tests.support.sipp import SippRun, free_ports, start_sipp

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

DEPARTMENT = "80010"
DEPARTMENT_PORT = free_ports(1)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize(
        "hotline_overrides",
        [
            {
                "sip": {
                    "outbound_proxy": f"127.0.0.1:{DEPARTMENT_PORT}",
                    "transfer_targets": (f"城管执法={DEPARTMENT}",),
                },
                "routing": {"wrap_up_seconds": 90.0},
            }
        ],
    ),
]


async def test_consult_take_back_then_hand_over_from_the_desk(
    hotline: RunningHotline, page: Page, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_answer.xml")
    await register_phones(hotline, tmp_path, ["1001"], phone_port)

    async def department(n: int) -> SippRun:
        return await start_sipp(
            f"department-{n}",
            "agent_answer.xml",
            cwd=tmp_path / f"department-{n}",
            local_port=DEPARTMENT_PORT,
            extra=["-rtp_echo", "-mp", str(free_ports(4)), "-mi", "127.0.0.1"],
            timeout_s=90,
        )

    first = await department(1)
    await log_in(page, hotline, "1001", "pw-1001-secret")
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
    await expect(page.get_by_test_id("transfer-box")).to_be_visible()
    status = page.get_by_test_id("transfer-status")

    await page.get_by_test_id("transfer-consult").click()
    await expect(status).to_have_text(f"正在与 {DEPARTMENT} 通话，来电人听等待音乐")
    await expect(page.get_by_test_id("consult-actions")).to_be_visible()
    await expect(page.get_by_test_id("transfer-blind")).to_be_hidden()

    await page.get_by_test_id("consult-cancel").click()
    await expect(status).to_have_text("已取回，来电人与您通话")
    await expect(page.get_by_test_id("consult-actions")).to_be_hidden()
    await expect(page.get_by_test_id("transfer-consult")).to_be_visible()
    code, output = await first.wait(60)
    assert code == 0, output  # the department got its BYE
    call = next(iter(hotline.system.gateway._calls.values()))
    assert call.department_leg is None and call.agent_leg is not None

    second = await department(2)
    await page.get_by_test_id("transfer-consult").click()
    await expect(page.get_by_test_id("consult-complete")).to_be_visible()
    await expect(status).to_contain_text("正在与")
    await page.get_by_test_id("consult-complete").click()
    await expect(page.get_by_test_id("call-status")).to_contain_text("已转接", timeout=20_000)
    await expect(page.get_by_test_id("wrapup-box")).to_be_visible()
    code, output = await phone.wait(60)
    assert code == 0, output  # the agent's phone got its BYE
    # The citizen now talks with the department; hanging the department's leg up from the
    # gateway ends the call, which ends both SIPp scenarios.
    live = hotline.system.gateway._calls[call.id]
    assert live.agent_leg is not None and live.agent_leg.role == "department"
    hotline.system.gateway._end_call(live, "test-over", None)
    for run in (caller, second):
        code, output = await run.wait(60)
        assert code == 0, output
