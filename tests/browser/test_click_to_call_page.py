"""回拨 pressed in real headless Chromium, with the real gateway and SIPp as the agent's
phone and as the citizen behind the trunk: the page shows 呼叫坐席话机… → 呼叫市民… → 通话中 →
通话结束, then the 回访 outcome closes the case."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser import test_console_page as console
from tests.conftest import RunningHotline
from tests.support.core_events import post_event
from tests.support.dialling import FORM, start_citizen
from tests.support.peers import register_phones
from tests.support.sipp import free_ports, start_sipp
from tests.support.tones import tone_payloads

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Every text the dial status showed, in order (transient states included).
WATCH = """() => {
  window.dialStates = [];
  const target = document.querySelector('[data-testid="visit-dial-state"]');
  new MutationObserver(() => window.dialStates.push(target.textContent))
    .observe(target, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture
def trunk_port() -> int:
    return free_ports(1)


@pytest.fixture
def hotline_overrides(trunk_port: int, tmp_path: Path) -> dict[str, dict[str, object]]:
    return {
        "sip": {"outbound_proxy": f"127.0.0.1:{trunk_port}"},
        "media": {"recordings_dir": str(tmp_path / "recordings")},
    }


async def test_the_agent_presses_dial_and_follows_the_call_to_the_outcome(
    hotline: RunningHotline, page: Page, tmp_path: Path, trunk_port: int
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    phone_port, phone_media = free_ports(1), free_ports(4)
    # The agent's phone rings a second before it is picked up.
    phone = await start_sipp(
        "agent-phone",
        "department_rings.xml",
        cwd=tmp_path / "phone",
        local_port=phone_port,
        extra=["-rtp_echo", "-mp", str(phone_media), "-mi", "127.0.0.1", "-d", "1000"],
        timeout_s=90,
    )
    citizen = await start_citizen(
        tmp_path, trunk_port, free_ports(4), tone_payloads(700, 3.0), talk_ms=2500
    )
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with http.post(
            hotline.url("/api/tickets"), json=FORM, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 201
            number = str((await response.json())["number"])
        await hotline.dispatch.wait_for(1)
        await register_phones(hotline, tmp_path, ["1002"], phone_port)
        await log_in(page, hotline, "1002", "pw-1002-secret")
        for kind in ("dispatched", "handled", "closed"):
            for _ in range(100):  # the forward is confirmed just after the core answers
                status, _ = await post_event(http, hotline, number, kind)
                if status == 200:
                    break
                await page.wait_for_timeout(50)
            assert status == 200, kind
    await page.get_by_test_id("btn-ready").click()
    await expect(page.get_by_test_id("visit-task")).to_be_visible()
    await expect(page.get_by_test_id("visit-ticket")).to_have_text(number)
    await page.evaluate(WATCH)
    await page.get_by_test_id("visit-dial").click()
    await expect(page.get_by_test_id("visit-dial-state")).to_have_text(
        "通话结束，请记录结果", timeout=30_000
    )
    shown = [s for s in await page.evaluate("window.dialStates") if s]
    assert [s for s in dict.fromkeys(shown)] == [
        "呼叫坐席话机…",
        "呼叫市民…",
        "通话中",
        "通话结束，请记录结果",
    ], shown
    assert (await citizen.wait(60))[0] == 0
    assert (await phone.wait(60))[0] == 0
    await page.get_by_test_id("visit-satisfied").click()
    await expect(page.get_by_test_id("visit-result")).to_contain_text("已记录")
    record = await hotline.system.cases.get(number)
    assert record is not None and record.case.state.value == "closed"
