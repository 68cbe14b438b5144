"""Calendar periods in the centre's timezone, 环比/同比, breakdowns and the JSON round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from reports import (
    CallOptions,
    CaseOptions,
    Indicator,
    Labels,
    Period,
    PeriodError,
    PeriodKind,
    Report,
)
from reports.indicators import change, count, format_change, rate
from reports.report import build_report, figures
from reports.sums import sum_calls, sum_cases
from tests.reports.month_fixture import AS_OF, CALLS, CASES, ZONE

NOVEMBER = Period.month(2026, 11)


@pytest.mark.parametrize(
    ("text", "first", "last", "kind"),
    [
        ("2026-11-23", date(2026, 11, 23), date(2026, 11, 23), PeriodKind.DAY),
        ("2026-W48", date(2026, 11, 23), date(2026, 11, 29), PeriodKind.WEEK),
        ("2026-11", date(2026, 11, 1), date(2026, 11, 30), PeriodKind.MONTH),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), PeriodKind.QUARTER),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), PeriodKind.YEAR),
        ("2026-11-05..2026-11-20", date(2026, 11, 5), date(2026, 11, 20), PeriodKind.RANGE),
    ],
)
def test_periods_parse_and_name_themselves(
    text: str, first: date, last: date, kind: PeriodKind
) -> None:
    period = Period.parse(text)
    assert (period.first, period.last, period.kind) == (first, last, kind)
    assert Period.parse(period.key) == period


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "yesterday", "2026-11-20..2026-11-05"])
def test_a_period_that_cannot_be_read_says_so(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)


def test_a_month_runs_from_local_midnight_to_local_midnight() -> None:
    start, end = NOVEMBER.bounds(ZONE)
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert NOVEMBER.label == "2026年11月"
    assert Period.quarter(2026, 4).label == "2026年第四季度"


def test_previous_and_year_ago_periods() -> None:
    assert NOVEMBER.previous() == Period.month(2026, 10)
    assert Period.month(2026, 1).previous() == Period.month(2025, 12)
    assert NOVEMBER.year_ago() == Period.month(2025, 11)
    assert Period.quarter(2026, 1).previous() == Period.quarter(2025, 4)
    assert Period.year(2026).previous() == Period.year(2025)
    leap = Period.day(date(2028, 2, 29))
    assert leap.year_ago() == Period.day(date(2027, 2, 28))
    span = Period.parse("2026-11-05..2026-11-20")
    assert span.previous() == Period.parse("2026-10-20..2026-11-04")
    assert Period.parse("2026-W53").year_ago() == Period.parse("2025-W52")


def test_trend_steps_are_days_up_to_two_months_then_months() -> None:
    assert len(NOVEMBER.trend_steps()) == 30
    year = Period.year(2026).trend_steps()
    assert [step.key for step in year[:2]] == ["2026-01", "2026-02"] and len(year) == 12


def test_changes_are_points_for_rates_and_relative_for_counts() -> None:
    now, before = rate("r", "接通率", 9, 10), rate("r", "接通率", 8, 10)
    moved = change(now, before)
    assert moved.before == pytest.approx(0.8) and moved.delta == pytest.approx(0.1)
    assert format_change(now.unit, moved.delta) == "+10.00个百分点"
    grown = change(count("n", "受理量", 110), count("n", "受理量", 100))
    assert grown.delta == pytest.approx(0.1)
    assert change(count("n", "受理量", 5), count("n", "受理量", 0)).delta is None
    assert change(rate("r", "接通率", 0, 0), before).delta is None


def report() -> Report:
    options, case_options = CallOptions(), CaseOptions()
    buckets = sum_calls(CALLS, ZONE, options)
    cases = sum_cases(CASES, AS_OF, case_options, ZONE)

    def earlier(period: Period) -> dict[str, Indicator]:
        return figures(buckets, cases, period, options, case_options).by_key()

    return build_report(
        "测试中心",
        NOVEMBER,
        AS_OF,
        buckets,
        cases,
        options,
        case_options,
        ZONE,
        Labels(departments={"SANITATION": "环卫", "MUNICIPAL": "市政"}),
        earlier=earlier,
    )


def test_month_on_month_and_year_on_year() -> None:
    lines = {line.indicator.key: line for line in report().lines}
    # October had c8 alone, answered in 5 s.
    offered = lines["calls_offered"]
    assert offered.month_on_month.before == 1 and offered.month_on_month.delta == pytest.approx(6)
    in_time = lines["answer_rate_in_time"]
    assert in_time.month_on_month.delta == pytest.approx(1 / 7 - 1)
    # November 2025 had nothing: no ratio to compare with, and 0 calls to grow from.
    assert in_time.year_on_year.before is None and in_time.year_on_year.delta is None
    assert offered.year_on_year.before == 0 and offered.year_on_year.delta is None


def test_breakdowns_by_hotline_hour_agent_source_department_and_category() -> None:
    tables = report().breakdowns

    def row(name: str, label: str) -> list[float | None]:
        return next([i.value for i in values] for lab, values in tables[name].rows if lab == label)

    assert row("calls_by_hotline", "12319")[:2] == [4, 2]  # c1 c2 c5 c6; c1 c2 answered
    assert row("calls_by_hotline", "96198")[:2] == [3, 0]
    assert row("calls_by_hour", "09:00")[:2] == [3, 2]  # c1 c2 c3
    assert row("calls_by_hour", "14:00")[:2] == [2, 0]  # c4 c5
    assert row("calls_by_agent", "1001")[:3] == [1, 1.0, 10.0]
    assert row("calls_by_agent", "1002")[:3] == [1, 0.0, 30.0]
    assert row("cases_by_source", "留言")[:2] == [1, 1]  # C
    assert row("cases_by_source", "12345转办")[:2] == [1, 1]  # E
    # 环卫: A E G filed (F rejected); A and G handled in time; E not yet due.
    assert row("cases_by_department", "环卫")[:5] == [3, 2, 2, 1.0, 0]
    assert row("cases_by_department", "市政")[:5] == [2, 2, 2, 0.5, 1]  # B late, J in time
    categories = tables["cases_by_category"].rows
    assert categories[0][0] == "0601" and categories[0][1][0].value == 4  # A B G J
    assert categories[0][1][1].value == pytest.approx(4 / 9)
    trend = tables["calls_trend"].rows
    assert len(trend) == 30 and trend[1][0] == "11-02" and trend[1][1][0].value == 3


def test_a_report_survives_its_json_round_trip() -> None:
    original = report()
    again = Report.from_json(original.to_json())
    assert again.to_json() == original.to_json()
