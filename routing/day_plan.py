"""A day's staffing: replay the day's arrivals against the agents rostered hour by hour, and
compare with what Erlang C says each hour needs (pure, seeded, repeatable)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routing.staffing import agents_needed

DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class HourPlan:
    hour: int
    calls: int
    rostered: int
    needed: int
    service_level: float  # predicted by the simulation for calls arriving in this hour
    asa_seconds: float


def parse_arrivals(text: str, rng: random.Random) -> list[float]:
    """Seconds after local midnight of each call, ascending. Either one row per call with a
    `time` column (HH:MM[:SS]), or one row per hour with `hour,calls` (spread at random
    within the hour). Bad rows are refused naming the line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = set(reader.fieldnames or [])
    arrivals: list[float] = []
    for line, row in enumerate(reader, start=2):
        try:
            if "time" in fields:
                parts = [int(p) for p in (row["time"] or "").strip().split(":")]
                if not 2 <= len(parts) <= 3:
                    raise ValueError(f"time {row['time']!r} is not HH:MM[:SS]")
                h, m, s = [*parts, 0][:3]
                if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 60):
                    raise ValueError(f"time {row['time']!r} is out of range")
                arrivals.append(float(h * 3600 + m * 60 + s))
            elif {"hour", "calls"} <= fields:
                hour, calls = int(row["hour"] or ""), int(row["calls"] or "")
                if not 0 <= hour < 24 or calls < 0:
                    raise ValueError("hour must be 0-23 and calls ≥ 0")
                arrivals += [hour * 3600 + rng.random() * 3600 for _ in range(calls)]
            else:
                raise ValueError("the header needs a time column, or hour and calls")
        except (ValueError, TypeError) as error:
            raise ValueError(f"line {line}: {error}") from None
    return sorted(arrivals)


def _on_duty_start(agent: int, earliest: float, staff: Sequence[int]) -> float | None:
    """The first moment ≥ earliest when agent number `agent` is rostered (None: not today)."""
    hour = int(earliest // 3600)
    while hour < 24:
        if agent < staff[hour]:
            return max(earliest, hour * 3600.0)
        hour += 1
    return None


def simulate_day(
    arrivals: Sequence[float],
    staff: Mapping[int, int],
    aht_seconds: float,
    target_seconds: float,
    rng: random.Random,
) -> tuple[list[float], list[float | None]]:
    """FIFO, any free rostered agent; an agent finishes a call that runs past the shift end.
    Returns each call's wait (None when nobody is rostered for the rest of the day)."""
    per_hour = [max(0, staff.get(h, 0)) for h in range(24)]
    free_at = [0.0] * max(per_hour, default=0)
    waits: list[float | None] = []
    for arrival in arrivals:
        best: tuple[float, int] | None = None
        for agent, free in enumerate(free_at):
            start = _on_duty_start(agent, max(arrival, free), per_hour)
            if start is not None and (best is None or start < best[0]):
                best = (start, agent)
        if best is None:
            waits.append(None)
            continue
        start, agent = best
        free_at[agent] = start + rng.expovariate(1.0 / aht_seconds)
        waits.append(start - arrival)
    return list(arrivals), waits


def plan_day(
    arrivals: Sequence[float],
    rostered: Mapping[int, int],
    aht_seconds: float,
    target_sl: float,
    target_seconds: float,
    rng: random.Random,
) -> list[HourPlan]:
    """Per hour: calls, agents rostered, agents Erlang C needs, and the simulated SL/ASA."""
    times, waits = simulate_day(arrivals, rostered, aht_seconds, target_seconds, rng)
    plans: list[HourPlan] = []
    for hour in range(24):
        in_hour = [w for t, w in zip(times, waits, strict=True) if int(t // 3600) == hour]
        calls = len(in_hour)
        needed = agents_needed(calls, aht_seconds, target_sl, target_seconds).agents if calls else 0
        answered = [w for w in in_hour if w is not None]
        in_time = sum(1 for w in answered if w <= target_seconds)
        plans.append(
            HourPlan(
                hour,
                calls,
                rostered.get(hour, 0),
                needed,
                in_time / calls if calls else 1.0,
                sum(answered) / len(answered) if answered else 0.0,
            )
        )
    return plans
