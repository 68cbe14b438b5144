"""The staffing gap against figures worked by hand (Erlang B recurrence, then C)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.staffing_gap import StaffingTarget, past_weekdays, staffing_gap

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 7, tzinfo=ZONE)
# 400 s a call, 80 % answered within 20 s, arrivals averaged over two weeks.
TARGET = StaffingTarget(aht_seconds=400, service_level=0.8, answer_seconds=20, weeks=2)


def calls(day: date, hour: int, count: int) -> list[datetime]:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)
    return [start + timedelta(seconds=3599 * i // max(count, 1)) for i in range(count)]


def test_the_weeks_read_are_past_same_weekdays_over_by_now() -> None:
    assert past_weekdays(MONDAY, NOW, ZONE, 2) == (date(2026, 11, 16), date(2026, 11, 9))
    # A day ahead reads the latest weeks that are over, never itself nor today.
    assert past_weekdays(date(2026, 11, 30), NOW, ZONE, 2) == (
        date(2026, 11, 16),
        date(2026, 11, 9),
    )
    assert past_weekdays(date(2026, 11, 16), NOW, ZONE, 1) == (date(2026, 11, 9),)


def test_gap_per_hour_matches_erlang_c_worked_by_hand() -> None:
    arrivals = (
        # 09h: (12 + 6) / 2 = 9 calls an hour × 400 s = 1 Erlang.
        # By hand: 2 agents: B = 0.2, C = 0.4 / 1.2 = 1/3, SL = 1 - e^(-0.05)/3 = 0.683 < 0.8;
        # 3 agents: B = 1/16, C = 0.1875 / 2.0625 = 0.0909, SL = 1 - 0.0909 e^(-0.1) = 0.918.
        calls(date(2026, 11, 16), 9, 12)
        + calls(date(2026, 11, 9), 9, 6)
        # 10h: (20 + 16) / 2 = 18 calls an hour = 2 Erlangs.
        # 3 agents: B = 4/19, C = 0.444, SL = 1 - 0.444 e^(-0.05) = 0.577;
        # 4 agents: B = 2/21, C = 0.1739, SL = 1 - 0.1739 e^(-0.1) = 0.843.
        + calls(date(2026, 11, 16), 10, 20)
        + calls(date(2026, 11, 9), 10, 16)
        # Three weeks back and today itself are not read.
        + calls(date(2026, 11, 2), 9, 50)
        + calls(MONDAY, 6, 40)
    )
    deadlines = [
        datetime(2026, 11, 23, 17, 0, tzinfo=ZONE),
        datetime(2026, 11, 23, 1, 15, tzinfo=ZoneInfo("UTC")),  # 09:15 in Shanghai
        datetime(2026, 11, 24, 17, 0, tzinfo=ZONE),  # tomorrow: not due that day
    ]
    gap = staffing_gap(MONDAY, NOW, ZONE, TARGET, arrivals, {9: 2, 10: 5, 11: 1}, deadlines)
    by_hour = {h.hour: h for h in gap.hours}
    assert (by_hour[9].calls, by_hour[9].needed, by_hour[9].gap) == (9, 3, -1)
    assert (by_hour[10].calls, by_hour[10].needed, by_hour[10].gap) == (18, 4, 1)
    # No call expected: nobody needed, the rostered agent is spare.
    assert (by_hour[11].needed, by_hour[11].gap) == (0, 1)
    assert by_hour[6].calls == 0
    assert (by_hour[9].cases_due, by_hour[17].cases_due, gap.cases_due) == (1, 1, 2)
    assert gap.hours_short == 1
    assert gap.to_json_dict()["weeks_read"] == ["2026-11-16", "2026-11-09"]


def test_arrivals_are_read_in_the_centres_timezone() -> None:
    # 01:30 UTC is 09:30 in Shanghai.
    utc = [datetime(2026, 11, 16, 1, 30, tzinfo=ZoneInfo("UTC"))] * 4
    gap = staffing_gap(MONDAY, NOW, ZONE, TARGET, utc, {})
    assert gap.hours[9].calls == 2 and gap.hours[1].calls == 0


def test_at_least_one_week() -> None:
    with pytest.raises(ValueError):
        StaffingTarget(aht_seconds=400, service_level=0.8, answer_seconds=20, weeks=0)
