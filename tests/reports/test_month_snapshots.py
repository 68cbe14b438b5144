"""A closed month's report is kept once, at month end, and its figures no longer change when
the calls and tickets it was made from are purged (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from hotline.config import HotlineConfig
from hotline.db import create_engine, session_factory
from hotline.models import Call, Ticket
from hotline.report_jobs import ReportJobs
from hotline.report_models import CaseTallyDay, ReportSnapshot
from hotline.reporting import ReportService, report_settings
from reports import Period
from tests.reports.seed import store_month

ZONE = ZoneInfo("Asia/Shanghai")
NOVEMBER = Period.month(2026, 11)


def service_at(url: str, moment: datetime) -> tuple[ReportService, object]:
    engine = create_engine(url)
    settings = report_settings(HotlineConfig(), {"SANITATION": "环卫"})
    return ReportService(session_factory(engine), settings, lambda: moment), engine


def test_the_month_to_keep_waits_for_the_month_to_close(tmp_path: Path) -> None:
    service, _ = service_at(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", datetime.now(UTC))
    # Kept 2 hours ([reports] snapshot_after_hours) after local midnight of 1 December.
    early = datetime(2026, 12, 1, 1, 59, tzinfo=ZONE)
    late = datetime(2026, 12, 1, 2, 0, tzinfo=ZONE)
    assert service.month_to_keep(early) == Period.month(2026, 10)
    assert service.month_to_keep(late) == NOVEMBER
    assert service.month_to_keep(datetime(2027, 1, 15, tzinfo=ZONE)) == Period.month(2026, 12)


async def test_a_closed_month_is_kept_once_and_outlives_retention(database_url: str) -> None:
    first, engine = service_at(database_url, datetime(2026, 12, 1, 3, tzinfo=ZONE))
    sessions = session_factory(engine)  # type: ignore[arg-type]
    await store_month(sessions)
    try:
        await ReportJobs(first).run_once()
        # The server restarts (or a second one runs): the month is not kept twice.
        second, engine2 = service_at(database_url, datetime(2026, 12, 1, 4, tzinfo=ZONE))
        try:
            assert await second.keep_closed_month() is None
            await ReportJobs(second).run_once()
        finally:
            await engine2.dispose()  # type: ignore[attr-defined]
        async with sessions() as db:
            kept = (await db.scalars(select(ReportSnapshot))).all()
        assert [(s.kind, s.period) for s in kept] == [("month", "2026-11")]

        before = await first.report(NOVEMBER)
        assert before.snapshot
        assert before.indicator("calls_offered").value == 7
        assert before.indicator("cases_accepted").value == 9

        # Retention purges the month's calls and tickets.
        async with sessions() as db, db.begin():
            await db.execute(Ticket.__table__.update().values(merged_into=None))
            await db.execute(delete(Ticket))
            await db.execute(delete(Call))
            assert await db.scalar(select(func.count()).select_from(Call)) == 0
        after = await first.report(NOVEMBER)
        assert after.to_json() == before.to_json()
        # Recomputed, the month still adds up: its days' sums were kept (tickets are settled
        # once saved). Forgetting them leaves only what retention left: nothing.
        live = await first.report(NOVEMBER, live=True)
        assert live.indicator("cases_accepted").value == 9
        assert live.indicator("calls_offered").value == 7
        await first.kept.forget(NOVEMBER.first, NOVEMBER.last)
        bare = await first.report(NOVEMBER, live=True)
        assert bare.indicator("cases_accepted").value == 0
        assert bare.indicator("calls_offered").value == 0
        # December compares with the kept November (环比), not with what is left of it.
        december = await first.report(Period.month(2026, 12), live=True)
        moved = next(x for x in december.lines if x.indicator.key == "cases_accepted")
        assert moved.month_on_month.before == 9
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


async def test_a_day_with_an_uncompleted_voicemail_is_not_summed_until_it_is(
    database_url: str,
) -> None:
    """A voicemail's draft ticket is accepted only when an agent completes it, maybe days
    later: its day must not be summed (and frozen) before that."""
    service, engine = service_at(database_url, datetime(2026, 12, 1, 3, tzinfo=ZONE))
    sessions = session_factory(engine)  # type: ignore[arg-type]
    await store_month(sessions)
    day = datetime(2026, 11, 20, 9, tzinfo=ZONE)
    try:
        async with sessions() as db, db.begin():
            db.add(
                Ticket(
                    number="VM-1",
                    hotline="12319",
                    caller_name="",
                    phone="13800138000",
                    address="",
                    description="",
                    department_code="",
                    status="draft",
                    created_at=day,
                )
            )
        await ReportJobs(service).run_once()
        async with sessions() as db:
            kept = set((await db.scalars(select(CaseTallyDay.day))).all())
        assert day.date() not in kept and datetime(2026, 11, 19).date() in kept
        before = await service.report(NOVEMBER, live=True)
        assert before.indicator("cases_accepted").value == 9  # the draft is not accepted yet

        async with sessions() as db, db.begin():
            ticket = await db.scalar(select(Ticket).where(Ticket.number == "VM-1"))
            assert ticket is not None
            ticket.status, ticket.department_code = "accepted", "SANITATION"
        await ReportJobs(service).run_once()
        async with sessions() as db:
            kept = set((await db.scalars(select(CaseTallyDay.day))).all())
        assert day.date() in kept
        after = await service.report(NOVEMBER, live=True)
        assert after.indicator("cases_accepted").value == 10
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
