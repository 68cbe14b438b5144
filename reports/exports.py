"""A report as text, CSV, XLSX (openpyxl, with the charts), HTML (Jinja2) and PDF (WeasyPrint,
from the same HTML): maintained libraries for every format, no file format written by hand."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence

from reports.charts import Chart, cjk_font
from reports.indicators import Indicator, Unit, format_change, format_value
from reports.report import Line, Report

CSV_COLUMNS = [
    "indicator",
    "value",
    "numerator",
    "denominator",
    "unit",
    "shown",
    "previous_value",
    "change_mom",
    "year_ago_value",
    "change_yoy",
    "key",
    "section",
]
SECTIONS = {"calls": "热线来电", "cases": "案件办理"}
FORMATS = ("text", "csv", "xlsx", "html", "pdf")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0")


def to_csv(report: Report) -> str:
    """One row per indicator: indicator,value,numerator,denominator first (the contract)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in report.lines:
        i = line.indicator
        writer.writerow(
            [
                i.name,
                _number(i.value),
                _number(i.numerator),
                _number(i.denominator),
                i.unit.value,
                i.shown(),
                _number(line.month_on_month.before),
                _number(line.month_on_month.delta),
                _number(line.year_on_year.before),
                _number(line.year_on_year.delta),
                i.key,
                line.section,
            ]
        )
    return out.getvalue()


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def to_text(report: Report) -> str:
    """The table for a terminal (CJK characters take two columns)."""
    title = f"{report.centre} {report.period.label}报表"
    note = "（月末存档）" if report.snapshot else f"（统计至 {report.local_as_of:%Y-%m-%d %H:%M}）"
    out = [title + note, ""]
    for section, heading in SECTIONS.items():
        out.append(f"【{heading}】")
        out.append(
            _pad("指标", 22) + _pad("数值", 12) + _pad("分子/分母", 16) + _pad("环比", 18) + "同比"
        )
        for line in (x for x in report.lines if x.section == section):
            i = line.indicator
            parts = _fraction(i)
            out.append(
                _pad(i.name, 22)
                + _pad(i.shown(), 12)
                + _pad(parts, 16)
                + _pad(format_change(i.unit, line.month_on_month.delta), 18)
                + format_change(i.unit, line.year_on_year.delta)
            )
        out.append("")
    return "\n".join(out)


XLSX_HEADER = ["指标", "数值", "分子", "分母", "单位", "上期", "环比", "去年同期", "同比"]


def _xlsx_value(unit: Unit, value: float | None) -> float | str:
    return "—" if value is None else value


def to_xlsx(report: Report, charts: Sequence[Chart]) -> bytes:
    """A workbook: the indicator table (numbers, rates formatted as %), one sheet per
    breakdown, and the charts as images."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "指标"
    sheet.append([f"{report.centre} {report.period.label}报表"])
    sheet["A1"].font = Font(bold=True, size=14)
    kept = "（月末存档）" if report.snapshot else ""
    sheet.append([f"统计至 {report.local_as_of:%Y-%m-%d %H:%M}{kept}"])
    sheet.append(XLSX_HEADER)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for line in report.lines:
        sheet.append(_xlsx_row(line))
        row = sheet.max_row
        i = line.indicator
        if i.unit is Unit.RATIO:
            for column in "BF":
                sheet[f"{column}{row}"].number_format = "0.00%"
            for column in "GI":
                sheet[f"{column}{row}"].number_format = '+0.00"个百分点";-0.00"个百分点"'
                cell = sheet[f"{column}{row}"]
                if isinstance(cell.value, float):
                    cell.value = cell.value * 100
        else:
            for column in "GI":
                sheet[f"{column}{row}"].number_format = "+0.00%;-0.00%"
            if i.unit is Unit.SECONDS:
                for column in "BF":
                    sheet[f"{column}{row}"].number_format = "0.0"
    sheet.column_dimensions["A"].width = 22
    for column in "BCDEFGHI":
        sheet.column_dimensions[column].width = 14
    for name, table in report.breakdowns.items():
        tab = book.create_sheet(table.title[:31])
        tab.append([table.dimension, *table.columns])
        for cell in tab[1]:
            cell.font = Font(bold=True)
        for label, values in table.rows:
            tab.append([label, *(_xlsx_value(v.unit, v.value) for v in values)])
            for index, value in enumerate(values, start=2):
                if value.unit is Unit.RATIO:
                    tab.cell(tab.max_row, index).number_format = "0.00%"
                elif value.unit is Unit.SECONDS:
                    tab.cell(tab.max_row, index).number_format = "0.0"
        tab.column_dimensions["A"].width = 28
        del name
    if charts:
        pictures = book.create_sheet("图表")
        row = 1
        for chart in charts:
            pictures.cell(row, 1, chart.title).font = Font(bold=True)
            pictures.cell(row, 1).alignment = Alignment(vertical="top")
            image = Image(io.BytesIO(chart.png))
            image.width, image.height = 800, 420
            pictures.add_image(image, f"A{row + 1}")
            row += 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_row(line: Line) -> list[object]:
    i = line.indicator
    return [
        i.name,
        _xlsx_value(i.unit, i.value),
        i.numerator,
        i.denominator,
        i.unit.value,
        _xlsx_value(i.unit, line.month_on_month.before),
        _xlsx_value(i.unit, line.month_on_month.delta),
        _xlsx_value(i.unit, line.year_on_year.before),
        _xlsx_value(i.unit, line.year_on_year.delta),
    ]


def to_html(report: Report, charts: Sequence[Chart]) -> str:
    """One self-contained page (charts inline as data: URIs) for a browser or for printing."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html"])
    )
    environment.filters["shown"] = lambda i: format_value(i.unit, i.value)
    environment.filters["change"] = lambda c, i: format_change(i.unit, c.delta)
    environment.filters["fraction"] = _fraction
    template = environment.get_template("report.html.j2")
    return template.render(
        report=report,
        sections=SECTIONS,
        charts=[
            (chart.key, chart.title, base64.b64encode(chart.png).decode("ascii"))
            for chart in charts
        ],
        font=cjk_font() or "sans-serif",
    )


def _fraction(i: Indicator) -> str:
    if i.denominator is None:
        return ""
    if i.unit is Unit.SECONDS and i.numerator is not None:
        return f"{i.numerator:.0f}/{_number(i.denominator)}"
    return f"{_number(i.numerator)}/{_number(i.denominator)}"


def to_pdf(report: Report, charts: Sequence[Chart]) -> bytes:
    """The HTML report laid out as A4 pages."""
    from weasyprint import HTML

    pdf = HTML(string=to_html(report, charts)).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def render(report: Report, fmt: str, images: Sequence[Chart] | None = None) -> bytes:
    """The report in one of FORMATS; the charts are drawn when the format has them."""
    if fmt == "csv":
        return to_csv(report).encode("utf-8")
    if fmt == "text":
        return (to_text(report) + "\n").encode("utf-8")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    from reports.charts import charts

    drawn = list(images) if images is not None else charts(report)
    if fmt == "xlsx":
        return to_xlsx(report, drawn)
    if fmt == "html":
        return to_html(report, drawn).encode("utf-8")
    return to_pdf(report, drawn)
