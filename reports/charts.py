"""The report's charts as PNG images a director can paste into the annual report (matplotlib,
with a CJK font so the Chinese labels render)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display: files only

from matplotlib import font_manager, rcParams
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports.report import Breakdown, Report

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK", "WenQuanYi Zen Hei")
BLUE, ORANGE, RED = "#1f5fa8", "#e07b24", "#c0392b"


@dataclass(frozen=True)
class Chart:
    key: str  # file name without .png
    title: str
    png: bytes


def cjk_font() -> str | None:
    """A font family installed here that has Chinese glyphs (fonts-noto-cjk on Debian)."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _figure() -> Figure:
    # Figure objects without pyplot: no global figure list, safe to draw in a worker thread.
    family = cjk_font()
    if family is not None:
        rcParams["font.family"] = [family, "sans-serif"]
    rcParams["axes.unicode_minus"] = False
    return Figure(figsize=(8, 4.2), dpi=150)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _column(table: Breakdown, index: int) -> list[float]:
    return [float(values[index].value or 0) for _label, values in table.rows]


def calls_by_hour(report: Report) -> Chart:
    table = report.breakdowns["calls_by_hour"]
    figure = _figure()
    axes = figure.add_subplot()
    hours = [label[:2] for label, _ in table.rows]
    positions = range(len(hours))
    axes.bar([p - 0.2 for p in positions], _column(table, 0), 0.4, label="呼入量", color=BLUE)
    axes.bar([p + 0.2 for p in positions], _column(table, 1), 0.4, label="接通量", color=ORANGE)
    axes.set_xticks(list(positions), hours)
    axes.set_xlabel("时段（时）")
    axes.set_ylabel("来电（次）")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"{report.period.label} 分时段来电")
    axes.legend()
    return Chart("calls_by_hour", "分时段来电", _png(figure))


def answer_rate_trend(report: Report) -> Chart:
    table = report.breakdowns["calls_trend"]
    figure = _figure()
    axes = figure.add_subplot()
    labels = [label for label, _ in table.rows]
    for index, color in ((2, BLUE), (3, ORANGE)):
        name = table.rows[0][1][index].name if table.rows else ""
        points = [values[index].value for _label, values in table.rows]
        axes.plot(
            labels,
            [math.nan if v is None else v * 100 for v in points],
            marker="o",
            markersize=3,
            label=name,
            color=color,
        )
    axes.axhline(95, color=RED, linestyle="--", linewidth=1, label="接通率目标 95%")
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.set_title(f"{report.period.label} 接通率走势")
    step = max(1, len(labels) // 15)
    axes.set_xticks(labels[::step])
    axes.tick_params(axis="x", labelrotation=45)
    axes.legend(loc="lower left")
    return Chart("answer_rate_trend", "接通率走势", _png(figure))


def cases_by_category(report: Report) -> Chart:
    table = report.breakdowns["cases_by_category"]
    figure = _figure()
    axes = figure.add_subplot()
    rows = list(reversed(table.rows[:10]))
    axes.barh([label for label, _ in rows], [float(v[0].value or 0) for _, v in rows], color=BLUE)
    axes.set_xlabel("受理量（件）")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"{report.period.label} 高发问题类别")
    return Chart("cases_by_category", "高发问题类别", _png(figure))


def overdue_by_department(report: Report) -> Chart:
    table = report.breakdowns["cases_by_department"]
    figure = _figure()
    axes = figure.add_subplot()
    rows = table.rows[:12]
    names = [label for label, _ in rows]
    axes.bar(names, [float(v[4].value or 0) for _, v in rows], color=RED, label="超期量")
    axes.set_ylabel("超期（件）")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelrotation=30)
    rate_axes = axes.twinx()
    rates = [v[3].value for _, v in rows]
    rate_axes.plot(
        names,
        [math.nan if r is None else r * 100 for r in rates],
        marker="o",
        color=BLUE,
        label="按期处置率",
    )
    rate_axes.set_ylim(0, 105)
    rate_axes.set_ylabel("按期处置率（%）")
    axes.set_title(f"{report.period.label} 各部门超期与按期处置率")
    handles = axes.get_legend_handles_labels()
    more = rate_axes.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right")
    return Chart("overdue_by_department", "各部门超期与按期处置率", _png(figure))


def charts(report: Report) -> list[Chart]:
    """Calls by hour, 接通率 trend, cases by category, overdue by department."""
    return [chart(report) for chart in CHARTS.values()]


CHARTS: dict[str, Callable[[Report], Chart]] = {
    "calls_by_hour": calls_by_hour,
    "answer_rate_trend": answer_rate_trend,
    "cases_by_category": cases_by_category,
    "overdue_by_department": overdue_by_department,
}
