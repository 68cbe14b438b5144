"""Reports from the database: the kept day sums (hotline/report_sums.py) into reports/, and
each closed month's report kept in `report_snapshots` and read back from there."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases import DeadlinePolicy
from hotline.case_policy import deadline_policy
from hotline.config import HotlineConfig, NlpConfig
from hotline.report_models import ReportSnapshot
from hotline.report_sums import KeptSums, Progress
from nlp.rules import read_directory
from reports import CallOptions, CaseOptions, Labels, Period
from reports.indicators import Indicator
from reports.periods import PeriodKind
from reports.report import Report, build_report, figures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportSettings:
    centre: str
    zone: ZoneInfo
    calls: CallOptions
    cases: CaseOptions
    labels: Labels
    policy: DeadlinePolicy  # the case machine's deadlines, for the cases' report rows
    snapshot_after: timedelta = timedelta(hours=2)
    top_categories: int = 15


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
        self.kept = KeptSums(
            sessions, settings.zone, settings.calls, settings.cases, settings.policy, clock
        )

    def now(self) -> datetime:
        return self._clock()

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
        calls, cases = await self.kept.sums(days, as_of, progress)

        def earlier_figures(p: Period) -> dict[str, Indicator] | None:
            if p in kept_earlier:
                return kept_earlier[p]
            return figures(calls, cases, p, settings.calls, settings.cases).by_key()

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
        policy=deadline_policy(config),
        snapshot_after=timedelta(hours=config.reports.snapshot_after_hours),
        top_categories=config.reports.top_categories,
    )
