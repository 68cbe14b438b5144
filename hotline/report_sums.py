"""Closed days' sums for reports: calls and cases read once, summed by the pure tallies of
reports/, and kept, so that a year reads tens of thousands of sums instead of millions of rows
and the figures outlive retention. Days not kept (today, a day whose cases are still open) are
read from the rows themselves each time; a closed day read that way is kept for next time."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases import DeadlinePolicy
from hotline.models import CALL_ROW_COLUMNS, Call
from hotline.report_cases import read_case_rows
from hotline.report_models import (
    AgentCallTallyRow,
    CallTallyDay,
    CallTallyRow,
    CaseTallyDay,
    CaseTallyRow,
    CategoryCaseTallyRow,
)
from reports import CallOptions, CallRow, CallTally, CaseOptions, CaseRow, CaseTally, Period
from reports.sums import CallSums, CaseSums, sum_calls, sum_cases

log = logging.getLogger(__name__)

# A day is kept once it ended this long ago and all of it has an outcome.
GRACE = timedelta(hours=1)
Progress = Callable[[int, int], None]  # days done, days in all
CALL_FIELDS = [f.name for f in fields(CallTally)]
CASE_FIELDS = [f.name for f in fields(CaseTally)]


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days (first, last)."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


@dataclass
class _Progress:
    report: Progress | None
    total: int
    done: int = 0

    def add(self, days: int) -> None:
        self.done += days
        if self.report is not None:
            self.report(self.done, self.total)


class KeptSums:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: ZoneInfo,
        calls: CallOptions,
        cases: CaseOptions,
        policy: DeadlinePolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._zone = zone
        self._call_options = calls
        self._case_options = cases
        self._clock = clock

    def _bounds(self, first: date, last: date) -> tuple[datetime, datetime]:
        return Period.between(first, last).bounds(self._zone)

    def _closed(self, day: date, now: datetime) -> bool:
        return self._bounds(day, day)[1] + GRACE <= now

    async def _kept_days(self, table: Any, wanted: Sequence[date]) -> set[date]:
        async with self._sessions() as db:
            found = await db.scalars(
                select(table.day).where(table.day >= wanted[0], table.day <= wanted[-1])
            )
            return set(found.all()) & set(wanted)

    async def _read(self, table: Any, keys: list[str], names: list[str], first: date, last: date
                    ) -> list[Any]:  # fmt: skip
        columns = [getattr(table, name) for name in [*keys, *names]]
        async with self._sessions() as db:
            connection = await db.connection()
            result = await connection.execute(
                select(*columns).where(table.day >= first, table.day <= last)
            )
            return list(result)

    async def sums(
        self, days: Sequence[date], as_of: datetime, progress: Progress | None = None
    ) -> tuple[CallSums, CaseSums]:
        """The calls and the cases of these local days, summed."""
        wanted = sorted(set(days))
        if not wanted:
            return CallSums(), CaseSums()
        call_kept = await self._kept_days(CallTallyDay, wanted)
        case_kept = await self._kept_days(CaseTallyDay, wanted)
        call_missing = [d for d in wanted if d not in call_kept]
        case_missing = [d for d in wanted if d not in case_kept]
        step = _Progress(progress, 2 * len(wanted))
        step.add(len(call_kept) + len(case_kept))
        calls = await self._kept_call_sums(wanted, call_kept)
        for day in call_missing:
            calls.merge(await self._call_day(day))
            step.add(1)
        cases = await self._kept_case_sums(wanted, case_kept)
        for first, last in _runs(case_missing):
            cases.merge(await self._case_days(first, last, as_of))
            step.add((last - first).days + 1)
        return calls, cases

    # ---- calls ----

    async def _kept_call_sums(self, wanted: Sequence[date], kept: set[date]) -> CallSums:
        sums = CallSums()
        if not kept:
            return sums
        first, last = min(kept), max(kept)
        keys = ["day", "hour", "hotline"]
        for row in await self._read(CallTallyRow, keys, CALL_FIELDS, first, last):
            if row[0] in kept:
                sums.lines[(row[0], row[1], row[2])] = CallTally(*row[3:])
        for row in await self._read(
            AgentCallTallyRow, ["day", "agent_id"], CALL_FIELDS, first, last
        ):
            if row[0] in kept:
                sums.agents[(row[0], row[1])] = CallTally(*row[2:])
        return sums

    async def _call_day(self, day: date) -> CallSums:
        start, end = self._bounds(day, day)
        async with self._sessions() as db:
            connection = await db.connection()
            rows = await connection.execute(
                select(*CALL_ROW_COLUMNS, Call.survey).where(
                    Call.arrived_at >= start, Call.arrived_at < end
                )
            )
            calls = [CallRow(*row) for row in rows]
        sums = sum_calls(calls, self._zone, self._call_options)
        if self._closed(day, self._clock()) and all(c.ended_at is not None for c in calls):
            await self._keep_calls(day, sums, len(calls))
        return sums

    async def _keep_calls(self, day: date, sums: CallSums, calls: int) -> None:
        """Keep a closed day's call sums; a day another process kept first stays as it is."""
        options = self._call_options
        try:
            async with self._sessions() as db, db.begin():
                db.add(
                    CallTallyDay(
                        day=day,
                        calls=calls,
                        answer_seconds=options.answer_seconds,
                        short_abandon_seconds=options.short_abandon_seconds,
                        rolled_at=self._clock(),
                    )
                )
                await db.flush()
                db.add_all(
                    CallTallyRow(day=d, hour=hour, hotline=line, **t.as_dict())
                    for (d, hour, line), t in sums.lines.items()
                )
                db.add_all(
                    AgentCallTallyRow(day=d, agent_id=agent, **t.as_dict())
                    for (d, agent), t in sums.agents.items()
                )
        except IntegrityError:
            log.info("call sums of %s were kept by another process", day)

    # ---- cases ----

    async def case_rows(
        self, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> tuple[list[CaseRow], set[date]]:
        """Tickets accepted in [start, end) as case rows at `as_of` (None: all that is logged),
        and the local days that still have drafts."""
        rows, drafts = await self._case_rows(start, end, [as_of])
        return rows[0], drafts

    async def _case_rows(
        self, start: datetime, end: datetime, moments: Sequence[datetime | None]
    ) -> tuple[list[list[CaseRow]], set[date]]:
        async with self._sessions() as db:
            connection = await db.connection()
            return await read_case_rows(connection, self._zone, self._policy, start, end, moments)

    async def _kept_case_sums(self, wanted: Sequence[date], kept: set[date]) -> CaseSums:
        sums = CaseSums()
        if not kept:
            return sums
        first, last = min(kept), max(kept)
        keys = ["day", "source", "department"]
        for row in await self._read(CaseTallyRow, keys, CASE_FIELDS, first, last):
            if row[0] in kept:
                sums.units[(row[0], row[1], row[2])] = CaseTally(*row[3:])
        keys = ["day", "category"]
        for row in await self._read(CategoryCaseTallyRow, keys, CASE_FIELDS, first, last):
            if row[0] in kept:
                sums.categories[(row[0], row[1])] = CaseTally(*row[2:])
        return sums

    async def _case_days(self, first: date, last: date, as_of: datetime) -> CaseSums:
        start, end = self._bounds(first, last)
        now = self._clock()
        # The report sees the logs up to `as_of`; a day is kept as it stands now.
        moments = [as_of] if as_of >= now else [as_of, now]
        rows, drafts = await self._case_rows(start, end, moments)
        cases, current = rows[0], rows[-1]
        sums = sum_cases(cases, as_of, self._case_options, self._zone)
        by_day: dict[date, list[CaseRow]] = defaultdict(list)
        for case in current:
            by_day[case.accepted_at.astimezone(self._zone).date()].append(case)
        day = first
        while day <= last:
            kept = by_day.get(day, [])
            if (
                self._closed(day, now)
                and day not in drafts
                and all(case.settled(now) for case in kept)
            ):
                await self._keep_cases(day, sum_cases(kept, now, self._case_options, self._zone),
                                       len(kept))  # fmt: skip
            day += timedelta(days=1)
        return sums

    async def _keep_cases(self, day: date, sums: CaseSums, cases: int) -> None:
        try:
            async with self._sessions() as db, db.begin():
                db.add(
                    CaseTallyDay(
                        day=day,
                        cases=cases,
                        forward_minutes=self._case_options.forward_minutes,
                        rolled_at=self._clock(),
                    )
                )
                await db.flush()
                db.add_all(
                    CaseTallyRow(day=d, source=source, department=dept, **_case_values(t))
                    for (d, source, dept), t in sums.units.items()
                )
                db.add_all(
                    CategoryCaseTallyRow(day=d, category=category, **_case_values(t))
                    for (d, category), t in sums.categories.items()
                )
        except IntegrityError:
            log.info("case sums of %s were kept by another process", day)

    # ---- upkeep ----

    async def keep_closed_days(self, back_days: int = 40) -> int:
        """Sum the recent closed days not kept yet (the server runs this); how many were."""
        today = self._clock().astimezone(self._zone).date()
        days = [today - timedelta(days=n) for n in range(back_days, 0, -1)]
        before = len(await self._kept_days(CallTallyDay, days))
        before += len(await self._kept_days(CaseTallyDay, days))
        await self.sums(days, self._clock())
        after = len(await self._kept_days(CallTallyDay, days))
        after += len(await self._kept_days(CaseTallyDay, days))
        return after - before

    async def forget(self, first: date, last: date) -> None:
        """Drop the kept sums of these days (to be summed again from the rows still kept)."""
        async with self._sessions() as db, db.begin():
            for table in (
                CallTallyRow,
                AgentCallTallyRow,
                CallTallyDay,
                CaseTallyRow,
                CategoryCaseTallyRow,
                CaseTallyDay,
            ):
                await db.execute(delete(table).where(table.day >= first, table.day <= last))


def _case_values(tally: CaseTally) -> dict[str, int]:
    return {name: getattr(tally, name) for name in CASE_FIELDS}
