"""The console's reports: the API for leads (JSON, charts, downloads) and the page in headless
Chromium with its chart images."""

from __future__ import annotations

import io

import aiohttp
import pytest
from openpyxl import load_workbook
from playwright.async_api import Page, expect

from tests.browser import test_console_page as console
from tests.conftest import RunningHotline
from tests.reports.seed import store_month

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures


async def get(
    http: aiohttp.ClientSession, hotline: RunningHotline, token: str, path: str
) -> tuple[int, str, bytes]:
    async with http.get(hotline.url(path), headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.read()


async def test_leads_read_reports_and_agents_do_not(hotline: RunningHotline) -> None:
    await store_month(hotline.system.sessions)  # adds agents 1001 and 1002 with their calls
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        lead = await hotline.login(http, "9001")
        async with http.get(
            hotline.url("/api/reports?period=2026-11"),
            headers={"Authorization": f"Bearer {lead}"},
        ) as r:
            assert r.status == 200
            body = await r.json()
        by_name = {i["name"]: i for i in body["indicators"]}
        assert (by_name["呼入量"]["value"], by_name["接通量"]["value"]) == (7, 2)
        assert (by_name["15秒接通率"]["numerator"], by_name["15秒接通率"]["denominator"]) == (1, 7)
        assert by_name["受理量"]["value"] == 9
        assert body["period"]["label"] == "2026年11月"
        assert [c["key"] for c in body["charts"]] == [
            "calls_by_hour",
            "answer_rate_trend",
            "cases_by_category",
            "overdue_by_department",
        ]
        status, kind, png = await get(http, hotline, lead, body["charts"][0]["url"])
        assert (status, kind, png[:4]) == (200, "image/png", b"\x89PNG")
        status, _, _ = await get(http, hotline, lead, "/api/reports/charts/nope.png")
        assert status == 404
        status, _, raw = await get(http, hotline, lead, "/api/reports?period=2026-13")
        assert status == 400 and b'"invalid-period"' in raw
        status, kind, xlsx = await get(
            http, hotline, lead, "/api/reports/export?period=2026-11&format=xlsx"
        )
        assert status == 200 and kind.startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(xlsx))["指标"]
        assert [sheet["A4"].value, sheet["B4"].value] == ["呼入量", 7]
        status, kind, csv = await get(
            http, hotline, lead, "/api/reports/export?period=2026-11&format=csv"
        )
        assert status == 200 and csv.decode().startswith("indicator,value,numerator,denominator")
        status, _, raw = await get(
            http, hotline, lead, "/api/reports/export?period=2026-11&format=doc"
        )
        assert status == 400 and b'"invalid-field"' in raw

        await hotline.add_agent("1003")
        agent = await hotline.login(http, "1003")
        for path in ("/api/reports?period=2026-11", "/api/reports/export?period=2026-11"):
            status, _, raw = await get(http, hotline, agent, path)
            assert status == 403 and b'"lead-only"' in raw
        async with http.get(hotline.url("/api/reports")) as r:
            assert r.status == 401


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_report_page_shows_the_figures_and_draws_the_charts(
    hotline: RunningHotline, page: Page
) -> None:
    await store_month(hotline.system.sessions)
    await hotline.add_agent("9001", role="lead")
    await log_in(page, hotline, "9001", "pw-9001-secret")
    await expect(page.get_by_test_id("reports-link")).to_be_visible()  # leads see the link
    await expect(page.get_by_test_id("reports-link")).to_have_attribute("href", "/reports")
    await page.goto(hotline.url("/reports?period=2026-11"))
    # The first report of a month reads its days (and those it is compared with) from the
    # calls and tickets: on a loaded 2-core machine that can take more than the default 5 s.
    await expect(page.get_by_test_id("report-title")).to_have_text(
        f"{hotline.system.config.centre.name} 2026年11月报表", timeout=30_000
    )
    assert await page.get_by_test_id("period-month").input_value() == "2026-11"
    calls = page.get_by_test_id("indicators-calls")
    in_time = calls.locator('tr[data-key="answer_rate_in_time"] td')
    await expect(in_time).to_have_text(["15秒接通率", "14.29%", "1/7", "-85.71个百分点", "—"])
    cases = page.get_by_test_id("indicators-cases")
    await expect(cases.locator('tr[data-key="filing_rate"] td').nth(2)).to_have_text("8/9")
    charts = page.get_by_test_id("chart")
    await expect(charts).to_have_count(4)
    for index in range(4):
        image = charts.nth(index)
        # Four charts are drawn in worker threads: on a loaded 2-core machine that takes a while.
        await expect(image).to_have_js_property("complete", True, timeout=30_000)
        # A broken image has no natural size; a drawn chart is 1200×630 (8×4.2 in at 150 dpi).
        assert await image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1200, 630]
    hours = page.get_by_test_id("breakdown-calls_by_hour").locator("tr", has_text="09:00")
    await expect(hours.locator("td")).to_have_text(["09:00", "3", "2", "33.33%"])
    href = await page.get_by_test_id("download-xlsx").get_attribute("href")
    assert href == "/api/reports/export?period=2026-11&format=xlsx"


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_agent_is_told_the_reports_are_for_leads(
    hotline: RunningHotline, page: Page
) -> None:
    await hotline.add_agent("1001")
    await log_in(page, hotline, "1001", "pw-1001-secret")
    await expect(page.get_by_test_id("state-badge")).to_be_visible()
    await page.goto(hotline.url("/reports"))
    await expect(page.get_by_test_id("report-error")).to_have_text(
        "只有班长和管理员可以查看统计报表。"
    )
    await expect(page.get_by_test_id("report")).to_be_hidden()
