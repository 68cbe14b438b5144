"""The closed loop's latencies through the running service (SQLite, or PostgreSQL with
--postgres URL): from a signed status event received at POST /api/dispatch/events to the
`case.updated` push arriving on the taking agent's websocket, and from the core's 结案 to
the 回访 offer (`visit.offered`) reaching a ready agent's websocket.

Everything runs in one process on loopback: the hotline (gateway, console, sender,
scheduler), a stand-in dispatch core that accepts cases, and two websocket consoles.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

import migrations
from dispatch.sender import sign_body
from hotline.config import HotlineConfig
from hotline.wiring import build_system

SECRET = "bench-secret"
FORM = {
    "hotline": "12319",
    "caller_name": "李先生",
    "phone": "13900001111",
    "address": "解放路1号",
    "description": "路灯不亮",
    "department_code": "MUNICIPAL",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


async def core_stub() -> TestServer:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"accepted": True})

    app = web.Application()
    app.router.add_post("/cases", accept)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def pushes(ws: aiohttp.ClientWebSocketResponse, kind: str, ticket: str) -> float:
    """When the next `kind` push for `ticket` arrives (perf_counter)."""
    while True:
        message: dict[str, Any] = json.loads((await ws.receive()).data)
        if message.get("type") == kind and message.get("ticket") == ticket:
            return time.perf_counter()


async def run(url: str, count: int) -> None:
    core = await core_stub()
    config = HotlineConfig().replace(
        sip={"host": "127.0.0.1", "port": 0, "nonce_secret": "bench"},
        database={"url": url},
        dispatch={"url": str(core.make_url("/cases")), "secret": SECRET},
        routing={"wrap_up_seconds": 0},
        nlp={"model_path": ""},
    )
    system = build_system(config)
    console = TestServer(system.app, host="127.0.0.1")
    await console.start_server()
    now = datetime.now(UTC)
    for agent in ("1001", "1002"):
        await system.accounts.add_agent(
            agent, agent, f"pw-{agent}-bench", f"sip-{agent}-b", "agent", now
        )
    event_ms: list[float] = []
    visit_ms: list[float] = []
    async with aiohttp.ClientSession() as http:
        tokens = {}
        for agent in ("1001", "1002"):
            async with http.post(
                console.make_url("/api/login"),
                json={"agent_id": agent, "password": f"pw-{agent}-bench"},
            ) as r:
                tokens[agent] = (await r.json())["token"]
        auth = {a: {"Authorization": f"Bearer {t}"} for a, t in tokens.items()}
        taker = await http.ws_connect(console.make_url("/ws"), headers=auth["1001"])
        visitor = await http.ws_connect(console.make_url("/ws"), headers=auth["1002"])

        async def post(number: str, kind: str) -> None:
            body = json.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "ticket": number,
                    "type": kind,
                    "at": datetime.now(UTC).isoformat(),
                }
            ).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Hotline-Signature": sign_body(SECRET, body),
            }
            async with http.post(
                console.make_url("/api/dispatch/events"), data=body, headers=headers
            ) as r:
                assert r.status == 200, await r.text()

        for _ in range(count):
            async with http.post(
                console.make_url("/api/tickets"), json=FORM, headers=auth["1001"]
            ) as r:
                number = (await r.json())["number"]
            for kind in ("dispatched", "handled"):
                waiter = asyncio.create_task(pushes(taker, "case.updated", number))
                started = time.perf_counter()
                await post(number, kind)
                event_ms.append((await waiter) - started)
            # 结案 → the 回访 offered to the ready agent.
            async with http.post(
                console.make_url("/api/agents/1002/state"),
                json={"state": "ready"},
                headers=auth["1002"],
            ) as r:
                assert r.status == 200
            waiter = asyncio.create_task(pushes(visitor, "visit.offered", number))
            started = time.perf_counter()
            await post(number, "closed")
            visit_ms.append((await waiter) - started)
            async with http.post(
                console.make_url(f"/api/tickets/{number}/visit"),
                json={"outcome": "satisfied"},
                headers=auth["1002"],
            ) as r:
                assert r.status == 200, await r.text()
        await taker.close()
        await visitor.close()
    await console.close()
    await core.close()
    print(f"{url.split(':')[0]}: {count} cases, {len(event_ms)} status events")
    print(
        f"  core event received → console updated: p50 {percentile(event_ms, 0.5):.1f} ms, "
        f"p99 {percentile(event_ms, 0.99):.1f} ms"
    )
    print(
        f"  结案 received → 回访 offered to a ready agent: p50 {percentile(visit_ms, 0.5):.1f} ms, "
        f"p99 {percentile(visit_ms, 0.99):.1f} ms (mean {statistics.mean(visit_ms) * 1000:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose schema may be reset")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        migrations.upgrade(url)
        asyncio.run(run(url, args.count))
    if args.postgres:
        migrations.downgrade(args.postgres, "base")
        migrations.upgrade(args.postgres)
        asyncio.run(run(args.postgres, args.count))


if __name__ == "__main__":
    main()
