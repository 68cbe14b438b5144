"""Writes docs/screenshots/roster-1600x1000.png (`make screenshots`): the roster editor with a
week of shifts, dialect seats, and the staffing gap of today beside it, read from four past
weeks of arrivals, as a shift lead sees it in headless Chromium."""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

import migrations
from hotline.config import HotlineConfig
from hotline.models import Call
from hotline.wiring import build_system
from routing.roster import Role, RosterEntry

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NAMES = [
    "王丽",
    "李伟",
    "张芳",
    "刘敏",
    "陈静",
    "杨磊",
    "黄洋",
    "赵艳",
    "吴勇",
    "周军",
    "徐杰",
    "孙娟",
]
ZONE = ZoneInfo("Asia/Shanghai")
# Calls an hour through a working day (the curve a city hotline sees).
CURVE = [2, 1, 1, 1, 1, 2, 4, 10, 26, 34, 36, 30, 22, 26, 32, 30, 26, 20, 14, 10, 8, 6, 4, 3]


async def run(url: str, path: Path) -> None:
    config = HotlineConfig().replace(
        sip={"host": "127.0.0.1", "port": 0, "rtp_port_min": 34000, "rtp_port_max": 34999},
        database={"url": url},
        dispatch={"url": "http://127.0.0.1:9/cases", "secret": "screenshots"},
        hotlines={"12319": "12319", "96198": "96198", "12320": "粤语"},
        nlp={"model_path": ""},
    )
    now = datetime.now(UTC)
    system = build_system(config)
    server = TestServer(system.app, host="127.0.0.1")
    await server.start_server()
    try:
        rng = random.Random(12319)
        agents = [f"10{n:02d}" for n in range(1, 13)]
        for agent, name in zip(agents, NAMES, strict=True):
            await system.accounts.add_agent(
                agent, name, f"pw-{agent}-secret", f"sip-{agent}-x", "agent", now
            )
        await system.accounts.add_agent(
            "9001", "周班长", "pw-9001-secret", "sip-9001-x", "lead", now
        )
        today = now.astimezone(ZONE).date()
        monday = today - timedelta(days=today.weekday())
        entries = []
        for n in range(7):
            day = monday + timedelta(days=n)
            entries.append(RosterEntry(day, "白班", "9001", Role.LEAD))
            for k in range(4):
                agent = agents[(n * 3 + k) % 12]
                dialects = ("粤语",) if k == 0 else ()
                skills = ("12319:3",) if k == 1 else ()
                entries.append(RosterEntry(day, "白班", agent, Role.AGENT, skills, dialects))
            entries.append(RosterEntry(day, "夜班", agents[(n * 3 + 5) % 12]))
            entries.append(RosterEntry(day, "夜班", agents[(n * 3 + 7) % 12]))
        duty = system.switchboard.duty
        assert duty is not None
        await duty.replace_days(entries, now)
        async with system.sessions.begin() as db:
            for week in range(1, 5):
                day = today - timedelta(days=7 * week)
                for hour, mean in enumerate(CURVE):
                    start = datetime.combine(day, time(hour), ZONE)
                    for i in range(max(0, round(rng.gauss(mean, mean**0.5)))):
                        db.add(
                            Call(
                                id=f"seed-{week}-{hour}-{i}",
                                sip_call_id=f"seed-{week}-{hour}-{i}",
                                dialled="12319",
                                queue="12319",
                                caller="13900000000",
                                state="ended",
                                codec="PCMA",
                                arrived_at=start + timedelta(seconds=rng.uniform(0, 3599)),
                            )
                        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            context = await browser.new_context(
                viewport={"width": 1600, "height": 1000}, locale="zh-CN"
            )
            page = await context.new_page()
            await page.goto(str(server.make_url("/")))
            await page.get_by_label("坐席工号").fill("9001")
            await page.get_by_label("密码").fill("pw-9001-secret")
            await page.get_by_label("密码").press("Enter")
            await page.wait_for_url("**/wallboard")
            await page.goto(str(server.make_url("/roster")))
            await page.wait_for_selector("body[data-gap-day]")
            await page.locator("[data-testid=cell][tabindex='0']").focus()
            path.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(path), full_page=True)
            print(f"{path}: roster week of {monday}, gap of {today}")
            await browser.close()
    finally:
        await server.close()


def main(folder: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'roster.db'}"
        migrations.upgrade(url)
        asyncio.run(run(url, folder / "roster-1600x1000.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
