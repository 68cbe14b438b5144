"""The staffing gap of one day (pure): per hour, agents rostered against agents needed by
Erlang C for the calls that arrived in the same hour on the same weekday of the last weeks,
beside the open cases falling due in that hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from routing.staffing import agents_needed


@dataclass(frozen=True)
class StaffingTarget:
    """What Erlang C staffs for: the handle time and the service level within a wait."""

    aht_seconds: float
    service_level: float  # share of calls answered within `answer_seconds`
    answer_seconds: float
    weeks: int  # how many past same weekdays the arrivals are averaged over

    def __post_init__(self) -> None:
        if self.weeks < 1:
            raise ValueError("at least one past week is needed")


@dataclass(frozen=True)
class StaffingHour:
    hour: int  # local hour of the day, 0-23
    calls: float  # mean arrivals in this hour over the weeks read
    needed: int  # agents Erlang C asks for (0 when no call is expected)
    rostered: int  # agents (not leads) on the roster
    cases_due: int  # open cases whose deadline falls in this hour

    @property
    def gap(self) -> int:
        """Rostered minus needed: negative is agents short, positive agents spare."""
        return self.rostered - self.needed

    def to_json_dict(self) -> dict[str, float | int]:
        return {
            "hour": self.hour,
            "calls": round(self.calls, 2),
            "needed": self.needed,
            "rostered": self.rostered,
            "gap": self.gap,
            "cases_due": self.cases_due,
        }


@dataclass(frozen=True)
class StaffingGap:
    day: date
    weeks_read: tuple[date, ...]  # the past days whose arrivals were averaged
    hours: tuple[StaffingHour, ...]

    @property
    def cases_due(self) -> int:
        return sum(h.cases_due for h in self.hours)

    @property
    def hours_short(self) -> int:
        return sum(1 for h in self.hours if h.gap < 0)

    def to_json_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "weeks_read": [d.isoformat() for d in self.weeks_read],
            "cases_due": self.cases_due,
            "hours_short": self.hours_short,
            "hours": [h.to_json_dict() for h in self.hours],
        }


def past_weekdays(day: date, now: datetime, zone: ZoneInfo, weeks: int) -> tuple[date, ...]:
    """The `weeks` latest days with `day`'s weekday that are over by `now` (newest first)."""
    today = now.astimezone(zone).date()
    first = day - timedelta(days=7)
    while first >= today:
        first -= timedelta(days=7)
    return tuple(first - timedelta(days=7 * k) for k in range(weeks))


def staffing_gap(
    day: date,
    now: datetime,
    zone: ZoneInfo,
    target: StaffingTarget,
    arrivals: Iterable[datetime],
    rostered: Mapping[int, int],
    case_deadlines: Iterable[datetime] = (),
) -> StaffingGap:
    """The day's gap: `arrivals` are call arrival times (any span; those outside the weeks
    read are ignored), `rostered` agents per local hour, `case_deadlines` of open cases."""
    read = past_weekdays(day, now, zone, target.weeks)
    wanted = set(read)
    per_hour = [0] * 24
    for at in arrivals:
        local = at.astimezone(zone)
        if local.date() in wanted:
            per_hour[local.hour] += 1
    due = [0] * 24
    for deadline in case_deadlines:
        local = deadline.astimezone(zone)
        if local.date() == day:
            due[local.hour] += 1
    hours = []
    for hour in range(24):
        calls = per_hour[hour] / target.weeks
        needed = 0
        if calls > 0:
            needed = agents_needed(
                calls, target.aht_seconds, target.service_level, target.answer_seconds
            ).agents
        hours.append(StaffingHour(hour, calls, needed, rostered.get(hour, 0), due[hour]))
    return StaffingGap(day, read, tuple(hours))
