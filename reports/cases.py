"""Case (工单) indicators of the seeds' 绩效 tables: one definition of each, over typed case rows.

A report counts the cases *accepted* in its period (the cohort), each as it stood at the
report's `as_of` moment: what happened later is not seen, so a snapshot taken at month end
says what the month end knew. Rates follow GB/T 30428 数字化城市管理 as the seeds apply them
(常德 2016, 璧山 2021, 资阳 2020); docs/REPORTS.md gives each formula and its source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from operator import add, attrgetter

from reports.indicators import Indicator, count, rate


class Satisfaction(StrEnum):
    SATISFIED = "满意"
    FAIRLY_SATISFIED = "基本满意"
    UNSATISFIED = "不满意"
    UNREACHED = "未接通"


def _seen(moment: datetime | None, as_of: datetime) -> bool:
    return moment is not None and moment <= as_of


@dataclass(frozen=True)
class CaseRow:
    """What a report needs of one case: its facts, each with the moment it became true."""

    number: str
    accepted_at: datetime
    source: str  # 12319, 96198, 12345, voicemail, callback
    department: str | None = None  # the department that has it now (after 改派)
    category: str | None = None  # management-item code
    merged_into: str | None = None  # 并单: a repeat kept under another case, not filed
    rejected_at: datetime | None = None  # 不予受理
    sent_back_at: datetime | None = None  # 退回 to 12345
    forwarded_at: datetime | None = None  # the dispatch core took it (派遣 to a department)
    deadline: datetime | None = None  # the handling deadline, after any 延期
    extensions: int = 0  # 延期 granted
    returns: int = 0  # 退单 by departments
    reopened: int = 0  # 重办 after an unsatisfied 回访
    handled_at: datetime | None = None  # 已处置 (the last time, after a 重办)
    core_closed_at: datetime | None = None  # 结案 by the dispatch core
    closed_at: datetime | None = None  # 办结 (after 回访; for a merged case: its master's)
    satisfaction: Satisfaction | None = None  # the last 回访 outcome
    visited_at: datetime | None = None  # when that 回访 outcome was recorded
    # From this moment nothing about the case changes any more (it ended, or its source has no
    # later events); None while it may. A settled case's tally is the same at any later moment.
    settled_at: datetime | None = None

    def settled(self, as_of: datetime) -> bool:
        return _seen(self.settled_at, as_of)

    def filed(self, as_of: datetime) -> bool:
        """立案: accepted as a case of its own, neither merged nor turned away."""
        return (
            self.merged_into is None
            and not _seen(self.rejected_at, as_of)
            and not _seen(self.sent_back_at, as_of)
        )


@dataclass(frozen=True)
class CaseOptions:
    # 资阳: 受理案件10分钟派给专业部门.
    forward_minutes: float = 10.0


@dataclass(frozen=True)
class CaseTally:
    """Counts that add up across sources, departments, categories and days."""

    accepted: int = 0
    filed: int = 0
    forwarded_in_time: int = 0
    due: int = 0
    handled: int = 0
    handled_on_time: int = 0
    closed: int = 0
    closed_on_time: int = 0
    finished: int = 0
    merged: int = 0
    rejected: int = 0
    returned: int = 0
    extended: int = 0
    reopened: int = 0
    satisfied: int = 0
    fairly_satisfied: int = 0
    unsatisfied: int = 0
    unreached: int = 0

    def __add__(self, other: CaseTally) -> CaseTally:
        return CaseTally(*map(add, _CASE_VALUES(self), _CASE_VALUES(other)))

    @property
    def overdue(self) -> int:
        """超期: due and not handled by the deadline (handled late, or still not handled)."""
        return self.due - self.handled_on_time

    @property
    def reached(self) -> int:
        """回访 that reached the citizen: the denominator of 满意率."""
        return self.satisfied + self.fairly_satisfied + self.unsatisfied


_CASE_VALUES = attrgetter(*(f.name for f in fields(CaseTally)))


def tally_case(case: CaseRow, as_of: datetime, options: CaseOptions) -> CaseTally:
    """One case's contribution, as it stood at `as_of`."""
    if case.accepted_at > as_of:
        return CaseTally()
    finished = (
        _seen(case.closed_at, as_of)
        or _seen(case.rejected_at, as_of)
        or _seen(case.sent_back_at, as_of)
    )
    common = {
        "accepted": 1,
        "finished": int(finished),
        "merged": int(case.merged_into is not None),
        "rejected": int(_seen(case.rejected_at, as_of)),
        "returned": int(case.returns > 0),
        "extended": int(case.extensions > 0),
        "reopened": int(case.reopened > 0),
    }
    if not case.filed(as_of):
        return CaseTally(**common)
    handled = _seen(case.handled_at, as_of)
    closed = _seen(case.core_closed_at, as_of)
    deadline = case.deadline
    passed = deadline is not None and deadline <= as_of
    on_time = handled and (deadline is None or case.handled_at <= deadline)  # type: ignore[operator]
    closed_on_time = closed and (deadline is None or case.core_closed_at <= deadline)  # type: ignore[operator]
    forward_limit = case.accepted_at + timedelta(minutes=options.forward_minutes)
    visit = case.satisfaction if _seen(case.visited_at, as_of) else None
    return CaseTally(
        **common,
        filed=1,
        forwarded_in_time=int(
            _seen(case.forwarded_at, as_of) and case.forwarded_at <= forward_limit  # type: ignore[operator]
        ),
        due=int(handled or passed),
        handled=int(handled),
        handled_on_time=int(on_time),
        closed=int(closed),
        closed_on_time=int(closed_on_time),
        satisfied=int(visit is Satisfaction.SATISFIED),
        fairly_satisfied=int(visit is Satisfaction.FAIRLY_SATISFIED),
        unsatisfied=int(visit is Satisfaction.UNSATISFIED),
        unreached=int(visit is Satisfaction.UNREACHED),
    )


