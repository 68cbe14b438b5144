"""The duty roster: shifts across midnight, who may go ready, overrides, CSV, holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.holidays import holiday_name
from routing.roster import Role, Roster, RosterEntry, RosterError, parse_csv, to_csv

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)

CSV = """date,shift,agent_id,role,skills,dialects
2026-11-23,白班,1001,agent,投诉,
2026-11-23,白班,1002,lead,,
2026-11-23,夜班,1003,agent,,粤语;闽南语
2026-11-23,夜班,1004,lead,,
2026-11-24,白班,1001,agent,,
"""


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def two_by_twelve() -> Roster:
    return Roster.of_pattern("2x12", parse_csv(CSV), "Asia/Shanghai")


def test_a_night_shift_spanning_midnight_belongs_to_the_day_it_started() -> None:
    roster = two_by_twelve()
    after_midnight = at(DAY + timedelta(days=1), 3)
    assert roster.current(after_midnight)[0] == DAY
    assert [e.agent_id for e in roster.on_duty(after_midnight)] == ["1003", "1004"]
    assert roster.lead(after_midnight) == "1004"
    # The same instant given in UTC reads the same.
    assert roster.on_duty(after_midnight.astimezone(UTC)) == roster.on_duty(after_midnight)
    assert [e.agent_id for e in roster.on_duty(at(DAY + timedelta(days=1), 8))] == ["1001"]


def test_three_shifts_of_eight_hours() -> None:
    entries = [RosterEntry(DAY, "中班", "1001"), RosterEntry(DAY, "夜班", "1002")]
    roster = Roster.of_pattern("3x8", entries, "Asia/Shanghai")
    assert roster.current(at(DAY, 23, 59))[1].name == "中班"
    assert roster.current(at(DAY, 0, 0))[1].name == "夜班"
    assert roster.may_go_ready("1001", at(DAY, 16))
    assert not roster.may_go_ready("1001", at(DAY, 15, 59))


def test_only_agents_on_the_current_shift_may_go_ready_unless_the_lead_lets_them() -> None:
    roster = two_by_twelve()
    now = at(DAY, 10)
    assert roster.may_go_ready("1001", now)
    assert not roster.may_go_ready("1003", now)
    override = roster.override("1005", "1002", now, "  covering for 1001's break ")
    assert override.reason == "covering for 1001's break"
    assert override.until == at(DAY, 20)  # the end of the shift
    assert roster.may_go_ready("1005", now, [override])
    assert not roster.may_go_ready("1005", at(DAY, 20), [override])
    assert not roster.may_go_ready("1003", now, [override])


def test_an_override_needs_the_current_lead_and_a_reason() -> None:
    roster = two_by_twelve()
    with pytest.raises(RosterError) as not_lead:
        roster.override("1003", "1001", at(DAY, 10), "busy")
    assert not_lead.value.error_id == "not-shift-lead"
    with pytest.raises(RosterError) as no_reason:
        roster.override("1003", "1002", at(DAY, 10), "  ")
    assert no_reason.value.error_id == "reason-required"


def test_seats_and_hourly_counts() -> None:
    roster = two_by_twelve()
    assert roster.seats(at(DAY, 22)) == {"粤语": ["1003"], "闽南语": ["1003"]}
    assert roster.seats(at(DAY, 9)) == {"投诉": ["1001"]}
    per_hour = roster.rostered_per_hour(DAY)
    assert per_hour[7] == 0  # the night shift of the 22nd is not on the roster
    assert per_hour[8] == 1 and per_hour[21] == 1  # leads are not counted


def test_csv_round_trip() -> None:
    entries = parse_csv(CSV)
    assert entries[2] == RosterEntry(DAY, "夜班", "1003", Role.AGENT, (), ("粤语", "闽南语"))
    assert parse_csv(to_csv(entries)) == sorted(entries, key=lambda e: (e.day, e.shift, e.agent_id))


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("day,shift,agent_id\n", "lacks date"),
        ("date,shift,agent_id\n2026-13-01,白班,1001\n", "line 2"),
        ("date,shift,agent_id,role\n2026-11-23,白班,1001,boss\n", "line 2"),
        ("date,shift,agent_id\n2026-11-23,白班,\n", "line 2: shift and agent_id"),
        ("date,shift,agent_id\n2026-11-23,白班,1\n2026-11-23,白班,1\n", "line 3"),
    ],
)
def test_a_bad_csv_is_refused_naming_the_line(text: str, fragment: str) -> None:
    with pytest.raises(RosterError, match=fragment):
        parse_csv(text)


def test_an_unknown_shift_or_pattern_is_refused() -> None:
    with pytest.raises(RosterError, match="no shift named 早班"):
        Roster.of_pattern("2x12", [RosterEntry(DAY, "早班", "1001")], "Asia/Shanghai")
    with pytest.raises(RosterError) as refused:
        Roster.of_pattern("4x6", [], "Asia/Shanghai")
    assert refused.value.error_id == "unknown-pattern"


def test_holidays_come_from_the_chinese_calendar() -> None:
    assert holiday_name(date(2026, 10, 1)) == "National Day"
    assert holiday_name(date(2026, 11, 23)) is None  # a Monday
    assert holiday_name(date(2026, 11, 22)) == "weekend"
    assert holiday_name(date(2099, 1, 3)) == "weekend"  # beyond the data: Saturdays rest


@given(
    pattern=st.sampled_from(["3x8", "2x12"]),
    moment=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_every_moment_falls_in_exactly_one_shift(pattern: str, moment: datetime) -> None:
    roster = Roster.of_pattern(pattern, [], "Asia/Shanghai")
    day, shift = roster.current(moment)
    start = shift.start_on(day, SHANGHAI)
    assert start <= moment < start + timedelta(hours=shift.hours)
    covering = [
        (d, s.name)
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        for s in roster.shifts
        if s.covers(d, moment.astimezone(SHANGHAI), SHANGHAI)
    ]
    assert covering == [(day, shift.name)]


def test_seats_on_the_current_shift_become_routing_skills() -> None:
    entries = [
        RosterEntry(DAY, "白班", "1001", skills=("96198:3", "12319"), dialects=("粤语",)),
        RosterEntry(DAY, "夜班", "1001", skills=("12319:5",)),
    ]
    roster = Roster.of_pattern("2x12", entries, "Asia/Shanghai")
    assert roster.seat_skills("1001", at(DAY, 10)) == {"96198": 3, "12319": 1, "粤语": 1}
    assert roster.seat_skills("1001", at(DAY, 22)) == {"12319": 5}
    assert roster.seat_skills("1002", at(DAY, 10)) == {}
