"""Choosing which ready agent gets the next call of a queue (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from routing.queues import Strategy

if TYPE_CHECKING:
    from routing.engine import AgentStatus


def choose(
    ready: Sequence[AgentStatus], queue: str, strategy: Strategy, last_served: str | None
) -> AgentStatus | None:
    """The agent the strategy picks among `ready` (all ready and serving `queue`)."""
    if not ready:
        return None
    if strategy is Strategy.ROUND_ROBIN:
        ordered = sorted(ready, key=lambda a: a.agent_id)
        if last_served is not None:
            for agent in ordered:
                if agent.agent_id > last_served:
                    return agent
        return ordered[0]
    if strategy is Strategy.FEWEST_CALLS:
        return min(ready, key=lambda a: (a.calls_taken, a.idle_since, a.agent_id))
    if strategy is Strategy.SKILLS:
        return min(ready, key=lambda a: (-a.skills.get(queue, 0), a.idle_since, a.agent_id))
    return min(ready, key=lambda a: (a.idle_since, a.agent_id))
