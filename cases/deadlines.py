"""Time limits per category and urgency, and when 催办 and 督办 fall due."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from cases.calendar import WorkingCalendar


@dataclass(frozen=True)
class TimeLimit:
    """A limit in working days, or in clock hours (urgent matters do not wait for holidays)."""

    working_days: int = 0
    hours: float = 0.0

    def __post_init__(self) -> None:
        if (self.working_days > 0) == (self.hours > 0):
            raise ValueError("a time limit is either working days or hours, and positive")

    def describe(self) -> str:
        if self.working_days:
            return f"{self.working_days}个工作日"
        return f"{self.hours:g}小时"


def category_limits(entries: Iterable[str]) -> dict[str, int]:
    """Parse "CODE=N" entries (a management-item code or its prefix → working days)."""
    limits: dict[str, int] = {}
    for entry in entries:
        code, sep, days = entry.partition("=")
        code = code.strip()
        if not sep or not code.isdigit() or not days.strip().isdigit() or int(days) < 1:
            raise ValueError(f"category limit {entry!r} is not CODE=WORKING_DAYS")
        limits[code] = int(days)
    return limits


@dataclass(frozen=True)
class DeadlinePolicy:
    """The centre's time limits; the defaults are the common ones of 12319 centres."""

    calendar: WorkingCalendar
    forward_minutes: float = 10.0  # a saved case reaches the core within this
    urgent_hours: float = 2.0
    consult_working_days: int = 3  # a ticket with no management-item category (咨询, 建议)
    general_working_days: int = 5
    return_working_days: int = 1  # a department may 退单 within this after 派遣
    # Management-item code (or prefix) → working days; the longest matching prefix wins.
    categories: dict[str, int] = field(default_factory=dict)
    # 延期: at most this many extensions, each of at most this many working days.
    max_extensions: int = 3
    max_extension_working_days: int = 3
    # 催办 this many working days before a working-day deadline; for hour limits (and
    # limits too short for that) when this share of the time has gone.
    remind_working_days_before: int = 1
    remind_share: float = 0.75
    # 回访 within this many working days of 结案; 未接通 is retried this often, this far apart.
    visit_working_days: int = 2
    visit_attempts: int = 3
    visit_retry_minutes: float = 120.0

    def limit_for(self, category_code: str | None, urgent: bool) -> TimeLimit:
        if urgent:
            return TimeLimit(hours=self.urgent_hours)
        if not category_code:
            return TimeLimit(working_days=self.consult_working_days)
        best = max((c for c in self.categories if category_code.startswith(c)), key=len, default="")
        if best:
            return TimeLimit(working_days=self.categories[best])
        return TimeLimit(working_days=self.general_working_days)

    def deadline(self, start: datetime, limit: TimeLimit) -> datetime:
        if limit.working_days:
            return self.calendar.add_working_days(start, limit.working_days)
        return (start + timedelta(hours=limit.hours)).astimezone(self.calendar.zone)

    def forward_deadline(self, accepted_at: datetime) -> datetime:
        return accepted_at + timedelta(minutes=self.forward_minutes)

    def return_deadline(self, dispatched_at: datetime) -> datetime:
        return self.calendar.add_working_days(dispatched_at, self.return_working_days)

    def visit_deadline(self, closed_at: datetime) -> datetime:
        return self.calendar.add_working_days(closed_at, self.visit_working_days)

    def remind_at(self, start: datetime, deadline: datetime, limit: TimeLimit) -> datetime:
        """When 催办 falls due for a deadline that started running at `start`."""
        if limit.working_days > self.remind_working_days_before:
            return self.calendar.subtract_working_days(deadline, self.remind_working_days_before)
        return start + (deadline - start) * self.remind_share

    def extended_deadline(self, current: datetime, new_day: date) -> datetime:
        """The deadline after a 延期 to `new_day`: the end of that day in the centre's zone."""
        return datetime.combine(new_day + timedelta(days=1), time(0, 0), self.calendar.zone)

    def extension_problem(self, current: datetime, new_day: date, granted: int) -> str | None:
        """Why a 延期 to `new_day` cannot be granted, or None."""
        if granted >= self.max_extensions:
            return f"已延期{granted}次，最多{self.max_extensions}次"
        # A deadline at 00:00 ends the day before.
        current_day = (current.astimezone(self.calendar.zone) - timedelta(microseconds=1)).date()
        if new_day <= current_day:
            return f"new deadline {new_day} is not after the current deadline {current_day}"
        added = self.calendar.working_days_between(current_day, new_day)
        if added > self.max_extension_working_days:
            return f"延期{added}个工作日，超过每次{self.max_extension_working_days}个工作日的上限"
        return None
