"""Every indicator of a generated month, worked out by hand (no database, no event loop)."""

from __future__ import annotations

import pytest

from reports import CallOptions, CaseOptions, Labels, Period, build_report
from reports.report import figures
from reports.sums import sum_calls, sum_cases
from tests.reports.month_fixture import AS_OF, CALLS, CASES, ZONE

NOVEMBER = Period.month(2026, 11)
CALL_OPTIONS = CallOptions(answer_seconds=15, short_abandon_seconds=5)
CASE_OPTIONS = CaseOptions(forward_minutes=10)


def november() -> dict[str, tuple[float | None, float | None, float | None]]:
    buckets = sum_calls(CALLS, ZONE, CALL_OPTIONS)
    cases = sum_cases(CASES, AS_OF, CASE_OPTIONS, ZONE)
    previous = figures(buckets, cases, NOVEMBER.previous(), CALL_OPTIONS, CASE_OPTIONS)
    report = build_report(
        "测试中心",
        NOVEMBER,
        AS_OF,
        buckets,
        cases,
        CALL_OPTIONS,
        CASE_OPTIONS,
        ZONE,
        Labels(),
        earlier=lambda p: previous.by_key() if p == NOVEMBER.previous() else None,
    )
    return {
        line.indicator.name: (
            line.indicator.value,
            line.indicator.numerator,
            line.indicator.denominator,
        )
        for line in report.lines
    }


def test_call_indicators_of_the_month() -> None:
    got = november()
    # c1..c7 arrived in November (local time); c8 on 31 October, c9 on 1 December.
    assert got["呼入量"] == (7, None, None)
    assert got["接通量"] == (2, None, None)
    # Only c1 (10 s) within 15 s; every call with an outcome is offered: refused c5,
    # short abandon c3, abandon c4, voicemail c6 and callback request c7 included.
    assert got["15秒接通率"] == (pytest.approx(1 / 7), 1, 7)
    assert got["接通率"] == (pytest.approx(2 / 7), 2, 7)
    # Service level and abandon rate leave the short abandon (3 s) out.
    assert got["服务水平（15秒）"] == (pytest.approx(1 / 6), 1, 6)
    assert got["放弃量"] == (2, None, None)
    assert got["短时放弃量"] == (1, None, None)
    assert got["放弃率"] == (pytest.approx(1 / 6), 1, 6)
    assert got["忙线拒接量"] == (1, None, None)
    assert got["留言量"] == (1, None, None)
    assert got["预约回拨量"] == (1, None, None)
    assert got["平均应答时长（秒）"] == (20.0, 40.0, 2)
    assert got["平均通话时长（秒）"] == (90.0, 180.0, 2)


def test_case_indicators_of_the_month() -> None:
    got = november()
    # A B C D E F G I J accepted in November (K on 1 December).
    assert got["受理量"][0] == 9
    # D merged (并单), F 不予受理: not filed.
    assert got["立案量"][0] == 7
    assert got["立案率"] == (pytest.approx(7 / 9), 7, 9)
    # Forwarded within 10 minutes: A (3), C (5), J (8); B took 25, E 20, I 9 → I too.
    assert got["10分钟派遣率"] == (pytest.approx(4 / 7), 4, 7)
    # Due: handled by AS_OF (A B G J) or past the deadline (C, I); E's deadline is 4 Dec.
    assert got["应处置量"][0] == 6
    assert got["处置量"][0] == 4  # I was handled after AS_OF: not seen
    assert got["处置率"] == (pytest.approx(4 / 6), 4, 6)
    # On time: A, G, J (after its 重办 deadline); B missed even its extended deadline.
    assert got["按期处置量"][0] == 3
    assert got["按期处置率"] == (pytest.approx(3 / 6), 3, 6)
    assert got["超期量"][0] == 3  # B, C, I
    # 结案 (by the core): A, B, G; J was reopened. 应结案 = 立案.
    assert got["结案量"][0] == 3
    assert got["结案率"] == (pytest.approx(3 / 7), 3, 7)
    assert got["按期结案率"] == (pytest.approx(2 / 7), 2, 7)  # A, G; B closed after deadline
    # 办结: A, B, G closed after 回访, F ended by 不予受理.
    assert got["办结量"][0] == 4
    assert got["办结率"] == (pytest.approx(4 / 9), 4, 9)
    assert got["并单量"][0] == 1
    assert got["不予受理量"][0] == 1
    assert got["退单量"][0] == 2  # C and F
    assert got["延期量"][0] == 1  # B
    assert got["重办量"][0] == 1  # J
    # 回访: A 满意, B 基本满意, J 不满意 reached the citizen; G did not.
    assert got["回访接通量"][0] == 3
    assert got["回访未接通量"][0] == 1
    assert got["满意率"] == (pytest.approx(2 / 3), 2, 3)
    assert got["不满意量"][0] == 1
