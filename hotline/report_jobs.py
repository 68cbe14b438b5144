"""The server's report jobs: sum each closed day's calls, and keep each closed month's report
(once: a snapshot row per month, so a restart or a second server does not take it twice).

With several nodes, each `interval_seconds` slot is run by the one node that claims it in
job_runs; the others skip it. No takeover: a slot whose node died is made good by the next
one, since every write is idempotent (a day's sums and a month's snapshot are unique rows)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hotline.job_runs import JobRuns
from hotline.reporting import ReportService
from hotline.tasks import stop_task

log = logging.getLogger(__name__)

JOB = "reports"
# Claimed slots older than this are deleted when a new one is claimed.
KEEP_SLOTS = timedelta(days=2)


def slot_of(now: datetime, interval_seconds: float) -> datetime:
    """The start of the `interval_seconds` slot `now` is in (slots counted from the epoch)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    seconds = (now - epoch).total_seconds()
    return epoch + timedelta(seconds=seconds - seconds % interval_seconds)


class ReportJobs:
    """Runs `first_delay_seconds` after start (start-up is busy enough), then every
    `interval_seconds`; a month closed while the server was down is kept at its next run."""

    def __init__(
        self,
        service: ReportService,
        interval_seconds: float = 900.0,
        first_delay_seconds: float = 60.0,
        runs: JobRuns | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._service = service
        self._runs = runs
        self._clock = clock or (lambda: datetime.now(UTC))
        self._interval = interval_seconds
        self._first_delay = first_delay_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_slot(self) -> bool:
        """Run this slot's pass unless another node has claimed it; True if this node ran it."""
        if self._runs is None:
            await self.run_once()
            return True
        now = self._clock()
        due = slot_of(now, self._interval)
        token = await self._runs.claim(JOB, due, now)
        if token is None:
            return False
        error: str | None = None
        try:
            await self.run_once()
        except Exception as failure:
            error = repr(failure)[:2000]
            raise
        finally:
            await self._runs.finish(JOB, due, token, self._clock(), error)
            await self._runs.prune(JOB, due - KEEP_SLOTS)
        return True

    async def run_once(self) -> None:
        kept = await self._service.kept.keep_closed_days()
        if kept:
            log.info("day sums kept", extra={"days": kept})
        await self._service.keep_closed_month()

    async def _loop(self) -> None:
        await asyncio.sleep(self._first_delay)
        while True:
            try:
                await self.run_slot()
            except Exception:
                log.exception("report job failed; retried at the next run")
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="report-jobs")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
