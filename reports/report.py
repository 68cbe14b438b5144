"""A whole report: the indicators of a period with 环比 and 同比, and its breakdowns (by
hotline, hour of day, agent, day or month; cases by source, department and category)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from reports.calls import (
    CallOptions,
    CallTally,
    abandon_rate,
    answer_rate,
    answer_rate_in_time,
    average_speed_of_answer,
    average_talk_time,
    call_indicators,
)
from reports.cases import CaseOptions, CaseTally, case_indicators
from reports.indicators import Change, Indicator, Unit, change, count, rate
from reports.indicators import calls as call_count
from reports.periods import Period
from reports.sums import CallSums, CaseSums, add_up, total


@dataclass(frozen=True)
class Line:
    """One indicator of the report with how it moved."""

    section: str  # calls | cases
    indicator: Indicator
    month_on_month: Change  # 环比: against the period before
    year_on_year: Change  # 同比: against the same period a year earlier


@dataclass(frozen=True)
class Breakdown:
    title: str
    dimension: str  # the first column's heading
    rows: list[tuple[str, list[Indicator]]]

    @property
    def columns(self) -> list[str]:
        return [indicator.name for indicator in self.rows[0][1]] if self.rows else []


@dataclass(frozen=True)
class Labels:
    """Names to show for codes: departments, categories, hotlines and sources."""

    departments: Mapping[str, str] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(
        default_factory=lambda: {"voicemail": "留言", "callback": "回拨", "12345": "12345转办"}
    )

    def department(self, code: str | None) -> str:
        return "（未指定）" if not code else self.departments.get(code, code)

    def category(self, code: str | None) -> str:
        if not code:
            return "（未分类）"
        name = self.categories.get(code)
        return f"{code} {name}" if name else code

    def source(self, code: str) -> str:
        return self.sources.get(code, code)


@dataclass(frozen=True)
class Report:
    centre: str
    period: Period
    as_of: datetime
    lines: list[Line]
    breakdowns: dict[str, Breakdown]
    snapshot: bool = False  # read back from the month-end snapshot
    timezone: str = "UTC"  # the centre's: periods are its local days

    @property
    def local_as_of(self) -> datetime:
        return self.as_of.astimezone(ZoneInfo(self.timezone))

    def indicator(self, key: str) -> Indicator:
        return next(line.indicator for line in self.lines if line.indicator.key == key)

    def to_json(self) -> dict[str, Any]:
        return {
            "centre": self.centre,
            "period": {
                "key": self.period.key,
                "kind": self.period.kind.value,
                "label": self.period.label,
                "first": self.period.first.isoformat(),
                "last": self.period.last.isoformat(),
            },
            "as_of": self.as_of.isoformat(),
            "timezone": self.timezone,
            "snapshot": self.snapshot,
            "indicators": [
                {
                    "section": line.section,
                    **_indicator_json(line.indicator),
                    "previous_value": line.month_on_month.before,
                    "change_mom": line.month_on_month.delta,
                    "year_ago_value": line.year_on_year.before,
                    "change_yoy": line.year_on_year.delta,
                }
                for line in self.lines
            ],
            "breakdowns": {
                name: {
                    "title": b.title,
                    "dimension": b.dimension,
                    "rows": [
                        {"label": label, "values": [_indicator_json(i) for i in values]}
                        for label, values in b.rows
                    ],
                }
                for name, b in self.breakdowns.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        period = Period.parse(data["period"]["key"])
        lines = [
            Line(
                item["section"],
                _indicator_from(item),
                Change(item["previous_value"], item["change_mom"]),
                Change(item["year_ago_value"], item["change_yoy"]),
            )
            for item in data["indicators"]
        ]
        breakdowns = {
            name: Breakdown(
                b["title"],
                b["dimension"],
                [(r["label"], [_indicator_from(v) for v in r["values"]]) for r in b["rows"]],
            )
            for name, b in data["breakdowns"].items()
        }
        return cls(
            data["centre"],
            period,
            datetime.fromisoformat(data["as_of"]),
            lines,
            breakdowns,
            snapshot=bool(data.get("snapshot", False)),
            timezone=str(data.get("timezone", "UTC")),
        )


def _indicator_json(i: Indicator) -> dict[str, Any]:
    return {
        "key": i.key,
        "name": i.name,
        "unit": i.unit.value,
        "value": i.value,
        "numerator": i.numerator,
        "denominator": i.denominator,
    }


def _indicator_from(item: Mapping[str, Any]) -> Indicator:
    return Indicator(
        item["key"],
        item["name"],
        Unit(item["unit"]),
        item["value"],
        item.get("numerator"),
        item.get("denominator"),
    )


@dataclass(frozen=True)
class Figures:
    """What one period adds up to: its indicators, before any comparison."""

    calls: CallTally
    cases: CaseTally
    call_options: CallOptions
    case_options: CaseOptions

    def indicators(self) -> list[tuple[str, Indicator]]:
        return [("calls", i) for i in call_indicators(self.calls, self.call_options)] + [
            ("cases", i) for i in case_indicators(self.cases, self.case_options)
        ]

    def by_key(self) -> dict[str, Indicator]:
        return {i.key: i for _, i in self.indicators()}


def figures(
    calls: CallSums,
    cases: CaseSums,
    period: Period,
    call_options: CallOptions,
    case_options: CaseOptions,
) -> Figures:
    """A period's totals from call and case sums (either may hold more than the period)."""
    return Figures(
        calls.within(period).total(), cases.within(period).total(), call_options, case_options
    )


Earlier = Mapping[str, Indicator]  # an earlier period's indicators by key


