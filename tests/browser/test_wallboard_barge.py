"""强插 from the wallboard in headless Chromium on a real SIP call: SIPp dials the hotline, a
SIPp phone answers for the agent; the lead presses 强插 on the call, the gateway rings the
lead's own (SIPp) phone, which answers and joins; the wallboard shows the lead on the call and
the agent's page says so (the centre's policy here shows it). 退出 hangs the lead's phone up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from hotline.audit import AuditLog
from tests.browser.test_console_page import browser, log_in
from tests.browser.test_wallboard_page import new_page
from tests.conftest import RunningHotline
from tests.support.peers import register_phones, start_agent_phones, start_caller
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import free_ports
from tests.support.tones import start_party, tone_payloads

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("hotline_overrides", [{"wallboard": {"monitor_shown_to_agent": True}}]),
]
__all__ = ["browser"]  # the shared Chromium fixture


@pytest.fixture
async def wall(browser: Browser) -> AsyncIterator[Page]:
    async for page in new_page(browser, 1920, 1080):
        yield page


@pytest.fixture
async def desk(browser: Browser) -> AsyncIterator[Page]:
    async for page in new_page(browser, 1366, 768):
        yield page


async def test_the_lead_barges_from_the_wallboard_and_the_agent_sees_it(
    hotline: RunningHotline, wall: Page, desk: Page, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_answer.xml")
    lead_port, lead_media = free_ports(1), free_ports(4)
    lead_phone = await start_party(
        "lead", tmp_path, lead_port, lead_media, tone_payloads(1700, 30.0)
    )
    await register_phones(hotline, tmp_path, ["1001"], phone_port)
    await register_phones(hotline, tmp_path, ["9001"], lead_port)

    await wall.goto(hotline.url("/"))
    await wall.get_by_label("坐席工号").fill("9001")
    await wall.get_by_label("密码").fill("pw-9001-secret")
    await wall.get_by_label("密码").press("Enter")
    await expect(wall).to_have_url(hotline.url("/wallboard"))
    await expect(wall.locator("body")).to_have_attribute("data-synced", "true")
    await log_in(desk, hotline, "1001", "pw-1001-secret")
    await desk.get_by_test_id("btn-ready").click()
    await expect(desk.get_by_test_id("state-badge")).to_have_text("空闲")

    with RtpTap({lead_media}) as tap:
        caller = await start_caller(
            hotline, tmp_path, 1, free_ports(4), "caller_talks_until_bye.xml"
        )
        await expect(desk.get_by_test_id("call-status")).to_have_text("通话中", timeout=20_000)
        call = wall.locator("[data-testid=call][data-state=connected]")
        await expect(call).to_have_count(1)
        await expect(desk.get_by_test_id("call-monitor")).to_be_hidden()

        # 强插: the lead's SIPp phone rings, answers and joins the call.
        await call.get_by_test_id("monitor-barge").click()
        await expect(call.get_by_test_id("call-monitor")).to_have_text("9001 强插中")
        await expect(call.get_by_test_id("monitor-barge")).to_have_attribute("aria-pressed", "true")
        await expect(desk.get_by_test_id("call-monitor")).to_have_text("值班长 9001 正在强插本通话")
        async with asyncio.timeout(10):  # the lead's phone gets the call's audio
            while tap.received[lead_media] < 25:
                await asyncio.sleep(0.05)

        # 退出: the lead's phone gets BYE; both pages drop the mark.
        await call.get_by_test_id("monitor-leave").click()
        await expect(desk.get_by_test_id("call-monitor")).to_be_hidden()
        await expect(call.get_by_test_id("call-monitor")).to_have_text("")
        code, output = await lead_phone.wait(30)
        assert code == 0, output  # the lead's scenario ends only on the gateway's BYE

        await desk.get_by_test_id("btn-hangup").click()
        assert (await caller.wait(60))[0] == 0
    assert (await phone.wait(60))[0] == 0
    log = AuditLog(hotline.system.sessions)
    (barged,) = await log.entries(action="call.monitor")
    assert (barged.actor_id, barged.detail["mode"], barged.detail["agent"]) == (
        "9001",
        "barge",
        "1001",
    )
    (left,) = await log.entries(action="call.monitor.stop")
    assert left.actor_id == "9001"
