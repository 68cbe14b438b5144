"""Working-day deadlines across the 2026 Spring Festival and National Day holidays.

The expected dates are worked out by hand from the State Council's 2026 notice:
- Spring Festival: 15–23 February (Sunday to Monday) off; Saturday 14 and Saturday 28
  February are 调休 working days.
- National Day with Mid-Autumn: 1–7 October off (and the weekend 26–27 September);
  Sunday 20 September and Saturday 10 October are 调休 working days.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cases.calendar import WorkingCalendar
from cases.deadlines import DeadlinePolicy, TimeLimit, category_limits

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar("Asia/Shanghai")


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before the holiday
        (date(2026, 2, 14), True),  # 调休 Saturday
        (date(2026, 2, 15), False),  # 除夕 eve, Sunday, holiday
        (date(2026, 2, 18), False),  # Wednesday inside the holiday
        (date(2026, 2, 23), False),  # Monday, last holiday day
        (date(2026, 2, 24), True),  # Tuesday, back to work
        (date(2026, 2, 28), True),  # 调休 Saturday
        (date(2026, 3, 1), False),  # ordinary Sunday
        (date(2026, 9, 20), True),  # 调休 Sunday
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # 调休 Saturday
        (date(2026, 10, 11), False),  # ordinary Sunday
    ],
)
def test_which_days_are_working_days(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


def test_five_working_days_across_the_spring_festival() -> None:
    # Thursday 12 Feb 10:00: Fri 13 (1), Sat 14 调休 (2), holiday 15–23, Tue 24 (3),
    # Wed 25 (4), Thu 26 (5).
    assert CALENDAR.add_working_days(at(2, 12), 5) == at(2, 26)


def test_one_working_day_from_the_tiaoxiu_saturday() -> None:
    # Saturday 14 Feb is a working day; the next working day is Tuesday 24 Feb.
    assert CALENDAR.add_working_days(at(2, 14, 16, 30), 1) == at(2, 24, 16, 30)


def test_a_case_taken_during_the_holiday_starts_on_the_first_working_day() -> None:
    # Taken on 初三 (Wednesday 18 Feb): the clock starts at 00:00 on Tuesday 24 Feb;
    # three working days are 24, 25, 26 → the deadline is 00:00 on Friday 27 Feb.
    assert CALENDAR.add_working_days(at(2, 18, 21, 5), 3) == at(2, 27, 0, 0)


def test_the_saturday_after_the_festival_is_counted() -> None:
    # Thursday 26 Feb 09:00 + 2 working days: Fri 27 (1), Sat 28 调休 (2).
    assert CALENDAR.add_working_days(at(2, 26, 9), 2) == at(2, 28, 9)


def test_five_working_days_across_national_day() -> None:
    # Tuesday 29 Sep 14:00: Wed 30 (1), holiday 1–7 Oct, Thu 8 (2), Fri 9 (3),
    # Sat 10 调休 (4), Sun 11 rest, Mon 12 (5).
    assert CALENDAR.add_working_days(at(9, 29, 14), 5) == at(10, 12, 14)


def test_the_tiaoxiu_sunday_before_national_day_counts() -> None:
    # Friday 18 Sep 11:00 + 1 working day = Sunday 20 Sep 11:00 (调休), not Monday.
    assert CALENDAR.add_working_days(at(9, 18, 11), 1) == at(9, 20, 11)


def test_counting_back_for_the_reminder_skips_the_holiday() -> None:
    # One working day before Thursday 8 Oct 10:00 is Wednesday 30 Sep 10:00.
    assert CALENDAR.subtract_working_days(at(10, 8), 1) == at(9, 30)


def test_urgent_limits_are_clock_hours_even_on_a_holiday() -> None:
    policy = DeadlinePolicy(CALENDAR)
    limit = policy.limit_for("01001", urgent=True)
    assert limit == TimeLimit(hours=2.0)
    assert policy.deadline(at(10, 3, 23, 30), limit) == at(10, 4, 1, 30)


def test_limits_by_category_and_urgency() -> None:
    policy = DeadlinePolicy(CALENDAR, categories=category_limits(["01=4", "01001=2"]))
    assert policy.limit_for(None, urgent=False) == TimeLimit(working_days=3)  # 咨询
    assert policy.limit_for("02001", urgent=False) == TimeLimit(working_days=5)
    assert policy.limit_for("01002", urgent=False) == TimeLimit(working_days=4)
    assert policy.limit_for("01001", urgent=False) == TimeLimit(working_days=2)  # longest wins


@pytest.mark.parametrize("entry", ["01", "x=3", "01=0", "01=two"])
def test_bad_category_limits_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="CODE=WORKING_DAYS"):
        category_limits([entry])


def test_extension_cap_counts_working_days_across_the_holiday() -> None:
    policy = DeadlinePolicy(CALENDAR)
    deadline = at(9, 30, 10)
    # 30 Sep → 9 Oct adds Thu 8 and Fri 9: two working days, within the cap of three.
    assert policy.extension_problem(deadline, date(2026, 10, 9), granted=0) is None
    # → Mon 12 Oct adds 8, 9, 10 (调休), 12: four, over the cap.
    assert "超过" in (policy.extension_problem(deadline, date(2026, 10, 12), 0) or "")
    assert "最多3次" in (policy.extension_problem(deadline, date(2026, 10, 9), 3) or "")
    assert policy.extension_problem(deadline, date(2026, 9, 30), 0) is not None
