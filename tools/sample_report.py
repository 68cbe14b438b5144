"""Writes docs/sample-report/: the report of a generated month (November 2026) as CSV, XLSX,
PDF and the four chart images (`make sample-report`). The month is drawn from a seeded
generator, so the files change only when the report does."""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from reports import (
    CallOptions,
    CallRow,
    CaseOptions,
    CaseRow,
    Indicator,
    Labels,
    Period,
    Satisfaction,
)
from reports.charts import charts
from reports.exports import to_csv, to_pdf, to_xlsx
from reports.report import build_report, figures
from reports.sums import sum_calls, sum_cases

ZONE = ZoneInfo("Asia/Shanghai")
MONTH = Period.month(2026, 11)
AGENTS = [f"10{n:02d}" for n in range(1, 13)]
DEPARTMENTS = {
    "SANITATION": "环卫",
    "ENFORCEMENT": "城管执法",
    "MUNICIPAL": "市政",
    "LANDSCAPE": "园林",
    "WATER": "供水",
    "TRAFFIC_POLICE": "交警",
}
CATEGORIES = {
    "0601": "暴露垃圾",
    "0901": "非机动车乱停放",
    "0902": "沿街晾挂",
    "0903": "无证游商",
    "0604": "积存垃圾渣土",
    "0105": "井盖破损",
    "0703": "违规张贴",
    "0905": "占道经营",
}
HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 11, 9, 10, 12, 12, 11, 9, 7, 6, 5, 4, 3, 2]


def arrivals(rng: random.Random, count: int, first: Period) -> list[datetime]:
    start = datetime.combine(first.first, datetime.min.time(), ZONE)
    hours = [h for h, w in enumerate(HOURS) for _ in range(w)]
    return sorted(
        start
        + timedelta(days=rng.randrange(first.days), hours=rng.choice(hours))
        + timedelta(seconds=rng.random() * 3600)
        for _ in range(count)
    )


def calls(rng: random.Random, period: Period, count: int, busy: float) -> list[CallRow]:
    rows = []
    for n, arrived in enumerate(arrivals(rng, count, period)):
        line = rng.choices(["12319", "96198", "12345"], [6, 3, 1])[0]
        fate = rng.random()
        if fate < 0.9 - busy:
            wait = rng.expovariate(1 / (6 + 30 * busy))
            connected = arrived + timedelta(seconds=wait)
            ended = connected + timedelta(seconds=40 + rng.expovariate(1 / 160))
            rows.append(
                CallRow(f"{period.key}-{n}", line, rng.choice(AGENTS), arrived, connected, ended,
                        "caller-hangup", line)
            )  # fmt: skip
            continue
        reason = rng.choices(["caller-hangup", "refused-queue-full", "voicemail", "callback"],
                             [12, 2, 1, 2])[0]  # fmt: skip
        ended = arrived + timedelta(seconds=rng.expovariate(1 / 45))
        rows.append(CallRow(f"{period.key}-{n}", line, None, arrived, None, ended, reason, line))
    return rows


def cases(rng: random.Random, period: Period, count: int) -> list[CaseRow]:
    rows: list[CaseRow] = []
    for n, accepted in enumerate(arrivals(rng, count, period)):
        number = f"{period.key}-{n:04d}"
        source = rng.choices(
            ["12319", "96198", "12345", "voicemail", "callback"], [50, 25, 15, 5, 5]
        )[0]
        department = rng.choices(list(DEPARTMENTS), [30, 25, 15, 10, 10, 10])[0]
        category = rng.choices(list(CATEGORIES), [25, 20, 12, 10, 10, 8, 8, 7])[0]
        if rows and rng.random() < 0.04:
            rows.append(CaseRow(number, accepted, source, department, category,
                                merged_into=rng.choice(rows).number))  # fmt: skip
            continue
        if rng.random() < 0.015:
            rows.append(CaseRow(number, accepted, source, department, category,
                                returns=1, rejected_at=accepted + timedelta(hours=20)))  # fmt: skip
            continue
        forwarded = accepted + timedelta(minutes=rng.expovariate(1 / 4))
        deadline = accepted + timedelta(days=rng.choice([1, 3, 5]))
        extensions = int(rng.random() < 0.05)
        deadline += timedelta(days=2 * extensions)
        handled = forwarded + timedelta(hours=rng.expovariate(1 / 30))
        returns = int(rng.random() < 0.03)
        core_closed = handled + timedelta(hours=rng.expovariate(1 / 8))
        visit = core_closed + timedelta(hours=rng.expovariate(1 / 12))
        satisfaction = rng.choices(list(Satisfaction), [70, 18, 5, 7])[0]
        reopened = int(satisfaction is Satisfaction.UNSATISFIED)
        rows.append(
            CaseRow(
                number, accepted, source, department, category,
                forwarded_at=forwarded, deadline=deadline, extensions=extensions,
                returns=returns, reopened=reopened, handled_at=handled,
                core_closed_at=None if reopened else core_closed,
                closed_at=None if reopened else visit,
                satisfaction=satisfaction, visited_at=visit,
            )
        )  # fmt: skip
    return rows


def main(folder: Path) -> None:
    rng = random.Random(12319)
    as_of = datetime.combine(MONTH.end, datetime.min.time(), ZONE) + timedelta(hours=2)
    call_rows = calls(rng, MONTH.previous(), 2600, 0.05) + calls(rng, MONTH, 3000, 0.08)
    call_rows += calls(rng, MONTH.year_ago(), 2200, 0.12)
    case_rows = cases(rng, MONTH.previous(), 700) + cases(rng, MONTH, 820)
    case_rows += cases(rng, MONTH.year_ago(), 600)
    call_options, case_options = CallOptions(), CaseOptions()
    sums = sum_calls(call_rows, ZONE, call_options)
    case_sums = sum_cases(case_rows, as_of, case_options, ZONE)

    def earlier(period: Period) -> dict[str, Indicator]:
        f = figures(sums, case_sums, period, call_options, case_options)
        return f.by_key()

    report = build_report(
        "12319 城管服务热线（示例）", MONTH, as_of, sums, case_sums, call_options, case_options,
        ZONE, Labels(departments=DEPARTMENTS, categories=CATEGORIES),
        earlier=earlier,
    )  # fmt: skip
    images = charts(report)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MONTH.key}.csv").write_text(to_csv(report), encoding="utf-8")
    (folder / f"{MONTH.key}.xlsx").write_bytes(to_xlsx(report, images))
    (folder / f"{MONTH.key}.pdf").write_bytes(to_pdf(report, images))
    for chart in images:
        (folder / f"{chart.key}.png").write_bytes(chart.png)
    print(f"written to {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/sample-report"))
