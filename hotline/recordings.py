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


class RecordingArchive:
    """Finds recordings for download and deletes those past the retention period."""

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

    async def start(self, interval_seconds: float = 3600.0) -> None:
        async def run() -> None:
            while True:
                try:
                    await self.purge(self._clock())
                except Exception:
                    log.exception("recording retention run failed")
                await asyncio.sleep(interval_seconds)

        self._task = asyncio.get_running_loop().create_task(run(), name="recording-retention")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
