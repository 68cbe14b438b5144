"""Console events reaching N connected wallboards: p50/p99 from the event to each websocket.

The hotline runs in this process (SQLite, the whole app); N lead websockets are opened by a
second process (as N browsers would be), each first receiving the `wallboard` snapshot.
Two kinds of rounds follow. A state change: an agent changes state through the switchboard
(as POST /api/agents/…/state does) and every socket records when its `wallboard.agents`
update arrives. A new call: the switchboard hears a call arrive (the gateway's CallArrived,
as for a caller answered and greeted) and, with every agent paused, queues it; every socket
records when the `wallboard.call` naming it arrives. Both processes read CLOCK_MONOTONIC,
which is one clock for the whole machine. Prints figures; asserts nothing.

    python bench/bench_wallboard.py [N=300] [ROUNDS=50]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUND_GAP = 0.2  # seconds between events, so each round's fan-out is measured alone


async def clients(url: str, token: str, n: int, rounds: int) -> None:
    """The browsers: N websockets; print each socket's arrival times of wallboard.agents."""
    import aiohttp

    arrivals: list[list[float]] = [[] for _ in range(n)]
    calls: list[list[float]] = [[] for _ in range(n)]
    ready = asyncio.Semaphore(0)
    done = asyncio.Event()

    async def one(index: int, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as ws:
            async for message in ws:
                received = time.monotonic()
                data = json.loads(message.data)
                if data["type"] == "wallboard":
                    ready.release()
                elif data["type"] == "wallboard.call" and len(calls[index]) < rounds:
                    wanted = f"bench-call-{len(calls[index])}"
                    if any(c["call_id"] == wanted for c in data["calls"]):
                        calls[index].append(received)
                        if len(calls[index]) == rounds:
                            break
                elif data["type"] == "wallboard.agents" and len(arrivals[index]) < rounds:
                    # Round k pauses agent 1001 when k is even and makes it ready when odd.
                    expected = "paused" if len(arrivals[index]) % 2 == 0 else "ready"
                    if not any(
                        a["agent_id"] == "1001" and a["state"] == expected for a in data["agents"]
                    ):
                        continue
                    arrivals[index].append(received)
        if all(len(a) == rounds for a in arrivals) and all(len(c) == rounds for c in calls):
            done.set()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [asyncio.create_task(one(i, http)) for i in range(n)]
        for _ in range(n):
            await ready.acquire()
        print("ready", flush=True)
        await asyncio.wait_for(done.wait(), timeout=60 + rounds * 5)
        await asyncio.gather(*tasks)
    print(json.dumps({"state": arrivals, "call": calls}), flush=True)


async def server(n: int, rounds: int, url_db: str) -> None:
    from aiohttp.test_utils import TestServer

    from hotline.config import HotlineConfig
    from hotline.wiring import build_system
    from routing import AgentState
    from telephony.events import CallArrived

    config = HotlineConfig().replace(
        sip={"host": "127.0.0.1", "port": 0, "rtp_port_min": 34000, "rtp_port_max": 34999},
        database={"url": url_db},
        dispatch={"url": "http://127.0.0.1:9/cases", "secret": "bench"},
        console={"ws_per_session": n},
        nlp={"model_path": ""},
    )
    system = build_system(config)
    site = TestServer(system.app, host="127.0.0.1")
    await site.start_server()
    now = datetime.now(UTC)
    for agent in ("1001", "1002"):
        await system.accounts.add_agent(
            agent, f"坐席{agent}", "bench-password", "sip-pw-x", "agent", now
        )
    await system.accounts.add_agent("9001", "班长", "bench-password", "sip-pw-x", "lead", now)
    switchboard = system.switchboard
    for agent in ("1001", "1002"):
        switchboard.request_state(agent, AgentState.READY)
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.post(
            site.make_url("/api/login"), json={"agent_id": "9001", "password": "bench-password"}
        ) as response:
            token = (await response.json())["token"]
    ws_url = str(site.make_url("/ws")).replace("http://", "ws://")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--clients",
        ws_url,
        token,
        str(n),
        str(rounds),
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), timeout=120)
    assert line.strip() == b"ready", line
    await asyncio.sleep(1.0)  # let the snapshots' sends finish
    sent: list[float] = []
    for k in range(rounds):
        state = AgentState.PAUSED if k % 2 == 0 else AgentState.READY
        sent.append(time.monotonic())
        switchboard.request_state("1001", state, "用餐" if state is AgentState.PAUSED else "")
        await asyncio.sleep(ROUND_GAP)
    # Every agent paused, so each new call waits in the queue (as in a busy hour).
    for agent in ("1001", "1002"):
        switchboard.request_state(agent, AgentState.PAUSED, "用餐")
    await asyncio.sleep(ROUND_GAP)
    arrived: list[float] = []
    for k in range(rounds):
        arrived.append(time.monotonic())
        switchboard.on_telephony_event(
            CallArrived(
                datetime.now(UTC),
                f"bench-call-{k}",
                f"bench-sip-{k}@127.0.0.1",
                f"1380013{k:04d}",
                "12319",
                "12319",
                "PCMA",
            )
        )
        await asyncio.sleep(ROUND_GAP)
    output = await asyncio.wait_for(child.stdout.read(), timeout=120)
    await child.wait()
    received = json.loads(output.decode().strip().splitlines()[-1])
    await switchboard.synced()
    await site.close()
    print(f"wallboard fan-out: {n} websockets, {rounds} rounds of each, {os.cpu_count()} CPUs")
    report("a state change", received["state"], sent, rounds, n)
    report("a new call", received["call"], arrived, rounds, n)


def report(what: str, arrivals: list[list[float]], sent: list[float], rounds: int, n: int) -> None:
    latencies = sorted((times[k] - sent[k]) * 1000 for times in arrivals for k in range(rounds))
    last = sorted(max(times[k] for times in arrivals) - sent[k] for k in range(rounds))

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p * len(values)))]

    print(f"  {what}:")
    print(
        f"    event → each socket: p50 {pct(latencies, 0.50):.1f} ms, "
        f"p99 {pct(latencies, 0.99):.1f} ms, max {latencies[-1]:.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms"
    )
    print(
        f"    event → last of the {n} sockets: p50 {pct(last, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(last, 0.99) * 1000:.1f} ms"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--clients":
        url, token, n, rounds = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        asyncio.run(clients(url, token, n, rounds))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    import migrations

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        migrations.upgrade(url)
        asyncio.run(server(n, rounds, url))


if __name__ == "__main__":
    main()
