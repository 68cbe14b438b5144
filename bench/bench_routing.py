"""Routing decision time with many agents and a long queue. Prints figures; asserts nothing.

Each round: 2,000 calls wait across two queues; one of 500 agents becomes ready and
`assign` picks the longest-waiting call for the agent the queue's strategy chooses. Run once
per strategy (longest-idle, round-robin, fewest-calls, skills with proficiency).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing import AgentState, QueueSettings, RoutingEngine, Strategy

QUEUES = ["12319", "96198"]


def main(
    strategy: Strategy = Strategy.LONGEST_IDLE,
    agents: int = 500,
    waiting: int = 2000,
    rounds: int = 2000,
) -> None:
    rng = random.Random(1)
    t0 = datetime(2026, 11, 23, tzinfo=UTC)
    engine = RoutingEngine(
        QUEUES, timedelta(seconds=0), settings=[QueueSettings(q, strategy) for q in QUEUES]
    )
    for n in range(agents):
        skills = {q: rng.randint(1, 5) for q in QUEUES}
        engine.add_agent(f"{1000 + n}", t0, skills=skills)
        engine.request_state(f"{1000 + n}", AgentState.PAUSED, t0)
    serial = 0
    for _ in range(waiting):
        serial += 1
        engine.enqueue(f"c{serial}", rng.choice(["12319", "96198"]), t0 + timedelta(seconds=serial))
    timings = []
    now = t0 + timedelta(hours=1)
    for n in range(rounds):
        agent = f"{1000 + n % agents}"
        engine.request_state(agent, AgentState.READY, now)
        started = time.perf_counter()
        events = engine.assign(now)
        timings.append(time.perf_counter() - started)
        call_id = engine.agent(agent).call_id
        assert events and call_id is not None
        engine.answered(call_id, now)
        engine.ended(call_id, now)
        engine.request_state(agent, AgentState.PAUSED, now)
        serial += 1
        engine.enqueue(f"c{serial}", rng.choice(["12319", "96198"]), now)  # keep 2,000 waiting
        now += timedelta(milliseconds=10)
    timings.sort()
    print(f"{strategy.value}: {agents} agents, {waiting} waiting calls, {rounds} decisions")
    print(
        f"assignment decision: p50 {statistics.median(timings) * 1e6:.0f} µs, "
        f"p99 {timings[int(rounds * 0.99) - 1] * 1e6:.0f} µs, max {timings[-1] * 1e6:.0f} µs"
    )


if __name__ == "__main__":
    for each in Strategy:
        main(each)
