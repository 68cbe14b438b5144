"""A small month of cases driven through the real API — tickets saved and forwarded to a real
HTTP dispatch core, its status events posted signed, 改派/不予受理/退回12345 and 回访 outcomes
recorded by a lead — then `hotline report --month 2026-03 --format csv` and the reports API
checked against figures worked out by hand (SQLite and PostgreSQL).

The hotline runs on a clock the test sets, in March 2026 (no holiday: working days are Monday
to Friday; general cases have 5 working days). The month (CST):

  A 12319 2 Mar 09:00  派遣 MUNICIPAL, 已处置 4 Mar 10:00, 结案 4 Mar 12:00, 回访 满意
  B 12319 2 Mar 10:00  派遣, 退单, 改派 LANDSCAPE, 派遣, 已处置 6 Mar 09:00 (deadline 9 Mar
                       10:00), 结案, 回访 基本满意
  C 12319 3 Mar 09:00  派遣, 延期 to 11 Mar (deadline 12 Mar 00:00), 已处置 13 Mar: late;
                       结案 13 Mar; 回访 未接通 then 满意 (the last counts)
  D 12319 4 Mar 09:00  已处置, 结案, 回访 不满意 → 重办 (deadline 13 Mar 10:00), 已处置
                       10 Mar 10:00, 结案, 回访 满意
  E 12319 2 Mar 11:00  并单 into A: 办结 when A is
  F 12319 5 Mar 09:00  派遣 SANITATION, 退单, 不予受理
  G 12345 6 Mar 09:00  a 12345 hand-off, 退回12345
  H 12319 9 Mar 09:00  派遣 and nothing since: past its deadline (16 Mar 09:00), open
  I 12319 10 Mar 09:00 已处置, 结案, 回访 不满意 → 重办 (deadline 19 Mar 10:00), nothing since
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from dispatch.sender import sign_body
from hotline.wiring import build_system
from tests.conftest import RunningHotline, hotline_config
from tests.support.core_events import post_event, post_raw
from tests.support.dispatch_core import DispatchCoreStub
from tests.support.peers import ConsoleClient, open_console

ZONE = ZoneInfo("Asia/Shanghai")
FORM = {
    "hotline": "12319",
    "caller_name": "张先生",
    "phone": "13800138000",
    "address": "幸福路12号",
    "description": "小区门口井盖缺失",
    "department_code": "MUNICIPAL",
    "category_code": "01001",
}
HANDOFF = {
    "external_number": "12345-2026-000777",
    "caller_name": "王女士",
    "phone": "13700001234",
    "address": "人民路8号",
    "description": "12345转来：楼道堆物",
    "department_code": "SANITATION",
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=ZONE)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@pytest.fixture
async def clocked(database_url: str) -> AsyncIterator[tuple[RunningHotline, Clock]]:
    clock = Clock(at(2, 8))
    dispatch = DispatchCoreStub()
    dispatch_server = TestServer(dispatch.app(), host="127.0.0.1")
    await dispatch_server.start_server()
    config = hotline_config(database_url, str(dispatch_server.make_url("/cases")))
    system = build_system(config, clock)
    console = TestServer(system.app, host="127.0.0.1")
    await console.start_server()
    try:
        yield RunningHotline(system, console, dispatch), clock
    finally:
        await console.close()
        await dispatch_server.close()


async def until(probe: Any, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await probe():
            await asyncio.sleep(0.05)


class Month:
    """Drives the cases through the API at the moments the test sets."""

    def __init__(self, hotline: RunningHotline, clock: Clock, agent: ConsoleClient,
                 lead: ConsoleClient, http: aiohttp.ClientSession) -> None:  # fmt: skip
        self.hotline, self.clock, self.agent, self.lead, self.http = (
            hotline,
            clock,
            agent,
            lead,
            http,
        )

    async def at(self, moment: datetime) -> None:
        """Move the clock on; sessions expire meanwhile, so both log in again."""
        self.clock.now = moment
        for client in (self.agent, self.lead):
            client.token = await self.hotline.login(self.http, client.agent_id)

    async def state(self, number: str) -> str:
        async with self.http.get(
            self.hotline.url(f"/api/tickets/{number}"),
            headers={"Authorization": f"Bearer {self.lead.token}"},
        ) as response:
            return str((await response.json())["state"])

    async def save(self, moment: datetime, **changes: str) -> str:
        await self.at(moment)
        status, ticket = await self.agent.post("/api/tickets", {**FORM, **changes})
        assert status == 201, ticket
        number = str(ticket["number"])
        if "merge_into" not in changes:  # the core acknowledges it while the clock stands
            await until(lambda: self._is(number, "forwarded"))
        return number

    async def _is(self, number: str, state: str) -> bool:
        return await self.state(number) == state

    async def core(self, number: str, kind: str, moment: datetime, **fields: str) -> None:
        status, body = await post_event(
            self.http, self.hotline, number, kind, at=moment.isoformat(), **fields
        )
        assert status == 200 and body["applied"], body

    async def act(self, number: str, moment: datetime, **body: str) -> None:
        await self.at(moment)
        status, answer = await self.lead.post(f"/api/tickets/{number}/actions", body)
        assert status == 200, answer

    async def visit(self, number: str, outcome: str, moment: datetime) -> None:
        await self.at(moment)
        status, answer = await self.lead.post(f"/api/tickets/{number}/visit", {"outcome": outcome})
        assert status == 200, answer

    async def loop(self, number: str, handled: datetime, closed: datetime, **fields: str) -> None:
        await self.core(number, "handled", handled)
        await self.core(number, "closed", closed)


def report_csv(url: str) -> dict[str, dict[str, str]]:
    env = {**os.environ, "HOTLINE_DATABASE_URL": url, "HOTLINE_NLP_MODEL_PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "report", "--month", "2026-03", "--format", "csv"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {row["indicator"]: row for row in csv.DictReader(io.StringIO(done.stdout))}


# indicator → (numerator or count, denominator), worked out by hand from the docstring.
BY_HAND: dict[str, tuple[str, str]] = {
    "受理量": ("9", ""),
    "立案量": ("6", ""),  # A B C D H I (E merged, F rejected, G sent back)
    "立案率": ("6", "9"),
    "10分钟派遣率": ("6", "6"),  # each acknowledged by the core as it was saved
    "应处置量": ("6", ""),  # A B C D handled; H and I past their deadline
    "处置量": ("4", ""),  # I's handling was undone by its 重办
    "处置率": ("4", "6"),
    "按期处置量": ("3", ""),  # A B D (D by its 重办 deadline); C after even its 延期
    "按期处置率": ("3", "6"),
    "超期量": ("3", ""),  # C late, H and I not handled
    "结案量": ("4", ""),
    "结案率": ("4", "6"),
    "按期结案率": ("3", "6"),  # C closed 13 Mar, after its deadline
    "办结量": ("7", ""),  # A B C D, E with A, F 不予受理, G 退回
    "办结率": ("7", "9"),
    "并单量": ("1", ""),
    "不予受理量": ("1", ""),
    "退单量": ("2", ""),  # B and F
    "延期量": ("1", ""),  # C
    "重办量": ("2", ""),  # D and I
    "回访接通量": ("5", ""),  # A 满意, B 基本满意, C 满意 (after 未接通), D 满意, I 不满意
    "回访未接通量": ("0", ""),
    "满意率": ("4", "5"),
    "不满意量": ("1", ""),
}


def figure(row: dict[str, str]) -> tuple[str, str]:
    if row["denominator"]:
        return row["numerator"], row["denominator"]
    return row["value"], ""


async def test_a_month_of_cases_through_the_api_reports_as_worked_out_by_hand(
    clocked: tuple[RunningHotline, Clock], database_url: str
) -> None:
    hotline, clock = clocked
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        agent = await open_console(hotline, http, "1001")
        lead = await open_console(hotline, http, "9001")
        m = Month(hotline, clock, agent, lead, http)

        # In the order it happened (the clock only moves on).
        a = await m.save(at(2, 9))
        await m.core(a, "dispatched", at(2, 9, 30), department="MUNICIPAL")
        b = await m.save(at(2, 10))
        await m.core(b, "dispatched", at(2, 10, 30), department="MUNICIPAL")
        e = await m.save(at(2, 11), merge_into=a)
        assert await m.state(e) == "merged"
        await m.core(b, "returned", at(2, 15), reason="绿化带内，不属本部门")
        await m.act(b, at(2, 16), action="reassign", department="LANDSCAPE", reason="改派园林")
        await m.core(b, "dispatched", at(3, 9), department="LANDSCAPE")
        c = await m.save(at(3, 9))
        await m.core(c, "dispatched", at(3, 9, 20), department="MUNICIPAL")
        d = await m.save(at(4, 9))
        await m.core(d, "dispatched", at(4, 9, 10), department="MUNICIPAL")
        await m.loop(a, at(4, 10), at(4, 12))
        f = await m.save(at(5, 9), department_code="SANITATION")
        await m.core(f, "dispatched", at(5, 9, 15), department="SANITATION")
        await m.loop(d, at(5, 10), at(5, 11))
        await m.core(f, "returned", at(5, 14), reason="属民事纠纷")
        await m.act(f, at(5, 15), action="reject", reason="不属城管受理范围")
        await m.visit(a, "satisfied", at(5, 16))
        await m.loop(b, at(6, 9), at(6, 10))
        await m.at(at(6, 9, 10))
        body = json.dumps(HANDOFF, ensure_ascii=False).encode()
        status, handed = await post_raw(
            http, hotline, body, sign_body("handoff-secret", body), path="/api/handoff/12345"
        )
        assert status == 201, handed
        g = handed["number"]
        await m.act(g, at(6, 9, 30), action="send_back", reason="属住建部门职责")
        await m.visit(d, "unsatisfied", at(6, 10))  # 重办: 5 working days from now
        await m.core(d, "dispatched", at(6, 11), department="MUNICIPAL")
        h = await m.save(at(9, 9))
        await m.core(h, "dispatched", at(9, 9, 30), department="MUNICIPAL")
        await m.core(
            c, "extension_requested", at(9, 10), reason="待采购", new_deadline="2026-03-11"
        )
        await m.visit(b, "fairly_satisfied", at(9, 10))
        i = await m.save(at(10, 9))
        await m.core(i, "dispatched", at(10, 9, 10), department="MUNICIPAL")
        await m.loop(d, at(10, 10), at(10, 11))
        await m.loop(i, at(11, 10), at(11, 11))
        await m.visit(d, "satisfied", at(11, 14))
        await m.visit(i, "unsatisfied", at(12, 10))
        await m.loop(c, at(13, 10), at(13, 11))
        await m.visit(c, "unreached", at(16, 10))
        await m.visit(c, "satisfied", at(16, 14))
        for number, state in [(a, "closed"), (b, "closed"), (c, "closed"), (d, "closed"),
                              (e, "merged"), (f, "rejected"), (g, "sent_back"),
                              (h, "dispatched"), (i, "forwarded")]:  # fmt: skip
            assert await m.state(number) == state, number

        # The console's report, as of 1 December (every March day closed).
        await m.at(datetime(2026, 12, 1, 9, tzinfo=ZONE))
        async with http.get(
            hotline.url("/api/reports?period=2026-03&live=1"),
            headers={"Authorization": f"Bearer {lead.token}"},
        ) as response:
            assert response.status == 200
            report = await response.json()
    api = {line["name"]: line for line in report["indicators"]}
    for name, (value, denominator) in BY_HAND.items():
        line = api[name]
        got = (line["numerator"], line["denominator"]) if denominator else (line["value"], None)
        want = (float(value), float(denominator)) if denominator else (float(value), None)
        assert got == want, name
    departments = {
        row["label"]: {v["key"]: v["value"] for v in row["values"]}
        for row in report["breakdowns"]["cases_by_department"]["rows"]
    }
    (landscape,) = [v for label, v in departments.items() if "园林" in label]
    assert (landscape["cases_filed"], landscape["cases_returned"]) == (1, 1)  # B, after 改派
    (municipal,) = [v for label, v in departments.items() if "市政" in label]
    assert (municipal["cases_filed"], municipal["cases_due"], municipal["cases_overdue"]) == (
        5,
        5,
        3,
    )

    # The command line, as of now: the same figures; run twice, the second from kept sums.
    first = await asyncio.to_thread(report_csv, database_url)
    assert {name: figure(first[name]) for name in BY_HAND} == BY_HAND
    second = await asyncio.to_thread(report_csv, database_url)
    assert {name: figure(second[name]) for name in BY_HAND} == BY_HAND
