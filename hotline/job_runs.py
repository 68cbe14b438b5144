"""Scheduled jobs run once across nodes: a `job_runs` row per (job, due time), written before
the job runs. The node whose insert went in runs it and beats a heartbeat on the row while it
does; the others see the row and leave it. A run whose heartbeat stopped (its node died, or is
paused) for longer than `stale_after` is taken over by another node, under a new token, and
the old holder, should it wake, finds its token gone at its next beat and stops.

The decision what to do with a due run is pure (`decide`, takes `now` and the row); `JobRuns`
is the table's adapter."""

from __future__ import annotations

import enum
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import JobRunRow

# A running job's row is touched this often; one untouched for STALE_AFTER may be taken over.
HEARTBEAT = timedelta(seconds=30)
STALE_AFTER = timedelta(minutes=3)


class Decision(enum.Enum):
    RUN = "run"  # nobody has it: claim it
    TAKE_OVER = "take-over"  # its holder stopped beating: claim it from them
    HELD = "held"  # another node runs it now: look again when it could go stale
    DONE = "done"  # finished (or failed: tried again at the next due time)
    SKIP = "skip"  # a catch-up for a job that has never run here: wait for its time


@dataclass(frozen=True)
class RunState:
    """What the table says of one run."""

    token: str
    node: str
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None


def decide(
    run: RunState | None,
    now: datetime,
    stale_after: timedelta = STALE_AFTER,
    *,
    catching_up: bool = False,
    has_history: bool = True,
) -> Decision:
    """What a node should do about a run due now (or, `catching_up`, due earlier and found
    at start). A catch-up of a job with no run at all (a new installation, or one just
    upgraded) is skipped: its first run is at its time, not whenever a node starts."""
    if run is None:
        return Decision.RUN if has_history or not catching_up else Decision.SKIP
    if run.finished_at is not None:
        return Decision.DONE
    if now - run.heartbeat_at > stale_after:
        return Decision.TAKE_OVER
    return Decision.HELD


def look_again_at(run: RunState, stale_after: timedelta = STALE_AFTER) -> datetime:
    """When a held run would be stale if its holder stopped beating now."""
    return run.heartbeat_at + stale_after + timedelta(seconds=1)


def this_node() -> str:
    """A name for this process in job_runs rows: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


class JobRuns:
    """The job_runs table: claim a run, take one over, beat, finish."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], node: str | None = None):
        self._sessions = sessions
        self.node = node or this_node()

    async def state(self, job: str, due: datetime) -> RunState | None:
        async with self._sessions() as db:
            row = await db.scalar(
                select(JobRunRow).where(JobRunRow.job == job, JobRunRow.due == due)
            )
        if row is None:
            return None
        return RunState(row.token, row.node, row.started_at, row.heartbeat_at, row.finished_at)

    async def has_history(self, job: str) -> bool:
        async with self._sessions() as db:
            return bool(await db.scalar(select(exists().where(JobRunRow.job == job))))

    async def claim(self, job: str, due: datetime, now: datetime) -> str | None:
        """Write the run's row; its token, or None if another node wrote it first."""
        token = uuid.uuid4().hex
        values = {
            "job": job,
            "due": due,
            "token": token,
            "node": self.node,
            "started_at": now,
            "heartbeat_at": now,
        }
        async with self._sessions.begin() as db:
            dialect = db.get_bind().dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            result = await db.execute(insert(JobRunRow).values(**values).on_conflict_do_nothing())
        return token if getattr(result, "rowcount", 0) == 1 else None

    async def take_over(self, job: str, due: datetime, stale: str, now: datetime) -> str | None:
        """Take an unfinished run from the holder of token `stale`; None if it finished or
        someone else took it meanwhile."""
        token = uuid.uuid4().hex
        async with self._sessions.begin() as db:
            result = await db.execute(
                update(JobRunRow)
                .where(
                    JobRunRow.job == job,
                    JobRunRow.due == due,
                    JobRunRow.token == stale,
                    JobRunRow.finished_at.is_(None),
                )
                .values(token=token, node=self.node, started_at=now, heartbeat_at=now)
            )
        return token if getattr(result, "rowcount", 0) == 1 else None

    async def beat(self, job: str, due: datetime, token: str, now: datetime) -> bool:
        """Say the run is alive; False if it is no longer ours (taken over)."""
        return await self._touch(job, due, token, {"heartbeat_at": now})

    async def finish(
        self, job: str, due: datetime, token: str, now: datetime, error: str | None
    ) -> bool:
        """Mark the run finished (with the error if it failed); False if it was not ours."""
        return await self._touch(
            job, due, token, {"heartbeat_at": now, "finished_at": now, "error": error}
        )

    async def prune(self, job: str, before: datetime) -> None:
        """Forget the job's finished runs due before `before` (frequent jobs' old slots)."""
        async with self._sessions.begin() as db:
            await db.execute(
                delete(JobRunRow).where(
                    JobRunRow.job == job,
                    JobRunRow.due < before,
                    JobRunRow.finished_at.is_not(None),
                )
            )

    async def _touch(self, job: str, due: datetime, token: str, values: dict[str, object]) -> bool:
        async with self._sessions.begin() as db:
            result = await db.execute(
                update(JobRunRow)
                .where(
                    JobRunRow.job == job,
                    JobRunRow.due == due,
                    JobRunRow.token == token,
                    JobRunRow.finished_at.is_(None),
                )
                .values(**values)
            )
        return getattr(result, "rowcount", 0) == 1
