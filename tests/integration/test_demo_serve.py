"""`make run`'s demo as a user starts it, on ports of their choosing: cases still get forwarded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.support.sipp import free_ports

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo.toml"


def hotline(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


async def wait_for_console(url: str, server: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            assert server.poll() is None, "hotline serve exited"
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        raise AssertionError("console did not come up within 30 s")


async def test_demo_on_another_console_port_forwards_cases(tmp_path: Path) -> None:
    console_port = free_ports(2)
    sip_port = console_port + 1
    env = {
        **os.environ,
        "HOTLINE_CONFIG": str(DEMO),
        "HOTLINE_CONSOLE_PORT": str(console_port),
        "HOTLINE_SIP_PORT": str(sip_port),
        "HOTLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "HOTLINE_SIP_DRAIN_SECONDS": "0",
        # The stand-in reports status back quickly, so the loop closes within the test.
        "HOTLINE_DEMO_EVENT_DELAY_SECONDS": "0.05",
    }
    for command in (("migrate",), ("demo-agents",)):
        done = hotline(*command, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "serve", "--plain-logs"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{console_port}"
    try:
        await wait_for_console(url, server)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url + "/api/login", json={"agent_id": "1001", "password": "demo-1001"}
            ) as r:
                assert r.status == 200, await r.text()
                token = (await r.json())["token"]
            auth = {"Authorization": f"Bearer {token}"}
            form = {
                "hotline": "12319",
                "phone": "13800138000",
                "department_code": "MUNICIPAL",
                "address": "解放路12号",
                "description": "路口井盖缺失",
            }
            async with http.post(url + "/api/tickets", json=form, headers=auth) as r:
                assert r.status == 201, await r.text()
                number = (await r.json())["number"]
            forwarded = False
            for _ in range(200):
                async with http.get(url + f"/api/tickets/{number}", headers=auth) as r:
                    forwarded = (await r.json())["forwarded"]
                if forwarded:
                    break
                await asyncio.sleep(0.1)
            assert forwarded, "the case never reached the demo dispatch core"
            # The stand-in reports back until the case waits for its 回访, or was sent back
            # (退单: a lead decides, so the stand-in stops there).
            state = ""
            for _ in range(300):
                async with http.get(url + f"/api/tickets/{number}", headers=auth) as r:
                    view = await r.json()
                state = view["state"]
                if state in ("callback", "returned"):
                    break
                await asyncio.sleep(0.1)
            assert state in ("callback", "returned"), view
            kinds = [e["type"] for e in view["events"]]
            assert "dispatched" in kinds and all(e["by"] for e in view["events"])
            if state == "callback":
                assert kinds[-3:] == ["handled", "verified", "closed"]
        # SIGTERM (systemd's stop) drains and ends with status 0, not aiohttp's 1.
        server.terminate()
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
