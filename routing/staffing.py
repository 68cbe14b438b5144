"""Erlang C: how many agents a queue needs for a service-level target (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class StaffingPlan:
    agents: int
    service_level: float  # share of calls answered within the target time
    asa_seconds: float  # average speed of answer
    wait_probability: float
    occupancy: float

    def to_json_dict(self) -> dict[str, float | int]:
        return {
            "agents": self.agents,
            "service_level": round(self.service_level, 4),
            "asa_seconds": round(self.asa_seconds, 2),
            "wait_probability": round(self.wait_probability, 4),
            "occupancy": round(self.occupancy, 4),
        }


def offered_load(calls_per_hour: float, aht_seconds: float) -> float:
    """Traffic intensity in Erlangs."""
    return calls_per_hour * aht_seconds / 3600.0


def wait_probability(agents: int, erlangs: float) -> float:
    """Erlang C: the chance a call has to queue (1.0 when the queue cannot keep up)."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return 1.0
    # Erlang B by its stable recurrence, then C from B; no factorials, no overflow.
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = erlangs * blocking / (n + erlangs * blocking)
    return agents * blocking / (agents - erlangs * (1 - blocking))


def plan_for(
    agents: int, calls_per_hour: float, aht_seconds: float, target_seconds: float
) -> StaffingPlan:
    """Service level, ASA and occupancy with a given number of agents."""
    erlangs = offered_load(calls_per_hour, aht_seconds)
    waiting = wait_probability(agents, erlangs)
    if agents <= erlangs:
        return StaffingPlan(agents, 0.0, math.inf, 1.0, 1.0)
    spare = agents - erlangs
    service_level = 1.0 - waiting * math.exp(-spare * target_seconds / aht_seconds)
    asa = waiting * aht_seconds / spare
    return StaffingPlan(agents, service_level, asa, waiting, erlangs / agents)


def agents_needed(
    calls_per_hour: float,
    aht_seconds: float,
    target_service_level: float,
    target_seconds: float,
    max_occupancy: float = 1.0,
) -> StaffingPlan:
    """The fewest agents that reach the service level (and stay under the occupancy cap)."""
    if calls_per_hour < 0 or aht_seconds <= 0:
        raise ValueError("calls per hour must be ≥ 0 and handle time > 0")
    if not 0 < target_service_level < 1:
        raise ValueError("the service-level target must be between 0 and 1")
    erlangs = offered_load(calls_per_hour, aht_seconds)
    agents = max(1, math.floor(erlangs) + 1)
    while True:
        plan = plan_for(agents, calls_per_hour, aht_seconds, target_seconds)
        if plan.service_level >= target_service_level and plan.occupancy <= max_occupancy:
            return plan
        agents += 1
