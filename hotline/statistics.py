"""Statistics for shift leads: loads the persisted logs of a window and computes the figures."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import CALL_ROW_COLUMNS, AgentEvent, Call
from routing.metrics import (
    AgentFigures,
    AgentStateRecord,
    CallRecord,
    MetricsOptions,
    QueueFigures,
    agent_figures,
    hourly_figures,
    queue_figures,
)
from routing.roster import Roster
from routing.shift_metrics import shift_figures

# An agent state change as routing/metrics.py's AgentStateRecord takes it.
STATE_RECORD_COLUMNS = (AgentEvent.agent_id, AgentEvent.state, AgentEvent.at)


@dataclass(frozen=True)
class Window:
    """The figures of one window of the logs."""

    queues: dict[str, QueueFigures]
    agents: dict[str, AgentFigures]
    hours: dict[datetime, dict[str, QueueFigures]]  # the hours that had calls
    shifts: dict[str, dict[str, QueueFigures]]  # empty without a shift pattern


class Statistics:
    """Queue and agent figures for any window, from the database (so restarts lose nothing)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        options: MetricsOptions,
        shifts: Roster | None = None,
    ) -> None:
        self._sessions = sessions
        self._options = options
        self._shifts = shifts

    async def _records(
        self, start: datetime, end: datetime
    ) -> tuple[list[CallRecord], list[AgentStateRecord]]:
        # Plain columns, not ORM objects: a busy day's 24 hours are tens of thousands of calls
        # and a hundred thousand state changes.
        last_before = (
            select(AgentEvent.agent_id, func.max(AgentEvent.id).label("id"))
            .where(AgentEvent.at < start)
            .group_by(AgentEvent.agent_id)
            .subquery()
        )
        in_calls = (Call.arrived_at >= start, Call.arrived_at < end)
        in_states = (AgentEvent.at >= start, AgentEvent.at < end)
        async with self._sessions() as db:
            calls = (await db.execute(select(*CALL_ROW_COLUMNS).where(*in_calls))).all()
            in_window = (await db.execute(select(*STATE_RECORD_COLUMNS).where(*in_states))).all()
            # Each agent's last change before the window tells its state when the window opens.
            opening = (
                await db.execute(
                    select(*STATE_RECORD_COLUMNS).join(
                        last_before, AgentEvent.id == last_before.c.id
                    )
                )
            ).all()
        call_records = [CallRecord(*row) for row in calls]
        state_records = [AgentStateRecord(*row) for row in [*opening, *in_window]]
        return call_records, state_records

    async def figures(
        self, start: datetime, end: datetime
    ) -> tuple[dict[str, QueueFigures], dict[str, AgentFigures]]:
        figures = await self.window(start, end)
        return figures.queues, figures.agents

    async def window(self, start: datetime, end: datetime, hourly: bool = False) -> Window:
        """Every figure of the window from one read of the logs: per queue, per agent, per
        duty shift (when a shift pattern is configured) and, if asked, hour by hour."""
        calls, states = await self._records(start, end)

        def compute() -> Window:
            return Window(
                queue_figures(calls, states, start, end, self._options),
                agent_figures(calls, states, start, end),
                hourly_figures(calls, states, start, end, self._options) if hourly else {},
                {}
                if self._shifts is None
                else shift_figures(calls, states, self._shifts, start, end, self._options),
            )

        # Pure and long on a busy day: computed off the event loop, which carries calls.
        return await asyncio.to_thread(compute)


def shifts_json(shifts: dict[str, dict[str, QueueFigures]]) -> dict[str, Any]:
    return {
        label: {name: asdict(figures) for name, figures in by_queue.items()}
        for label, by_queue in shifts.items()
    }


def figures_json(
    queues: dict[str, QueueFigures],
    agents: dict[str, AgentFigures],
    hours: dict[datetime, dict[str, QueueFigures]],
) -> dict[str, Any]:
    return {
        "queues": {name: asdict(figures) for name, figures in queues.items()},
        "agents": {name: asdict(figures) for name, figures in agents.items()},
        "hours": {
            hour.isoformat(): {name: asdict(figures) for name, figures in by_queue.items()}
            for hour, by_queue in hours.items()
        },
    }
