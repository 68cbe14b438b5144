"""Daily jobs of the server (retention, backups): when the next run is (pure), and a loop that
waits for it. With several nodes on one database each run happens once (hotline/job_runs.py):
the node that claims it runs it, a run whose node died is taken over, and a node starting
after a run's time that nobody finished runs it then (catch-up)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.config import ConfigError
from hotline.job_runs import HEARTBEAT, STALE_AFTER, Decision, JobRuns, decide, look_again_at
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


def last_daily(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The last moment at or before `now` when the local clock of `zone` showed `at`."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate > local:
        candidate = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(now.tzinfo)


class DailyJob:
    """Runs `job(now)` every day at a local time, for as long as the server runs. A failed run
    is logged and tried again the next day; the loop itself never dies of it.

    With `runs` (the job_runs table) a run happens once whichever nodes share the database,
    and on start the last run due is caught up if nobody finished it; without, this process
    runs every one itself."""

    def __init__(
        self,
        name: str,
        job: Callable[[datetime], Awaitable[object]],
        at: time,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        runs: JobRuns | None = None,
        heartbeat: timedelta = HEARTBEAT,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.name = name
        self._job, self._at, self._zone = job, at, zone
        self._clock, self._sleep = clock, sleep
        self._runs = runs
        self._heartbeat, self._stale_after = heartbeat, stale_after
        self._task: asyncio.Task[None] | None = None

    async def run_forever(self) -> None:
        if self._runs is not None:
            await self._guarded(self.run_due(last_daily(self._clock(), self._at, self._zone), True))
        while True:
            now = self._clock()
            due = next_daily(now, self._at, self._zone)
            await self._sleep((due - now).total_seconds())
            if self._runs is None:
                await self._guarded(self._job(self._clock()))
            else:
                await self._guarded(self.run_due(due))

    async def _guarded(self, work: Awaitable[object]) -> None:
        try:
            await work
        except Exception:
            log.exception("daily job failed", extra={"job": self.name})

    async def run_due(self, due: datetime, catching_up: bool = False) -> bool:
        """Run the run due at `due` unless another node has it (or had it); True if this
        node ran it. A run another node holds is looked at again when it could go stale."""
        runs = self._runs
        assert runs is not None
        while True:
            now = self._clock()
            run = await runs.state(self.name, due)
            history = True
            if run is None and catching_up:
                history = await runs.has_history(self.name)
            decision = decide(
                run, now, self._stale_after, catching_up=catching_up, has_history=history
            )
            if decision in (Decision.DONE, Decision.SKIP):
                return False
            if decision is Decision.HELD:
                assert run is not None
                await self._sleep(
                    max(0.0, (look_again_at(run, self._stale_after) - now).total_seconds())
                )
                continue
            if decision is Decision.RUN:
                token = await runs.claim(self.name, due, now)
            else:
                assert run is not None
                log.warning(
                    "daily job run taken over from a silent node",
                    extra={"job": self.name, "node": run.node},
                )
                token = await runs.take_over(self.name, due, run.token, now)
            if token is None:
                continue  # another node was quicker: look again
            await self._run_held(runs, due, token)
            return True

    async def _run_held(self, runs: JobRuns, due: datetime, token: str) -> None:
        """Run the job while beating its row; stop it if another node took the run over."""

        async def job() -> object:
            return await self._job(self._clock())

        work = asyncio.create_task(job(), name=f"{self.name}-run")
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=self._heartbeat.total_seconds())
                if done:
                    break
                try:
                    ours = await runs.beat(self.name, due, token, self._clock())
                except Exception:  # the database briefly away: the run goes on, beat again
                    log.warning("daily job heartbeat failed", extra={"job": self.name})
                    continue
                if not ours:
                    log.error(
                        "daily job run taken over by another node; stopped here",
                        extra={"job": self.name},
                    )
                    await stop_task(work)
                    return
        except BaseException:
            await stop_task(work)
            raise
        error = work.exception()
        if error is not None:
            log.error("daily job failed", extra={"job": self.name}, exc_info=error)
        if not await runs.finish(
            self.name, due, token, self._clock(), None if error is None else repr(error)[:2000]
        ):
            log.error("daily job run was taken over before it finished", extra={"job": self.name})

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run_forever(), name=self.name)

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
