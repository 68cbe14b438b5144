"""Writes docs/screenshots/desk-call-1366x768.png and desk-wrapup-1366x768.png (`make
screenshots`): an agent's desk in headless Chromium on a whole hotline (temporary SQLite). A
call is seeded through the switchboard as the gateway reports it (a citizen arrives, the
agent's phone answers); the first picture is the call popped, with 保持 / 静音 / 挂断, and the
ticket form being written with the classifier's suggestions under it; the second is the same
desk once the citizen has hung up: the wrap-up countdown with 延长 and 立即示闲, the form
still open."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright, expect

import migrations
from hotline.config import HotlineConfig
from hotline.wiring import build_system
from telephony.events import AgentAnswered, CallArrived, CallEnded

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESCRIPTION = "小区门口下水道堵了，污水漫到路面上，味道很大"


async def run(url: str, folder: Path) -> None:
    config = HotlineConfig().replace(
        sip={"host": "127.0.0.1", "port": 0, "rtp_port_min": 32000, "rtp_port_max": 32999},
        database={"url": url},
        dispatch={"url": "http://127.0.0.1:9/cases", "secret": "screenshots"},
        routing={"wrap_up_seconds": 60},
        nlp={"model_path": ""},
    )
    now = datetime.now(UTC)
    system = build_system(config)
    server = TestServer(system.app, host="127.0.0.1")
    await server.start_server()
    try:
        await system.accounts.add_agent(
            "1001", "王丽", "pw-1001-secret", "sip-1001-x", "agent", now
        )
        switchboard = system.switchboard
        switchboard.connect_gateway(lambda call_id, agent_id: None)  # no phone rings here
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            context = await browser.new_context(
                viewport={"width": 1366, "height": 768}, locale="zh-CN"
            )
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto(str(server.make_url("/?desk")))
            await page.get_by_label("坐席工号").fill("1001")
            await page.get_by_label("密码").fill("pw-1001-secret")
            await page.get_by_label("密码").press("Enter")
            await page.get_by_test_id("btn-ready").click()
            await expect(page.get_by_test_id("state-badge")).to_have_text("空闲")

            call_id = str(uuid.uuid4())
            switchboard.on_telephony_event(
                CallArrived(
                    datetime.now(UTC), call_id, call_id, "13800138000", "12319", "12319", "PCMA"
                )
            )
            assert switchboard.routing.agent_for_call(call_id) is not None
            switchboard.on_telephony_event(AgentAnswered(datetime.now(UTC), call_id, "1001"))
            await expect(page.get_by_test_id("call-status")).to_have_text("通话中")
            await expect(page.get_by_test_id("btn-hangup")).to_be_visible()
            await page.get_by_label("来电人姓名").fill("李先生")
            await page.get_by_label("诉求描述").fill(DESCRIPTION)
            await expect(page.get_by_test_id("suggestions")).to_have_attribute(
                "data-classified", DESCRIPTION
            )
            await expect(page.get_by_test_id("suggestion").first).to_be_visible()
            await page.wait_for_timeout(1200)  # the call timer ticks once
            folder.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(folder / "desk-call-1366x768.png"))
            print(folder / "desk-call-1366x768.png")

            switchboard.on_telephony_event(
                CallEnded(datetime.now(UTC), call_id, "caller-hangup", 0, 0)
            )
            await expect(page.get_by_test_id("wrapup-box")).to_be_visible()
            await expect(page.get_by_test_id("wrapup-countdown")).to_contain_text("话后处理")
            await page.wait_for_timeout(1200)
            await page.screenshot(path=str(folder / "desk-wrapup-1366x768.png"))
            print(folder / "desk-wrapup-1366x768.png")
            await context.close()
            await browser.close()
        await switchboard.synced()
    finally:
        await server.close()


def main(folder: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'desk.db'}"
        migrations.upgrade(url)
        asyncio.run(run(url, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
