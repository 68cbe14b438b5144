"""`hotline report` on a stored month, SQLite and PostgreSQL: the CSV contract, the workbook
opened back cell by cell, and figures that outlive the calls they were made from."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from hotline.db import create_engine, session_factory
from hotline.models import Call, CallEvent
from hotline.report_models import CallTallyDay
from tests.reports.seed import store_month


def hotline(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_DATABASE_URL": url, "HOTLINE_NLP_MODEL_PATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", "report", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def _store(url: str) -> None:
    engine = create_engine(url)
    try:
        await store_month(session_factory(engine))
    finally:
        await engine.dispose()


async def _count_rolled(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            return int(await db.scalar(select(func.count()).select_from(CallTallyDay)) or 0)
    finally:
        await engine.dispose()


async def _purge_calls(url: str) -> None:
    """What retention does to old calls."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db, db.begin():
            await db.execute(delete(CallEvent))
            from hotline.models import Ticket

            await db.execute(Ticket.__table__.update().values(call_id=None))
            await db.execute(delete(Call))
    finally:
        await engine.dispose()


def rows(text: str) -> dict[str, dict[str, str]]:
    return {row["indicator"]: row for row in csv.DictReader(io.StringIO(text))}


def test_the_csv_contract_by_hand_and_figures_that_outlive_the_calls(database_url: str) -> None:
    asyncio.run(_store(database_url))
    first = hotline("--month", "2026-11", "--format", "csv", url=database_url)
    assert first.returncode == 0, first.stderr
    # November, October and November 2025 (91 days) read from the calls and from the cases:
    # a progress bar (tqdm) on stderr.
    assert "统计" in first.stderr and "182/182" in first.stderr
    header = first.stdout.splitlines()[0].split(",")
    assert header[:4] == ["indicator", "value", "numerator", "denominator"]
    got = rows(first.stdout)
    assert (got["呼入量"]["value"], got["接通量"]["value"]) == ("7", "2")
    in_time = got["15秒接通率"]
    assert (in_time["numerator"], in_time["denominator"], in_time["shown"]) == ("1", "7", "14.29%")
    assert float(in_time["value"]) == pytest.approx(1 / 7, abs=1e-6)
    assert (got["接通率"]["numerator"], got["接通率"]["denominator"]) == ("2", "7")
    assert (got["放弃率"]["numerator"], got["放弃率"]["denominator"]) == ("1", "6")
    assert got["忙线拒接量"]["value"] == "1" and got["短时放弃量"]["value"] == "1"
    assert got["平均应答时长（秒）"]["value"] == "20"
    # October had one call (c8), answered in 5 s: 环比 of 呼入量 is +600%.
    assert got["呼入量"]["previous_value"] == "1" and got["呼入量"]["change_mom"] == "6"
    # Tickets: A..J accepted in November (K on 1 December), D merged into C.
    assert got["受理量"]["value"] == "9" and got["并单量"]["value"] == "1"
    assert (got["立案率"]["numerator"], got["立案率"]["denominator"]) == ("8", "9")

    # November, October and November 2025 are closed days: summed once, kept.
    assert asyncio.run(_count_rolled(database_url)) == 30 + 31 + 30
    asyncio.run(_purge_calls(database_url))
    again = hotline("--month", "2026-11", "--format", "csv", url=database_url)
    assert again.returncode == 0, again.stderr
    assert "统计" not in again.stderr  # every day read from its kept sums
    calls_part = [line for line in again.stdout.splitlines() if line.endswith(",calls")]
    assert calls_part == [line for line in first.stdout.splitlines() if line.endswith(",calls")]


def test_the_workbook_opened_back_cell_by_cell(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_store(database_url))
    path = tmp_path / "2026-11.xlsx"
    charts = tmp_path / "charts"
    done = hotline(
        "--month",
        "2026-11",
        "--format",
        "xlsx",
        "--output",
        str(path),
        "--charts",
        str(charts),
        url=database_url,
    )
    assert done.returncode == 0, done.stderr
    book = load_workbook(path)
    assert book.sheetnames[:2] == ["指标", "各热线来电"] and book.sheetnames[-1] == "图表"
    sheet = book["指标"]
    assert str(sheet["A1"].value).endswith("2026年11月报表")
    assert [c.value for c in sheet[3]] == [
        "指标",
        "数值",
        "分子",
        "分母",
        "单位",
        "上期",
        "环比",
        "去年同期",
        "同比",
    ]
    by_name = {row[0].value: row for row in sheet.iter_rows(min_row=4)}
    offered = by_name["呼入量"]
    assert [c.value for c in offered[:6]] == ["呼入量", 7, None, None, "次", 1]
    assert offered[6].value == pytest.approx(6) and offered[6].number_format == "+0.00%;-0.00%"
    rate = by_name["15秒接通率"]
    assert rate[1].value == pytest.approx(1 / 7) and rate[1].number_format == "0.00%"
    assert (rate[2].value, rate[3].value, rate[4].value) == (1, 7, "%")
    assert rate[5].value == 1  # October: 1 of 1 within 15 s
    assert rate[6].value == pytest.approx((1 / 7 - 1) * 100)  # percentage points
    assert rate[8].value == "—"  # November 2025 had no calls: nothing to compare
    seconds = by_name["平均应答时长（秒）"]
    assert (seconds[1].value, seconds[2].value, seconds[3].value) == (20, 40, 2)
    assert by_name["受理量"][1].value == 9
    hours = book["分时段来电"]
    nine = next(r for r in hours.iter_rows(min_row=2, values_only=True) if r[0] == "09:00")
    assert nine[:3] == ("09:00", 3, 2)
    assert len(book["图表"]._images) == 4  # type: ignore[attr-defined]
    assert sorted(p.name for p in charts.iterdir()) == [
        "answer_rate_trend.png",
        "calls_by_hour.png",
        "cases_by_category.png",
        "overdue_by_department.png",
    ]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in charts.iterdir())


def test_a_period_that_cannot_be_read_gets_a_clear_error(sqlite_url: str) -> None:
    bad = hotline("--month", "2026-13", url=sqlite_url)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr
    binary = hotline("--month", "2026-11", "--format", "pdf", url=sqlite_url)
    assert binary.returncode == 2 and "--output" in binary.stderr
