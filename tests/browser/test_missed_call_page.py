"""漏话回拨 on the page with real calls: a SIPp caller gives up waiting in the queue and appears
at once in every console's 漏话回拨 list (number masked); the agent presses 认领 (the number is
now shown to them), then 回拨: the gateway rings the agent's SIPp phone, then the citizen's
SIPp behind the trunk; the page follows the call and shows the outcome the server recorded.
取消 stops a dial while the agent's phone still rings."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from agent_console.dial_api import dial_api_key
from hotline.models import MissedCall, OutboundCall
from tests.browser import test_console_page as console
from tests.conftest import RunningHotline
from tests.support.dialling import start_citizen, traced_messages
from tests.support.peers import CALLER_NUMBER, register_phones, start_agent_phones, start_caller
from tests.support.sipp import free_ports
from tests.support.tones import start_party, tone_payloads

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Every text the callback's dial status showed, in order (transient states included).
WATCH = """() => {
  window.dialStates = [];
  const target = document.querySelector('[data-testid="callback-dial-state"]');
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
        "routing": {"call_back_abandoned": True, "wrap_up_seconds": 30.0},
    }


async def paused_desk(page: Page, hotline: RunningHotline, agent_id: str) -> None:
    """Logged in and 示忙 (so routing offers the agent nothing); the list is empty."""
    await log_in(page, hotline, agent_id, f"pw-{agent_id}-secret")
    await expect(page.get_by_test_id("phone-status")).to_have_text("话机：已注册")
    await page.get_by_test_id("btn-paused").click()
    await expect(page.get_by_test_id("pause-picker")).to_be_visible()
    await page.keyboard.press("1")
    await expect(page.get_by_test_id("state-badge")).to_have_text("示忙")
    await expect(page.get_by_test_id("missed-empty")).to_be_visible()


async def abandon_and_take(page: Page, hotline: RunningHotline, tmp_path: Path) -> str:
    """A caller hangs up in the queue; the entry appears live; 认领 then 回拨 opens the task."""
    caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=1500)
    assert (await caller.wait(60))[0] == 0
    item = page.get_by_test_id("missed-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("放弃")
    await expect(item).to_contain_text("待回拨")
    assert CALLER_NUMBER not in await item.inner_text()  # masked until taken
    call_id = await item.get_attribute("data-call-id")
    assert call_id
    await page.get_by_test_id("missed-take").click()
    await expect(item).to_contain_text(CALLER_NUMBER)
    await expect(item).to_contain_text("回拨中")
    await page.get_by_test_id("missed-dial").click()
    await expect(page.get_by_test_id("callback-task")).to_be_visible()
    await expect(page.get_by_test_id("callback-task-number")).to_have_text(CALLER_NUMBER)
    return call_id


async def rows(hotline: RunningHotline, call_id: str) -> tuple[MissedCall, OutboundCall]:
    await hotline.system.switchboard.synced()
    await hotline.system.app[dial_api_key].dials.synced()
    async with hotline.system.sessions() as db:
        missed = await db.get(MissedCall, call_id)
        dial = await db.scalar(select(OutboundCall).where(OutboundCall.task_ref == call_id))
    assert missed is not None and dial is not None
    return missed, dial


async def test_an_abandoned_caller_is_taken_and_called_back_from_the_page(
    hotline: RunningHotline, page: Page, tmp_path: Path, trunk_port: int
) -> None:
    await hotline.add_agent("1002")
    phone_port = free_ports(1)
    phone = await start_party("agent", tmp_path, phone_port, free_ports(4), tone_payloads(900, 4))
    citizen = await start_citizen(
        tmp_path, trunk_port, free_ports(4), tone_payloads(700, 4), talk_ms=2000
    )
    await register_phones(hotline, tmp_path, ["1002"], phone_port)
    await paused_desk(page, hotline, "1002")
    call_id = await abandon_and_take(page, hotline, tmp_path)

    await page.evaluate(WATCH)
    await page.get_by_test_id("callback-dial").click()
    await expect(page.get_by_test_id("callback-dial-state")).to_have_text(
        "通话结束，已记为已回拨", timeout=30_000
    )
    shown = [s for s in await page.evaluate("window.dialStates") if s]
    assert list(dict.fromkeys(shown)) == [
        "呼叫坐席话机…",
        "呼叫市民…",
        "通话中",
        "通话结束，已记为已回拨",
    ], shown
    # The server closed the entry: it leaves every list, this one included.
    await expect(page.get_by_test_id("missed-empty")).to_be_visible()
    await expect(page.get_by_test_id("callback-cancel")).to_be_hidden()
    assert (await citizen.wait(60))[0] == 0
    assert (await phone.wait(60))[0] == 0
    assert f"INVITE sip:{CALLER_NUMBER}@127.0.0.1:{trunk_port} SIP/2.0" in traced_messages(citizen)
    missed, dial = await rows(hotline, call_id)
    assert (missed.status, missed.agent_id) == ("done", "1002")
    assert (dial.agent_id, dial.outcome) == ("1002", "talked")


async def test_cancel_stops_a_dial_while_the_agents_phone_rings(
    hotline: RunningHotline, page: Page, tmp_path: Path
) -> None:
    await hotline.add_agent("1002")
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_no_answer.xml")
    await register_phones(hotline, tmp_path, ["1002"], phone_port)
    await paused_desk(page, hotline, "1002")
    call_id = await abandon_and_take(page, hotline, tmp_path)

    await page.get_by_test_id("callback-dial").click()
    await expect(page.get_by_test_id("callback-dial-state")).to_have_text("呼叫坐席话机…")
    await page.get_by_test_id("callback-cancel").click()
    await expect(page.get_by_test_id("callback-dial-state")).to_have_text("已挂断，可再次回拨")
    await expect(page.get_by_test_id("callback-cancel")).to_be_hidden()
    await expect(page.get_by_test_id("callback-dial")).to_be_enabled()
    assert (await phone.wait(60))[0] == 0  # the phone got CANCEL, answered 200 and 487
    missed, dial = await rows(hotline, call_id)
    # Nobody was called: the entry stays the agent's to dial again.
    assert (missed.status, missed.agent_id) == ("offered", "1002")
    assert dial.outcome == "cancelled"
