"""Writes docs/screenshots/wallboard-1920x1080.png and wallboard-1366x768.png (`make
screenshots`): a whole hotline on a temporary SQLite database with 30 agents in a busy hour
(calls waiting, agents talking and paused, today's calls in the log), the wallboard as a
shift lead sees it in headless Chromium. Exits 1 if the 30 agents do not fit on the wall
screen without scrolling."""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import Page, async_playwright

import migrations
from hotline.config import HotlineConfig
from hotline.models import Call
from hotline.wiring import build_system
from routing import AgentState
from telephony.events import AgentAnswered, CallArrived

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = ["丽", "伟", "芳", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超"]
REASONS = ["休息", "用餐", "培训", "会议"]


class Clock:
    """The seed's moments while seeding, then the real time."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)


async def seed(system: object, clock: Clock, real_now: datetime) -> None:
    from hotline.wiring import System

    assert isinstance(system, System)
    rng = random.Random(12319)
    agents = [f"10{n:02d}" for n in range(1, 31)]
    for n, agent in enumerate(agents):
        name = SURNAMES[n] + GIVEN[n % len(GIVEN)] + ("" if n % 3 else GIVEN[(n * 7) % 15])
        await system.accounts.add_agent(
            agent, name, f"pw-{agent}-secret", f"sip-{agent}-x", "agent", real_now
        )
    await system.accounts.add_agent(
        "9001", "周班长", "pw-9001-secret", "sip-9001-x", "lead", real_now
    )
    # Today's calls so far, as the call log has them.
    async with system.sessions.begin() as db:
        day = real_now - timedelta(hours=6)
        for i in range(260):
            arrived = day + timedelta(seconds=rng.uniform(0, (real_now - day).total_seconds() - 60))
            queue = "12319" if rng.random() < 0.7 else "96198"
            wait = rng.expovariate(1 / 9)
            answered = rng.random() > 0.07
            talk = rng.uniform(60, 400)
            connected = arrived + timedelta(seconds=wait) if answered else None
            ended = (
                (connected + timedelta(seconds=talk))
                if connected
                else arrived + timedelta(seconds=wait + 8)
            )
            db.add(
                Call(
                    id=f"seed-{i}",
                    sip_call_id=f"seed-{i}",
                    dialled=queue,
                    queue=queue,
                    caller=f"139{rng.randrange(10**8):08d}",
                    state="ended",
                    codec="PCMA",
                    arrived_at=arrived,
                    connected_at=connected,
                    ended_at=min(ended, real_now),
                    end_reason="caller-hangup",
                    agent_id=rng.choice(agents) if answered else None,
                    rtp_from_caller=0,
                    rtp_to_caller=0,
                )
            )
    switchboard = system.switchboard
    switchboard.connect_gateway(lambda call_id, agent_id: None)  # no phones ring here
    # Twenty minutes of the shift: agents sign in, some pause, calls come and are answered.
    clock.now = real_now - timedelta(minutes=20)
    for n, agent in enumerate(agents):
        clock.now = clock() + timedelta(seconds=rng.uniform(5, 25))
        if n in (4, 11, 17, 23):
            switchboard.request_state(agent, AgentState.PAUSED, REASONS[n % len(REASONS)])
        elif n not in (28, 29):
            switchboard.request_state(agent, AgentState.READY)
    for n in range(20):
        clock.now = real_now - timedelta(seconds=rng.uniform(20, 500))
        call_id = str(uuid.uuid4())
        dialled = "12345" if n % 6 == 0 else ("12319" if n % 3 else "96198")
        queue = "96198" if dialled == "96198" else "12319"
        caller = f"138{rng.randrange(10**8):08d}"
        switchboard.on_telephony_event(
            CallArrived(clock.now, call_id, call_id, caller, dialled, queue, "PCMA")
        )
        agent = switchboard.routing.agent_for_call(call_id)
        if agent is not None and n % 5 != 4:
            clock.now = clock() + timedelta(seconds=rng.uniform(2, 8))
            switchboard.on_telephony_event(AgentAnswered(clock.now, call_id, agent))
    # Callers wait now: every ready agent is busy.
    for seconds in (42, 30, 17, 9, 4):
        clock.now = real_now - timedelta(seconds=seconds)
        call_id = str(uuid.uuid4())
        switchboard.on_telephony_event(
            CallArrived(clock.now, call_id, call_id, "13900001111", "12319", "12319", "PCMA")
        )
    clock.now = None
    await switchboard.synced()


async def shoot(page: Page, url: str, path: Path) -> bool:
    await page.goto(url)
    await page.get_by_label("坐席工号").fill("9001")
    await page.get_by_label("密码").fill("pw-9001-secret")
    await page.get_by_label("密码").press("Enter")
    await page.wait_for_selector("body[data-synced=true]")
    await page.wait_for_timeout(1200)  # the seconds tick once, for a picture with live clocks
    fits = bool(
        await page.evaluate(
            """() => {
                const tiles = [...document.querySelectorAll("[data-testid=agent]")];
                const bottom = Math.max(...tiles.map((t) => t.getBoundingClientRect().bottom));
                return tiles.length >= 30 && bottom <= innerHeight
                    && document.documentElement.scrollHeight <= innerHeight;
            }"""
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path))
    print(f"{path}: 30 agents {'fit' if fits else 'do NOT fit'} without scrolling")
    return fits


async def run(url: str, folder: Path) -> int:
    if True:
        config = HotlineConfig().replace(
            sip={"host": "127.0.0.1", "port": 0, "rtp_port_min": 33000, "rtp_port_max": 33999},
            database={"url": url},
            dispatch={"url": "http://127.0.0.1:9/cases", "secret": "screenshots"},
            routing={"wrap_up_seconds": 0},
            nlp={"model_path": ""},
        )
        real_now = datetime.now(UTC)
        clock = Clock()
        system = build_system(config, clock=clock)
        server = TestServer(system.app, host="127.0.0.1")
        await server.start_server()
        try:
            await seed(system, clock, real_now)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                results = []
                for width, height in ((1920, 1080), (1366, 768)):
                    context = await browser.new_context(
                        viewport={"width": width, "height": height}, locale="zh-CN"
                    )
                    page = await context.new_page()
                    results.append(
                        await shoot(
                            page,
                            str(server.make_url("/")),
                            folder / f"wallboard-{width}x{height}.png",
                        )
                    )
                    await context.close()
                await browser.close()
        finally:
            await server.close()
    return 0 if results[0] else 1


def main(folder: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'wallboard.db'}"
        migrations.upgrade(url)
        return asyncio.run(run(url, folder))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
