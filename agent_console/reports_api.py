"""The console's reports for shift leads (and admins): a period's figures as JSON, its charts as
PNG and the report as CSV, XLSX, HTML or PDF; the page at /reports shows them."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from aiohttp import web

from agent_console import schemas
from agent_console.app import STATIC, ApiError, audit_key
from agent_console.http import current
from agent_console.openapi import operation
from hotline.accounts import Principal
from hotline.audit import AuditEntry
from hotline.reporting import ReportService
from reports import Period, PeriodError, Report
from reports.charts import CHARTS
from reports.exports import render
from reports.periods import month_of

reports_key = web.AppKey("reports", ReportService)
# A report is worked out once for the page, its four charts and a download in a row.
CACHE_SECONDS = 60.0
PERIOD_PARAMETERS = [
    {
        "in": "query",
        "name": "period",
        "schema": {"type": "string"},
        "description": "2026-11-23, 2026-W48, 2026-11, 2026-Q4 or 2026 (default: this month)",
    },
    {"in": "query", "name": "from", "schema": {"type": "string", "format": "date"}},
    {"in": "query", "name": "to", "schema": {"type": "string", "format": "date"}},
    {
        "in": "query",
        "name": "live",
        "schema": {"type": "string", "enum": ["0", "1"]},
        "description": "1: recompute a closed month instead of reading its snapshot",
    },
]
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


class ReportCache:
    def __init__(self) -> None:
        self._kept: dict[tuple[str, bool], tuple[float, Report]] = {}
        self._locks: dict[tuple[str, bool], asyncio.Lock] = {}

    async def get(self, service: ReportService, period: Period, live: bool) -> Report:
        key = (period.key, live)
        async with self._locks.setdefault(key, asyncio.Lock()):
            kept = self._kept.get(key)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1]
            report = await service.report(period, live=live)
            self._kept = {k: v for k, v in self._kept.items() if v[0] > time.monotonic()}
            self._kept[key] = (time.monotonic() + CACHE_SECONDS, report)
            return report


cache_key = web.AppKey("report_cache", ReportCache)


def _reader(request: web.Request) -> Principal:
    principal = current(request)
    if not (principal.is_lead or principal.is_admin):
        raise ApiError(403, "lead-only", "only shift leads and admins can see the reports")
    return principal


def _period(request: web.Request) -> Period:
    """?period=2026-11 (any period), ?from=…&to=…, or the current month."""
    query = request.query
    try:
        if "from" in query or "to" in query:
            first = date.fromisoformat(query.get("from", ""))
            last = date.fromisoformat(query.get("to", query.get("from", "")))
            return Period.between(first, last)
        if "period" in query:
            return Period.parse(query["period"])
    except (PeriodError, ValueError) as error:
        raise ApiError(400, "invalid-period", f"period: {error}", "period") from None
    service = request.app[reports_key]
    return month_of(service.now(), service.settings.zone)


async def _report(request: web.Request) -> Report:
    _reader(request)
    live = request.query.get("live", "") in ("1", "true")
    return await request.app[cache_key].get(request.app[reports_key], _period(request), live)


@operation(
    "Leads and admins: a period's report, indicators with 环比 and 同比, breakdowns, charts",
    description=(
        "Each indicator has key, name, unit, value, numerator, denominator, previous_value, "
        "change_mom, year_ago_value, change_yoy; a closed month is read from its month-end "
        "snapshot. See docs/REPORTS.md."
    ),
    responses={200: ("The report", None)},
    parameters=PERIOD_PARAMETERS,
)
async def show(request: web.Request) -> web.Response:
    """GET /api/reports?period=2026-11: indicators with 环比/同比, breakdowns, chart links."""
    report = await _report(request)
    body = report.to_json()
    body["charts"] = [
        {"key": key, "url": f"/api/reports/charts/{key}.png?period={report.period.key}"}
        for key in CHARTS
    ]
    return web.json_response(body)


@operation(
    "Leads and admins: one chart of a period's report as PNG (calls_by_hour, "
    "answer_rate_trend, cases_by_category, overdue_by_department)",
    responses={200: ("image/png", None), 404: ("No such chart", schemas.ErrorSchema)},
    parameters=PERIOD_PARAMETERS,
)
async def chart(request: web.Request) -> web.Response:
    """GET /api/reports/charts/{name}.png?period=…: one chart, to paste into a document."""
    draw = CHARTS.get(request.match_info["name"])
    if draw is None:
        raise ApiError(404, "unknown-chart", f"charts: {', '.join(CHARTS)}")
    report = await _report(request)
    # Drawing takes a few hundred milliseconds: off the loop the SIP gateway runs on.
    image = await asyncio.to_thread(draw, report)
    return web.Response(body=image.png, content_type="image/png")


@operation(
    "Leads and admins: a period's report as a file (csv, xlsx, html or pdf); audited",
    responses={200: ("The file, as an attachment", None)},
    parameters=[
        *PERIOD_PARAMETERS,
        {"in": "query", "name": "format", "schema": {"enum": ["csv", "xlsx", "html", "pdf"]}},
    ],
)
async def export(request: web.Request) -> web.Response:
    """GET /api/reports/export?period=…&format=csv|xlsx|html|pdf: the report as a file."""
    fmt = request.query.get("format", "csv")
    if fmt not in EXPORTS:
        raise ApiError(
            400, "invalid-field", f"format must be one of {', '.join(EXPORTS)}", "format"
        )
    principal = _reader(request)
    report = await _report(request)
    body = await asyncio.to_thread(render, report, fmt)
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "report.export",
            "report",
            report.period.key,
            request.app[reports_key].now(),
            format=fmt,
        )
    )
    name = f"report-{report.period.key}.{fmt}".replace("..", "_")
    return web.Response(
        body=body,
        headers={
            "Content-Type": EXPORTS[fmt],
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@operation("The report page (HTML)", public=True, errors=(), responses={200: ("The page", None)})
async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "reports.html")


def add_routes(app: web.Application, service: ReportService) -> None:
    app[reports_key] = service
    app[cache_key] = ReportCache()
    app.router.add_get("/api/reports", show)
    app.router.add_get("/api/reports/charts/{name}.png", chart)
    app.router.add_get("/api/reports/export", export)
    app.router.add_get("/reports", page)
