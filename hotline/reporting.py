"""Reports from the database: call rows (or their daily rollups) and cases into reports/.

A closed day's calls are summed once into `call_tallies` (by the pure tally of reports/calls.py)
so that a year's report reads a few hundred thousand sums instead of millions of calls, and so
that those sums outlive retention; the open day is always read from the calls themselves.
A closed month's report is kept in `report_snapshots` and read back from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config import HotlineConfig, NlpConfig
from hotline.models import (
    AgentCallTallyRow,
    Call,
    CallTallyDay,
    CallTallyRow,
    ReportSnapshot,
    Ticket,
)
from nlp.rules import read_directory
from reports import CallOptions, CallRow, CallTally, CaseOptions, CaseRow, Labels, Period
from reports.calls import VOICEMAIL_REASON
from reports.indicators import Indicator
from reports.periods import PeriodKind
from reports.report import Report, build_report, figures
from reports.sums import CallSums, sum_calls

log = logging.getLogger(__name__)

# A day is summed for good once it ended this long ago and every call of it has an outcome.
ROLLUP_GRACE = timedelta(hours=1)
DRAFT = "draft"  # a voicemail's ticket nobody has completed yet: not accepted
Progress = Callable[[int, int], None]  # days done, days in all


@dataclass(frozen=True)
class ReportSettings:
    centre: str
    zone: ZoneInfo
    calls: CallOptions
    cases: CaseOptions
    labels: Labels
    snapshot_after: timedelta = timedelta(hours=2)
    top_categories: int = 15


TALLY_FIELDS = [f.name for f in fields(CallTally)]


class ReportService:
    """Builds reports of any period; keeps closed days' sums and closed months' snapshots."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: ReportSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self.settings = settings
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    # ---- calls ----

    def _day_bounds(self, day: date) -> tuple[datetime, datetime]:
        return Period.day(day).bounds(self.settings.zone)

    async def _raw_calls(self, db: AsyncSession, day: date) -> list[CallRow]:
        start, end = self._day_bounds(day)
        rows = await (await db.connection()).execute(
            select(
                Call.id,
                Call.queue,
                Call.agent_id,
                Call.arrived_at,
                Call.connected_at,
                Call.ended_at,
                Call.end_reason,
                Call.dialled,
            ).where(Call.arrived_at >= start, Call.arrived_at < end)
        )
        return [CallRow(*row) for row in rows]

    async def _roll_up(self, day: date, sums: CallSums, calls: int) -> None:
        """Keep a closed day's sums; a day another process summed first is left as it is."""
        options = self.settings.calls
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
            log.info("call tallies of %s were summed by another process", day)

    async def _kept_sums(self, first: date, last: date, wanted: set[date]) -> CallSums:
        columns = [getattr(CallTallyRow, name) for name in TALLY_FIELDS]
        agent_columns = [getattr(AgentCallTallyRow, name) for name in TALLY_FIELDS]
        sums = CallSums()
        async with self._sessions() as db:
            rows = await (await db.connection()).execute(
                select(CallTallyRow.day, CallTallyRow.hour, CallTallyRow.hotline, *columns).where(
                    CallTallyRow.day >= first, CallTallyRow.day <= last
                )
            )
            for row in rows:
                if row[0] in wanted:
                    sums.lines[(row[0], row[1], row[2])] = CallTally(*row[3:])
            rows = await (await db.connection()).execute(
                select(AgentCallTallyRow.day, AgentCallTallyRow.agent_id, *agent_columns).where(
                    AgentCallTallyRow.day >= first, AgentCallTallyRow.day <= last
                )
            )
            for row in rows:
                if row[0] in wanted:
                    sums.agents[(row[0], row[1])] = CallTally(*row[2:])
        return sums

    async def call_sums(self, days: Sequence[date], progress: Progress | None = None) -> CallSums:
        """The calls of these local days, summed: kept sums for closed days, the calls
        themselves for the others (a closed day read that way is kept for next time)."""
        wanted = sorted(set(days))
        if not wanted:
            return CallSums()
        async with self._sessions() as db:
            rolled = set(
                (
                    await db.scalars(
                        select(CallTallyDay.day).where(
                            CallTallyDay.day >= wanted[0], CallTallyDay.day <= wanted[-1]
                        )
                    )
                ).all()
            )
        rolled &= set(wanted)
        sums = await self._kept_sums(wanted[0], wanted[-1], rolled) if rolled else CallSums()
        missing = [day for day in wanted if day not in rolled]
        done = len(wanted) - len(missing)
        if progress is not None:
            progress(done, len(wanted))
        now = self._clock()
        for day in missing:
            async with self._sessions() as db:
                calls = await self._raw_calls(db, day)
            summed = sum_calls(calls, self.settings.zone, self.settings.calls)
            sums.merge(summed)
            closed = self._day_bounds(day)[1] + ROLLUP_GRACE <= now
            if closed and all(call.ended_at is not None for call in calls):
                await self._roll_up(day, summed, len(calls))
            done += 1
            if progress is not None:
                progress(done, len(wanted))
        return sums

    async def roll_up_closed_days(self, back_days: int = 40) -> int:
        """Sum the recent closed days not summed yet (the server runs this hourly)."""
        today = self._clock().astimezone(self.settings.zone).date()
        days = [today - timedelta(days=n) for n in range(1, back_days + 1)]
        async with self._sessions() as db:
            rolled = set(
                await db.scalars(select(CallTallyDay.day).where(CallTallyDay.day >= days[-1]))
            )
        missing = [day for day in days if day not in rolled]
        before = len(missing)
        await self.call_sums(missing)
        async with self._sessions() as db:
            now_rolled = await db.scalar(
                select(func.count()).select_from(CallTallyDay).where(CallTallyDay.day >= days[-1])
            )
        return int(now_rolled or 0) - (len(days) - before)

    async def forget_tallies(self, first: date, last: date) -> None:
        """Drop the sums of these days (to be summed again from the calls still kept)."""
        async with self._sessions() as db, db.begin():
            for table in (CallTallyRow, AgentCallTallyRow):
                await db.execute(delete(table).where(table.day >= first, table.day <= last))
            await db.execute(
                delete(CallTallyDay).where(CallTallyDay.day >= first, CallTallyDay.day <= last)
            )

    # ---- cases ----

    async def case_rows(self, start: datetime, end: datetime) -> list[CaseRow]:
        """Tickets accepted in [start, end) as case rows (drafts are not accepted yet)."""
        async with self._sessions() as db:
            rows = await (await db.connection()).execute(
                select(
                    Ticket.number,
                    Ticket.created_at,
                    Ticket.hotline,
                    Ticket.department_code,
                    Ticket.category_code,
                    Ticket.merged_into,
                    Call.end_reason,
                )
                .outerjoin(Call, Ticket.call_id == Call.id)
                .where(Ticket.created_at >= start, Ticket.created_at < end, Ticket.status != DRAFT)
            )
            return [
                CaseRow(
                    number,
                    accepted_at,
                    "voicemail" if reason == VOICEMAIL_REASON else hotline,
                    department or None,
                    category or None,
                    merged_into=merged_into,
                )
                for number, accepted_at, hotline, department, category, merged_into, reason in rows
            ]

    # ---- reports ----

    async def snapshot(self, period: Period) -> Report | None:
        if period.kind is not PeriodKind.MONTH:
            return None
        async with self._sessions() as db:
            body = await db.scalar(
                select(ReportSnapshot.body).where(
                    ReportSnapshot.kind == period.kind.value, ReportSnapshot.period == period.key
                )
            )
        return None if body is None else Report.from_json(body)

    async def report(
        self,
        period: Period,
        progress: Progress | None = None,
        *,
        live: bool = False,
        as_of: datetime | None = None,
    ) -> Report:
        """The report of `period`: a closed month's snapshot, unless `live` asks to recompute
        it; the months it is compared with are read from their snapshots when kept."""
        if not live:
            kept = await self.snapshot(period)
            if kept is not None:
                return kept
        settings = self.settings
        as_of = as_of or self._clock()
        compared = [period.previous(), period.year_ago()]
        kept_earlier: dict[Period, dict[str, Indicator]] = {}
        to_compute = [period]
        for earlier in compared:
            # Earlier closed months compare as they were kept, even when `period` is live.
            snapshot = await self.snapshot(earlier)
            if snapshot is not None:
                kept_earlier[earlier] = {
                    line.indicator.key: line.indicator for line in snapshot.lines
                }
            else:
                to_compute.append(earlier)
        days = [day for p in to_compute for day in p.days_in()]
        calls = await self.call_sums(days, progress)
        start = min(p.bounds(settings.zone)[0] for p in to_compute)
        end = max(p.bounds(settings.zone)[1] for p in to_compute)
        cases = await self.case_rows(start, end)

        def earlier_figures(p: Period) -> dict[str, Indicator] | None:
            if p in kept_earlier:
                return kept_earlier[p]
            f = figures(calls, cases, p, as_of, settings.calls, settings.cases, settings.zone)
            return f.by_key()

        return build_report(
            settings.centre,
            period,
            as_of,
            calls,
            cases,
            settings.calls,
            settings.cases,
            settings.zone,
            settings.labels,
            earlier=earlier_figures,
            top_categories=settings.top_categories,
        )

    def month_to_keep(self, now: datetime) -> Period | None:
        """The last closed month, once `snapshot_after` has passed since it closed."""
        local = now.astimezone(self.settings.zone)
        month = Period.month(local.year, local.month).previous()
        if now < month.bounds(self.settings.zone)[1] + self.settings.snapshot_after:
            month = month.previous()
        return month

    async def keep_closed_month(self) -> Period | None:
        """Take the last closed month's snapshot if nobody has; the month, or None if kept."""
        month = self.month_to_keep(self._clock())
        if month is None or await self.snapshot(month) is not None:
            return None
        report = await self.report(month, live=True)
        body = {**report.to_json(), "snapshot": True}
        try:
            async with self._sessions() as db, db.begin():
                db.add(
                    ReportSnapshot(
                        kind=month.kind.value,
                        period=month.key,
                        created_at=self._clock(),
                        body=body,
                    )
                )
        except IntegrityError:
            return None  # another process kept it first
        log.info("month report kept", extra={"period": month.key})
        return month


def category_names(config: NlpConfig) -> dict[str, str]:
    """Category code → name from the management-item directory the classifier reads."""
    data = files("nlp").joinpath("data")
    override = Path(config.data_dir) / "management_items.csv" if config.data_dir else None
    if override is not None and override.is_file():
        text = override.read_text(encoding="utf-8")
    else:
        text = data.joinpath("management_items.csv").read_text(encoding="utf-8")
    return read_directory(text)


def report_settings(config: HotlineConfig, departments: Mapping[str, str]) -> ReportSettings:
    """What reports need from the config: names, thresholds, the centre's timezone."""
    return ReportSettings(
        centre=config.centre.name,
        zone=ZoneInfo(config.centre.timezone),
        calls=CallOptions(config.metrics.answer_seconds, config.metrics.short_abandon_seconds),
        cases=CaseOptions(config.reports.forward_minutes),
        labels=Labels(departments=dict(departments), categories=category_names(config.nlp)),
        snapshot_after=timedelta(hours=config.reports.snapshot_after_hours),
        top_categories=config.reports.top_categories,
    )
