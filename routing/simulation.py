"""A discrete-event simulator of one queue: replays arrivals against a number of agents.

First-come first-served, any free agent; arrivals and handle times are random but seeded,
so a run is repeatable. Used to check staffing plans beyond Erlang C's assumptions.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SimulationResult:
    calls: int
    service_level: float
    asa_seconds: float
    max_wait_seconds: float


def poisson_arrivals(calls_per_hour: float, hours: float, rng: random.Random) -> list[float]:
    """Arrival times in seconds of a Poisson process."""
    times: list[float] = []
    now, rate = 0.0, calls_per_hour / 3600.0
    while True:
        now += rng.expovariate(rate)
        if now >= hours * 3600:
            return times
        times.append(now)


def simulate(
    arrivals: Iterable[float],
    agents: int,
    aht_seconds: float,
    target_seconds: float,
    rng: random.Random,
) -> SimulationResult:
    """Serve arrivals (seconds, ascending) with `agents` agents and exponential handle times."""
    if agents < 1:
        raise ValueError("at least one agent is needed")
    free_at = [0.0] * agents  # when each agent is next free, as a heap
    answered_in_time = count = 0
    total_wait = max_wait = 0.0
    for arrival in arrivals:
        start = max(arrival, heapq.heappop(free_at))
        wait = start - arrival
        heapq.heappush(free_at, start + rng.expovariate(1.0 / aht_seconds))
        count += 1
        total_wait += wait
        max_wait = max(max_wait, wait)
        answered_in_time += wait <= target_seconds
    if count == 0:
        return SimulationResult(0, 1.0, 0.0, 0.0)
    return SimulationResult(count, answered_in_time / count, total_wait / count, max_wait)
