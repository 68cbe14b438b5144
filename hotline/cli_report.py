"""`hotline report`: a period's report as text, CSV, XLSX, HTML or PDF, with its charts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.config import HotlineConfig

if TYPE_CHECKING:
    from reports import Period, Report

# Reading more day-parts than this from the rows themselves (each day once for its calls and
# once for its cases) shows a progress bar.
PROGRESS_ABOVE_DAYS = 62


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report",
        help="a period's report (受理量, 15秒接通率, 按期处置率 …) as text, csv, xlsx, html or pdf",
    )
    which = report.add_mutually_exclusive_group()
    which.add_argument("--month", help="YYYY-MM (default: last month)")
    which.add_argument("--year", help="YYYY")
    which.add_argument("--period", help="any period: 2026-11-23, 2026-W48, 2026-11, 2026-Q4, 2026")
    which.add_argument("--from", dest="first", type=date.fromisoformat, help="first day")
    report.add_argument("--to", dest="last", type=date.fromisoformat, help="last day (with --from)")
    report.add_argument("--format", choices=["text", "csv", "xlsx", "html", "pdf"], default="text")
    report.add_argument("--output", help="file to write (required for xlsx and pdf)")
    report.add_argument("--charts", metavar="DIR", help="also write the charts there as PNG")
    report.add_argument(
        "--live", action="store_true", help="recompute a closed month instead of its snapshot"
    )


def chosen_period(args: argparse.Namespace, now: datetime, zone_name: str) -> Period:
    from zoneinfo import ZoneInfo

    from reports import Period, PeriodError
    from reports.periods import month_of

    if args.last is not None and args.first is None:
        raise PeriodError("--to needs --from")
    if args.first is not None:
        return Period.between(args.first, args.last or args.first)
    text = args.month or args.year or args.period
    if text:
        period = Period.parse(text)
        if args.month and period.kind.value != "month":
            raise PeriodError(f"--month wants YYYY-MM, not {text!r}")
        if args.year and period.kind.value != "year":
            raise PeriodError(f"--year wants YYYY, not {text!r}")
        return period
    return month_of(now, ZoneInfo(zone_name)).previous()


def render(report: Report, fmt: str, chart_dir: Path | None) -> bytes:
    """The report's bytes; its charts also written to `chart_dir` as PNG when given."""
    from reports import exports
    from reports.charts import charts

    images = charts(report) if fmt in ("xlsx", "html", "pdf") or chart_dir else []
    if chart_dir is not None:
        chart_dir.mkdir(parents=True, exist_ok=True)
        for chart in images:
            (chart_dir / f"{chart.key}.png").write_bytes(chart.png)
    return exports.render(report, fmt, images)


def cmd_report(args: argparse.Namespace, config: HotlineConfig) -> int:
    from tqdm import tqdm

    from hotline.classification import build_classifier, console_departments
    from hotline.db import create_engine, session_factory
    from hotline.reporting import ReportService, report_settings
    from reports import PeriodError

    now = datetime.now(UTC)
    try:
        period = chosen_period(args, now, config.centre.timezone)
    except PeriodError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.format in ("xlsx", "pdf") and not args.output:
        print(f"error: --format {args.format} needs --output FILE", file=sys.stderr)
        return 2
    departments = console_departments(build_classifier(config.nlp), config.nlp)

    async def run() -> Report:
        engine = create_engine(config.database.url)
        service = ReportService(
            session_factory(engine), report_settings(config, departments), lambda: now
        )
        bar: tqdm[None] | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None and total - done > PROGRESS_ABOVE_DAYS:
                bar = tqdm(total=total, initial=done, desc="统计", file=sys.stderr)
            elif bar is not None:
                bar.update(done - bar.n)

        try:
            return await service.report(period, progress, live=args.live)
        finally:
            if bar is not None:
                bar.close()
            await engine.dispose()

    report = asyncio.run(run())
    body = render(report, args.format, Path(args.charts) if args.charts else None)
    if args.output:
        Path(args.output).write_bytes(body)
        print(f"written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0
