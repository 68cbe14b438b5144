"""Calendar periods of a report (day, week, month, quarter, year, any range), in the centre's
timezone; each knows the period before it (环比) and the same period a year earlier (同比)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


class PeriodError(ValueError):
    """A period that cannot be read; `error_id` is stable for API clients."""

    error_id = "invalid-period"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True, order=True)
class Period:
    """Local days [first, end) of one report."""

    first: date
    end: date  # the day after the last
    kind: PeriodKind

    def __post_init__(self) -> None:
        if self.end <= self.first:
            raise PeriodError(f"a period ends after it starts ({self.first} .. {self.end})")

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day + timedelta(days=1), PeriodKind.DAY)

    @classmethod
    def week(cls, day: date) -> Period:
        """The ISO week (Monday to Sunday) holding `day`."""
        monday = day - timedelta(days=day.weekday())
        return cls(monday, monday + timedelta(days=7), PeriodKind.WEEK)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        return cls(first, _add_months(first, 1), PeriodKind.MONTH)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise PeriodError(f"a quarter is 1 to 4, not {quarter}")
        first = date(year, 3 * quarter - 2, 1)
        return cls(first, _add_months(first, 3), PeriodKind.QUARTER)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year + 1, 1, 1), PeriodKind.YEAR)

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        """Any range of whole days, both ends included."""
        return cls(first, last + timedelta(days=1), PeriodKind.RANGE)

    @classmethod
    def parse(cls, text: str) -> Period:
        """ "2026-11-23", "2026-W48", "2026-11", "2026-Q4", "2026" or "2026-11-01..2026-11-15"."""
        text = text.strip()
        try:
            if ".." in text:
                first, _, last = text.partition("..")
                return cls.between(date.fromisoformat(first), date.fromisoformat(last))
            if m := re.fullmatch(r"(\d{4})-W(\d{1,2})", text):
                return cls.week(date.fromisocalendar(int(m[1]), int(m[2]), 1))
            if m := re.fullmatch(r"(\d{4})-Q(\d)", text):
                return cls.quarter(int(m[1]), int(m[2]))
            if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
                return cls.month(int(m[1]), int(m[2]))
            if re.fullmatch(r"\d{4}", text):
                return cls.year(int(text))
            return cls.day(date.fromisoformat(text))
        except ValueError as error:
            if isinstance(error, PeriodError):
                raise
            raise PeriodError(f"not a period: {text!r} ({error})") from None

    @property
    def key(self) -> str:
        """The period's name, as `parse` reads it back."""
        if self.kind is PeriodKind.DAY:
            return self.first.isoformat()
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month + 2) // 3}"
        if self.kind is PeriodKind.YEAR:
            return str(self.first.year)
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def label(self) -> str:
        """How a director writes it: 2026年11月, 2026年第四季度 …"""
        if self.kind is PeriodKind.DAY:
            return f"{self.first.year}年{self.first.month}月{self.first.day}日"
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.first.isocalendar()
            return f"{year}年第{week}周（{self.first:%m.%d}–{self.last:%m.%d}）"
        if self.kind is PeriodKind.MONTH:
            return f"{self.first.year}年{self.first.month}月"
        if self.kind is PeriodKind.QUARTER:
            quarter = "一二三四"[(self.first.month - 1) // 3]
            return f"{self.first.year}年第{quarter}季度"
        if self.kind is PeriodKind.YEAR:
            return f"{self.first.year}年"
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    def days_in(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: local midnight to local midnight."""
        start = datetime.combine(self.first, datetime.min.time(), zone)
        end = datetime.combine(self.end, datetime.min.time(), zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def previous(self) -> Period:
        """The period just before, for 环比: last month, last quarter, the days before a range."""
        if self.kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR):
            months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[self.kind]
            return Period(_add_months(self.first, -months), self.first, self.kind)
        return Period(self.first - timedelta(days=self.days), self.first, self.kind)

    def year_ago(self) -> Period:
        """The same period a year earlier, for 同比."""
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.first.isocalendar()
            try:
                return Period.week(date.fromisocalendar(year - 1, week, 1))
            except ValueError:  # week 53 of a year whose predecessor has 52
                return Period.week(date.fromisocalendar(year - 1, 52, 1))
        if self.kind is PeriodKind.DAY:
            return Period.day(_shift_year(self.first, -1))
        return Period(_shift_year(self.first, -1), _shift_year(self.end, -1), self.kind)

    def closed(self, now: datetime, zone: ZoneInfo) -> bool:
        """Whether the period has ended by `now`."""
        return now >= self.bounds(zone)[1]

    def trend_steps(self) -> list[Period]:
        """The points of a trend chart: days up to two months, else months."""
        if self.days <= 62:
            return [Period.day(day) for day in self.days_in()]
        steps, first = [], self.first
        while first < self.end:
            following = min(_add_months(date(first.year, first.month, 1), 1), self.end)
            steps.append(
                Period(
                    first,
                    following,
                    PeriodKind.MONTH
                    if first.day == 1 and following == _add_months(first, 1)
                    else PeriodKind.RANGE,
                )
            )
            first = following
        return steps


def month_of(moment: datetime, zone: ZoneInfo) -> Period:
    """The calendar month `moment` falls in, in the centre's timezone."""
    local = moment.astimezone(zone)
    return Period.month(local.year, local.month)
