"""Call recordings on disk and in the database: linking, looking up for playback, retention."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.access import Guarded
from hotline.models import Call, OutboundCall, Recording, Ticket
from hotline.tasks import stop_task
from telephony.events import RecordingFinished

log = logging.getLogger(__name__)

# How many of the newest recordings the storage check looks for on this node's disk.
STORAGE_SAMPLE = 20


def record_call(event: RecordingFinished) -> Callable[[AsyncSession], Awaitable[None]]:
    """A switchboard write job: link a finished recording to its call."""

    async def job(db: AsyncSession) -> None:
        if await db.get(Call, event.call_id) is None:
            log.warning("recording of an unknown call", extra={"call": event.call_id})
            return
        db.add(
            Recording(
                call_id=event.call_id,
                path=event.path,
                duration_seconds=event.duration_seconds,
                recorded_at=event.at,
            )
        )

    return job


def call_guard(call: Call, kind: str = "call") -> Guarded:
    """A call (or its recording) as the access policy sees it: a voicemail waits for any
    agent to pick it up; a talk belongs to its agent."""
    return Guarded(kind, call.agent_id, pool=call.end_reason == "voicemail")


def dial_guard(dial: OutboundCall) -> Guarded:
    """A click-to-call's recording belongs to the agent who dialled (leads and admins see
    every one, as for inbound calls)."""
    return Guarded("recording", dial.agent_id)


@dataclass(frozen=True)
class TicketCalls:
    """The calls behind a ticket: the inbound call's recording (if any) and every 回拨
    placed for it (回访 dials by ticket number, 漏话回拨 dials by the call it came from)."""

    recording: Recording | None
    dials: Sequence[OutboundCall]
    call: Call | None = None  # the inbound call the ticket was written on


@dataclass(frozen=True)
class StorageCheck:
    """The newest recordings' files looked for on this node's disk. On two machines that do
    not share `[media] recordings_dir`, the node that took over finds the other's missing:
    their playback fails and retention would delete their rows while the files stay."""

    checked: int
    missing: int
    at: datetime


class RecordingArchive:
    """Finds recordings for download, deletes those past the retention period, and checks
    that the newest ones are on the disk this node sees."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        retention_days: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.storage: StorageCheck | None = None  # the last check, for /metrics

    async def for_call(self, call_id: str) -> tuple[Recording, Call] | None:
        """The call's recording and the call, or None."""
        async with self._sessions() as db:
            row = (
                await db.execute(
                    select(Recording, Call)
                    .join(Call, Call.id == Recording.call_id)
                    .where(Recording.call_id == call_id)
                )
            ).first()
        return None if row is None else (row[0], row[1])

    async def for_dial(self, dial_id: str) -> OutboundCall | None:
        """A click-to-call's row (its recording path, if it was recorded), or None."""
        async with self._sessions() as db:
            return await db.get(OutboundCall, dial_id)

    async def for_ticket(self, ticket: Ticket) -> TicketCalls:
        """The ticket's inbound recording and its 回拨 attempts, oldest first."""
        own = and_(OutboundCall.task == "visit", OutboundCall.task_ref == ticket.number)
        if ticket.call_id is not None:
            own = or_(
                own, and_(OutboundCall.task == "callback", OutboundCall.task_ref == ticket.call_id)
            )
        async with self._sessions() as db:
            recording = (
                None
                if ticket.call_id is None
                else await db.scalar(select(Recording).where(Recording.call_id == ticket.call_id))
            )
            dials = (
                await db.scalars(
                    select(OutboundCall)
                    .where(own)
                    .order_by(OutboundCall.started_at, OutboundCall.id)
                )
            ).all()
            inbound = None if ticket.call_id is None else await db.get(Call, ticket.call_id)
        return TicketCalls(recording, dials, inbound)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    async def purge(self, now: datetime) -> int:
        """Delete recordings (files and rows) older than the retention period; how many."""
        cutoff = now - self._retention
        async with self._sessions() as db, db.begin():
            old = (await db.scalars(select(Recording).where(Recording.recorded_at < cutoff))).all()
            for recording in old:
                try:
                    await asyncio.to_thread(Path(recording.path).unlink, missing_ok=True)
                except OSError:
                    log.exception("recording file could not be deleted")
                    continue  # keep the row: the file is still there
                await db.delete(recording)
        if old:
            log.info("expired recordings deleted", extra={"count": len(old)})
        return len(old)

    async def check_storage(self, newest: int = STORAGE_SAMPLE) -> StorageCheck:
        """Look for the newest recordings' files; an error in the log names how many are
        missing (files, not who called: the paths stay out of the log)."""
        async with self._sessions() as db:
            paths = (
                await db.scalars(
                    select(Recording.path)
                    .order_by(Recording.recorded_at.desc(), Recording.id.desc())
                    .limit(newest)
                )
            ).all()
        present = await asyncio.to_thread(lambda: [Path(p).is_file() for p in paths])
        check = StorageCheck(len(paths), present.count(False), self._clock())
        self.storage = check
        if check.missing:
            log.error(
                "recording files missing on this node: is [media] recordings_dir the same "
                "storage on every node?",
                extra={"missing": check.missing, "checked": check.checked},
            )
        return check

    async def start(self, interval_seconds: float = 3600.0) -> None:
        async def run() -> None:
            while True:
                try:
                    # Before the purge: a purge deletes rows whose file is not here.
                    await self.check_storage()
                    await self.purge(self._clock())
                except Exception:
                    log.exception("recording retention run failed")
                await asyncio.sleep(interval_seconds)

        self._task = asyncio.get_running_loop().create_task(run(), name="recording-retention")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
