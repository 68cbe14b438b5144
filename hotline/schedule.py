"""Daily jobs of the server (retention, backups): when the next run is (pure), and a loop that
waits for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.config import ConfigError
from hotline.tasks import stop_task

log = logging.getLogger(__name__)


def parse_time_of_day(text: str, where: str) -> time:
    """ "HH:MM" as a time; ConfigError otherwise."""
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{where}: expected HH:MM, got {text!r}") from None


def next_daily(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first moment after `now` when the local clock of `zone` shows `at`."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(now.tzinfo)


class DailyJob:
    """Runs `job(now)` every day at a local time, for as long as the server runs. A failed run
    is logged and tried again the next day; the loop itself never dies of it."""

    def __init__(
        self,
        name: str,
        job: Callable[[datetime], Awaitable[object]],
        at: time,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._job, self._at, self._zone = job, at, zone
        self._clock, self._sleep = clock, sleep
        self._task: asyncio.Task[None] | None = None

    async def run_forever(self) -> None:
        while True:
            now = self._clock()
            due = next_daily(now, self._at, self._zone)
            await self._sleep((due - now).total_seconds())
            try:
                await self._job(self._clock())
            except Exception:
                log.exception("daily job failed", extra={"job": self.name})

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run_forever(), name=self.name)

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
