"""Working days in the centre's timezone: Chinese public holidays and 调休 make-up working
days from the maintained `chinesecalendar` data."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

# A deadline never lies further out than this many calendar days per working day asked for
# (the longest run of rest days, Spring Festival plus a weekend, is under 12 days).
_SEARCH_DAYS = 40


class WorkingCalendar:
    """Which days are working days, and deadlines counted in them."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        # chinesecalendar scans its whole table on every question: each day is asked once.
        self._working: dict[date, bool] = {}

    def is_working_day(self, day: date) -> bool:
        """A working day by the State Council's notice for that year (调休 Saturdays count).

        Years the package has no data for fall back to Monday to Friday.
        """
        known = self._working.get(day)
        if known is None:
            try:
                known = bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                known = day.weekday() < 5
            self._working[day] = known
        return known

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for offset in range(1, _SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_SEARCH_DAYS} days after {day}")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` full working days after `start`, in the centre's timezone.

        From a working day the deadline is the same time of day on the `days`-th working
        day after it; from a rest day the clock starts at 00:00 of the next working day, so
        one working day from a holiday ends when that first working day ends.
        """
        if start.tzinfo is None:
            raise ValueError("start must carry a timezone")
        if days < 0:
            raise ValueError("days must not be negative")
        local = start.astimezone(self.zone)
        day = local.date()
        clock = local.timetz().replace(tzinfo=None)
        if not self.is_working_day(day):
            day, clock = self.next_working_day(day), time(0, 0)
            if days == 0:
                return datetime.combine(day, clock, self.zone)
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, clock, self.zone)

    def subtract_working_days(self, end: datetime, days: int) -> datetime:
        """The same time of day `days` working days before `end` (for 催办 before a deadline)."""
        local = end.astimezone(self.zone)
        day = local.date()
        for _ in range(days):
            for offset in range(1, _SEARCH_DAYS):
                candidate = day - timedelta(days=offset)
                if self.is_working_day(candidate):
                    day = candidate
                    break
            else:
                raise ValueError(f"no working day within {_SEARCH_DAYS} days before {day}")
        return datetime.combine(day, local.timetz().replace(tzinfo=None), self.zone)

    def working_days_between(self, first: date, last: date) -> int:
        """Working days after `first` up to and including `last` (0 if last <= first)."""
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
