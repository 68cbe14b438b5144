"""Queue figures per duty shift (a night shift across midnight is one shift), pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from routing.metrics import (
    AgentStateRecord,
    CallRecord,
    MetricsOptions,
    QueueFigures,
    queue_figures,
)
from routing.roster import Roster


def shift_windows(
    roster: Roster, start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """("2026-11-23 夜班", from, to) for each shift overlapping the window, clipped to it."""
    windows: list[tuple[str, datetime, datetime]] = []
    moment = start
    while moment < end:
        day, shift = roster.current(moment)
        shift_start = shift.start_on(day, roster.zone)
        shift_end = shift_start + timedelta(hours=shift.hours)
        windows.append((f"{day} {shift.name}", max(shift_start, start), min(shift_end, end)))
        moment = shift_end
    return windows


def shift_figures(
    calls: Sequence[CallRecord],
    states: Sequence[AgentStateRecord],
    roster: Roster,
    start: datetime,
    end: datetime,
    options: MetricsOptions,
) -> dict[str, dict[str, QueueFigures]]:
    """Queue figures for each shift of the window that had calls."""
    result: dict[str, dict[str, QueueFigures]] = {}
    for label, begin, finish in shift_windows(roster, start, end):
        figures = queue_figures(calls, states, begin, finish, options)
        if figures:
            result[label] = figures
    return result
