"""A generated month (November 2026, Asia/Shanghai) whose every figure is worked out by hand
in the tests: calls of every outcome and cases through every path the seeds count."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reports import CallRow, CaseRow, Satisfaction

ZONE = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    year = 2026 if month >= 10 else 2027
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE)


def call(
    call_id: str,
    hotline: str,
    arrived: datetime,
    answer_after: float | None,
    ends_after: float | None,
    agent: str | None = None,
    reason: str | None = None,
) -> CallRow:
    return CallRow(
        call_id,
        hotline,
        agent if answer_after is not None else None,
        arrived,
        None if answer_after is None else arrived + timedelta(seconds=answer_after),
        None if ends_after is None else arrived + timedelta(seconds=ends_after),
        reason,
        hotline,
    )


CALLS = [
    call("c1", "12319", local(11, 2, 9), 10, 130, "1001", "caller-hangup"),  # in 15 s, 120 s
    call("c2", "12319", local(11, 2, 9, 10), 30, 90, "1002", "agent-hangup"),  # late, 60 s
    call("c3", "96198", local(11, 2, 9, 20), None, 3, reason="caller-hangup"),  # short abandon
    call("c4", "96198", local(11, 3, 14), None, 60, reason="caller-hangup"),  # abandoned
    call("c5", "12319", local(11, 3, 14, 1), None, 0, reason="refused-queue-full"),  # 486
    call("c6", "12319", local(11, 30, 23, 30), None, 90, reason="voicemail"),  # left a message
    call("c7", "96198", local(11, 15, 10), None, 40, reason="callback"),  # asked for a callback
    # Outside November in the centre's time (inside it in UTC, or the reverse):
    call("c8", "12319", local(10, 31, 23, 59), 5, 65, "1001", "caller-hangup"),
    call("c9", "12319", local(12, 1, 0, 0, 30), 5, 65, "1001", "caller-hangup"),
]

AS_OF = local(12, 1, 2)  # two hours after the month closed

CASES = [
    # A: forwarded in 3 min, handled and closed in time, 回访 满意.
    CaseRow(
        "A",
        local(11, 2, 9, 5),
        "12319",
        "SANITATION",
        "0601",
        forwarded_at=local(11, 2, 9, 8),
        deadline=local(11, 6, 18),
        handled_at=local(11, 5, 10),
        core_closed_at=local(11, 6, 9),
        closed_at=local(11, 7, 10),
        satisfaction=Satisfaction.SATISFIED,
        visited_at=local(11, 7, 10),
    ),
    # B: forwarded after 25 min; extended once to 11-12 18:00, handled after even that.
    CaseRow(
        "B",
        local(11, 3, 14, 5),
        "96198",
        "MUNICIPAL",
        "0601",
        forwarded_at=local(11, 3, 14, 30),
        deadline=local(11, 12, 18),
        extensions=1,
        handled_at=local(11, 13, 9),
        core_closed_at=local(11, 14, 9),
        closed_at=local(11, 16, 10),
        satisfaction=Satisfaction.FAIRLY_SATISFIED,
        visited_at=local(11, 16, 10),
    ),
    # C: from a voicemail; 退单 by 环卫, 改派 to 园林; past its deadline, not handled.
    CaseRow(
        "C",
        local(11, 10, 10),
        "voicemail",
        "LANDSCAPE",
        "0602",
        forwarded_at=local(11, 10, 10, 5),
        deadline=local(11, 20, 18),
        returns=1,
    ),
    # D: a repeat of C, merged into it (并单): accepted, not filed.
    CaseRow("D", local(11, 10, 10, 30), "12319", "LANDSCAPE", "0602", merged_into="C"),
    # E: a 12345 transfer whose deadline has not come.
    CaseRow(
        "E",
        local(11, 28, 9),
        "12345",
        "SANITATION",
        "0702",
        forwarded_at=local(11, 28, 9, 20),
        deadline=local(12, 4, 18),
    ),
    # F: a callback's case, 退单 then 不予受理.
    CaseRow(
        "F",
        local(11, 12, 11),
        "callback",
        "SANITATION",
        None,
        returns=1,
        rejected_at=local(11, 13, 9),
    ),
    # G: handled and closed in time; the 回访 never reached the citizen.
    CaseRow(
        "G",
        local(11, 20, 8),
        "12319",
        "SANITATION",
        "0601",
        forwarded_at=local(11, 20, 8, 30),
        deadline=local(11, 25, 18),
        handled_at=local(11, 21, 15),
        core_closed_at=local(11, 22, 9),
        closed_at=local(11, 24, 9),
        satisfaction=Satisfaction.UNREACHED,
        visited_at=local(11, 24, 9),
    ),
    # I: past its deadline; handled only after the report's moment.
    CaseRow(
        "I",
        local(11, 25, 16),
        "96198",
        "WATER",
        "0702",
        forwarded_at=local(11, 25, 16, 9),
        deadline=local(11, 27, 18),
        handled_at=local(12, 2, 10),
    ),
    # J: 不满意 at 回访 → 重办 with a new deadline, handled again in time, not closed again.
    CaseRow(
        "J",
        local(11, 5, 9),
        "12319",
        "MUNICIPAL",
        "0601",
        forwarded_at=local(11, 5, 9, 8),
        deadline=local(11, 17, 18),
        reopened=1,
        handled_at=local(11, 12, 9),
        satisfaction=Satisfaction.UNSATISFIED,
        visited_at=local(11, 10, 15),
    ),
    # Accepted after the month closed (before AS_OF): not November's.
    CaseRow("K", local(12, 1, 1), "12319", "SANITATION", "0601"),
]
