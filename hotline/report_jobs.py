"""The server's report jobs: sum each closed day's calls, and keep each closed month's report
(once: a snapshot row per month, so a restart or a second server does not take it twice)."""

from __future__ import annotations

import asyncio
import logging

from hotline.reporting import ReportService
from hotline.tasks import stop_task

log = logging.getLogger(__name__)


class ReportJobs:
    """Runs `first_delay_seconds` after start (start-up is busy enough), then every
    `interval_seconds`; a month closed while the server was down is kept at its next run."""

    def __init__(
        self,
        service: ReportService,
        interval_seconds: float = 900.0,
        first_delay_seconds: float = 60.0,
    ) -> None:
        self._service = service
        self._interval = interval_seconds
        self._first_delay = first_delay_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> None:
        kept = await self._service.kept.keep_closed_days()
        if kept:
            log.info("day sums kept", extra={"days": kept})
        await self._service.keep_closed_month()

    async def _loop(self) -> None:
        await asyncio.sleep(self._first_delay)
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("report job failed; retried at the next run")
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="report-jobs")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