def compare(current: Figures, previous: Earlier | None, year_ago: Earlier | None) -> list[Line]:
    """Each indicator of `current` with its 环比 and 同比."""
    before, last_year = previous or {}, year_ago or {}
    return [
        Line(section, i, change(i, before.get(i.key)), change(i, last_year.get(i.key)))
        for section, i in current.indicators()
    ]


def _call_columns(t: CallTally, options: CallOptions) -> list[Indicator]:
    return [
        call_count("calls_offered", "呼入量", t.offered),
        call_count("calls_answered", "接通量", t.answered),
        answer_rate_in_time(t, options),
        answer_rate(t),
        abandon_rate(t),
    ]


def breakdowns(
    calls: CallSums,
    cases: CaseSums,
    period: Period,
    call_options: CallOptions,
    zone: ZoneInfo,
    labels: Labels,
    top_categories: int = 15,
) -> dict[str, Breakdown]:
    """The report's tables beside the headline indicators (`calls` and `cases` of `period`)."""
    lines = calls.lines.items()
    result: dict[str, Breakdown] = {}

    by_line = add_up(((k[2], t) for k, t in lines), CallTally)
    result["calls_by_hotline"] = Breakdown(
        "各热线来电",
        "热线",
        [(labels.source(h), _call_columns(t, call_options)) for h, t in sorted(by_line.items())],
    )
    by_hour = add_up(((k[1], t) for k, t in lines), CallTally)
    result["calls_by_hour"] = Breakdown(
        "分时段来电",
        "时段",
        [
            (f"{h:02d}:00", _call_columns(by_hour.get(h, CallTally()), call_options)[:3])
            for h in range(24)
        ],
    )
    by_agent = add_up(((k[1], t) for k, t in calls.agents.items()), CallTally)
    result["calls_by_agent"] = Breakdown(
        "坐席接听",
        "坐席",
        [
            (
                agent,
                [
                    call_count("calls_answered", "接通量", t.answered),
                    answer_rate_in_time(t, call_options),
                    average_speed_of_answer(t),
                    average_talk_time(t),
                ],
            )
            for agent, t in sorted(by_agent.items())
        ],
    )
    steps = period.trend_steps()
    day_sums = add_up(((k[0], t) for k, t in lines), CallTally)
    trend_rows = []
    for step in steps:
        t = total((v for d, v in day_sums.items() if step.first <= d < step.end), CallTally)
        trend_rows.append((_step_label(step), _call_columns(t, call_options)[:4]))
    result["calls_trend"] = Breakdown("接通率走势", "日期", trend_rows)

    by_source = add_up(((k[1], t) for k, t in cases.units.items()), CaseTally)
    result["cases_by_source"] = Breakdown(
        "案件来源",
        "来源",
        [
            (
                labels.source(s),
                [
                    count("cases_accepted", "受理量", t.accepted),
                    count("cases_filed", "立案量", t.filed),
                    count("cases_finished", "办结量", t.finished),
                    rate("finishing_rate", "办结率", t.finished, t.accepted),
                ],
            )
            for s, t in sorted(by_source.items())
        ],
    )
    by_department = add_up(((k[2], t) for k, t in cases.units.items()), CaseTally)
    result["cases_by_department"] = Breakdown(
        "各部门处置",
        "部门",
        [
            (
                labels.department(d),
                [
                    count("cases_filed", "立案量", t.filed),
                    count("cases_due", "应处置量", t.due),
                    count("cases_handled", "处置量", t.handled),
                    rate("on_time_handling_rate", "按期处置率", t.handled_on_time, t.due),
                    count("cases_overdue", "超期量", t.overdue),
                    count("cases_returned", "退单量", t.returned),
                ],
            )
            for d, t in sorted(by_department.items(), key=lambda kv: (-kv[1].filed, kv[0]))
        ],
    )
    by_category = add_up(((k[1], t) for k, t in cases.categories.items()), CaseTally)
    ranked = sorted(by_category.items(), key=lambda kv: (-kv[1].accepted, kv[0]))
    accepted = sum(t.accepted for t in by_category.values())
    result["cases_by_category"] = Breakdown(
        "高发问题类别",
        "类别",
        [
            (
                labels.category(code),
                [
                    count("cases_accepted", "受理量", t.accepted),
                    rate("share", "占比", t.accepted, accepted),
                ],
            )
            for code, t in ranked[:top_categories]
        ],
    )
    case_days = add_up(((k[0], t) for k, t in cases.units.items()), CaseTally)
    result["cases_trend"] = Breakdown(
        "受理量走势",
        "日期",
        [
            (
                _step_label(step),
                [
                    count(
                        "cases_accepted",
                        "受理量",
                        sum(t.accepted for d, t in case_days.items() if step.first <= d < step.end),
                    )
                ],
            )
            for step in steps
        ],
    )
    return result


def _step_label(step: Period) -> str:
    return step.first.strftime("%m-%d") if step.days == 1 else f"{step.first:%Y-%m}"


def build_report(
    centre: str,
    period: Period,
    as_of: datetime,
    calls: CallSums,
    cases: CaseSums,
    call_options: CallOptions,
    case_options: CaseOptions,
    zone: ZoneInfo,
    labels: Labels,
    earlier: Callable[[Period], Earlier | None] = lambda _p: None,
    top_categories: int = 15,
) -> Report:
    """The report of `period` as it stands at `as_of`; `earlier` gives the indicators of the
    periods it is compared with (None where there is nothing to compare)."""
    inside = calls.within(period)
    case_sums = cases.within(period)
    current = Figures(inside.total(), case_sums.total(), call_options, case_options)
    lines = compare(current, earlier(period.previous()), earlier(period.year_ago()))
    tables = breakdowns(inside, case_sums, period, call_options, zone, labels, top_categories)
    return Report(centre, period, as_of.astimezone(UTC), lines, tables, timezone=zone.key)