def tally_cases(cases: Iterable[CaseRow], as_of: datetime, options: CaseOptions) -> CaseTally:
    total = CaseTally()
    for case in cases:
        total = total + tally_case(case, as_of, options)
    return total


def case_indicators(t: CaseTally, options: CaseOptions) -> list[Indicator]:
    """The case side of a report, in the order the seeds' tables give it."""
    return [
        count("cases_accepted", "受理量", t.accepted),
        count("cases_filed", "立案量", t.filed),
        rate("filing_rate", "立案率", t.filed, t.accepted),
        rate(
            "forwarded_in_time_rate",
            f"{options.forward_minutes:g}分钟派遣率",
            t.forwarded_in_time,
            t.filed,
        ),
        count("cases_due", "应处置量", t.due),
        count("cases_handled", "处置量", t.handled),
        rate("handling_rate", "处置率", t.handled, t.due),
        count("cases_handled_on_time", "按期处置量", t.handled_on_time),
        rate("on_time_handling_rate", "按期处置率", t.handled_on_time, t.due),
        count("cases_overdue", "超期量", t.overdue),
        count("cases_closed", "结案量", t.closed),
        rate("closing_rate", "结案率", t.closed, t.filed),
        rate("on_time_closing_rate", "按期结案率", t.closed_on_time, t.filed),
        count("cases_finished", "办结量", t.finished),
        rate("finishing_rate", "办结率", t.finished, t.accepted),
        count("cases_merged", "并单量", t.merged),
        count("cases_rejected", "不予受理量", t.rejected),
        count("cases_returned", "退单量", t.returned),
        count("cases_extended", "延期量", t.extended),
        count("cases_reopened", "重办量", t.reopened),
        count("visits_reached", "回访接通量", t.reached),
        count("visits_unreached", "回访未接通量", t.unreached),
        rate("satisfaction_rate", "满意率", t.satisfied + t.fairly_satisfied, t.reached),
        count("visits_unsatisfied", "不满意量", t.unsatisfied),
    ]
