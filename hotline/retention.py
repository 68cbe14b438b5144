"""Retention of citizens' personal data: what is past its time (pure), and the run that erases
it in small transactions (the server daily, `hotline retention run` on demand).

- tickets: after `ticket_personal_days` the caller's name is erased, the phone and address
  masked (138****5678, 解放路*号) and numbers in the description masked; the case stays.
- calls: after `calls_days` the call row goes, with its events and missed-call entry (the
  database cascades); tickets keep their text and lose the link. A call whose recording is
  still kept waits for it.
- call events: after `call_events_days` (statistics read the calls, not their events).
- outbox: `outbox_payload_days` after delivery, the case's payload is replaced by its number.
- recordings: their own `[media] recording_retention_days`, in the same run.

Each batch is one transaction and marks what it did, so a run cut short (a crash, Ctrl-C)
loses nothing and the next run carries on; running twice erases nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config import ConfigError, HotlineConfig
from hotline.models import Call, CallEvent, OutboxMessage, Recording, Ticket
from hotline.privacy import mask_address, mask_phone, mask_text
from hotline.recordings import RecordingArchive

KINDS = ("tickets", "call_events", "calls", "outbox_payloads", "recordings")
BATCH = 500
# (kind, done so far, total): how a long run shows its progress.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of personal data is kept; 0 keeps it for ever."""

    ticket_personal_days: int
    calls_days: int
    call_events_days: int
    outbox_payload_days: int
    recording_days: int

    @classmethod
    def of(cls, config: HotlineConfig) -> RetentionPolicy:
        retention = config.retention
        policy = cls(
            retention.ticket_personal_days,
            retention.calls_days,
            retention.call_events_days,
            retention.outbox_payload_days,
            config.media.recording_retention_days,
        )
        for name, days in vars(policy).items():
            if days < 0:
                raise ConfigError(f"[retention] {name}: expected 0 or more days, got {days}")
        if 0 < policy.calls_days < policy.recording_days:
            raise ConfigError(
                "[retention] calls_days must be 0 or at least [media] recording_retention_days "
                f"({policy.recording_days}): a recording needs its call"
            )
        return policy

    def cutoffs(self, now: datetime) -> dict[str, datetime | None]:
        """What is older than this is due, per kind (None: kept for ever)."""

        def before(days: int) -> datetime | None:
            return now - timedelta(days=days) if days > 0 else None

        # In the order a run goes: events before their calls, so each is counted once.
        return {
            "tickets": before(self.ticket_personal_days),
            "call_events": before(self.call_events_days),
            "calls": before(self.calls_days),
            "outbox_payloads": before(self.outbox_payload_days),
            "recordings": before(self.recording_days),
        }


def erase_ticket(ticket: Ticket, now: datetime) -> None:
    """A ticket past retention: the case stays readable, the citizen is no longer in it."""
    ticket.caller_name = ""
    ticket.phone = mask_phone(ticket.phone)
    ticket.address = mask_address(ticket.address)
    ticket.description = mask_text(ticket.description)
    ticket.personal_erased_at = now


def _due(kind: str, cutoff: datetime) -> Select[Any]:
    if kind == "tickets":
        return select(Ticket.id).where(
            Ticket.created_at < cutoff, Ticket.personal_erased_at.is_(None)
        )
    if kind == "calls":
        recorded = exists().where(Recording.call_id == Call.id)
        return select(Call.id).where(Call.arrived_at < cutoff, Call.state == "ended", ~recorded)
    if kind == "call_events":
        return select(CallEvent.id).where(CallEvent.at < cutoff)
    return select(OutboxMessage.id).where(
        OutboxMessage.delivered_at < cutoff, OutboxMessage.payload_erased_at.is_(None)
    )


class Retention:
    """Runs the policy against the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: RetentionPolicy,
        archive: RecordingArchive,
        batch: int = BATCH,
    ) -> None:
        self._sessions = sessions
        self.policy = policy
        self._archive = archive
        self._batch = batch

    async def due(self, now: datetime) -> dict[str, int]:
        """How many of each kind are past retention (what a dry run reports)."""
        counts: dict[str, int] = {}
        async with self._sessions() as db:
            for kind, cutoff in self.policy.cutoffs(now).items():
                if cutoff is None:
                    counts[kind] = 0
                elif kind == "recordings":
                    counts[kind] = (
                        await db.scalar(select(func.count()).where(Recording.recorded_at < cutoff))
                        or 0
                    )
                else:
                    due = _due(kind, cutoff).subquery()
                    counts[kind] = await db.scalar(select(func.count()).select_from(due)) or 0
        return counts

    async def run(self, now: datetime, progress: Progress | None = None) -> dict[str, int]:
        """Erase or delete what is past retention; how many of each kind."""
        totals = await self.due(now)
        done: dict[str, int] = dict.fromkeys(KINDS, 0)
        for kind, cutoff in self.policy.cutoffs(now).items():
            if cutoff is None or totals[kind] == 0:
                continue
            if kind == "recordings":
                done[kind] = await self._archive.purge(now)
                if progress is not None:
                    progress(kind, done[kind], totals[kind])
                continue
            while True:
                count = await self._batch_of(kind, cutoff, now)
                done[kind] += count
                if progress is not None:
                    progress(kind, done[kind], max(totals[kind], done[kind]))
                if count < self._batch:
                    break
        return done

    async def _batch_of(self, kind: str, cutoff: datetime, now: datetime) -> int:
        async with self._sessions.begin() as db:
            ids = list((await db.scalars(_due(kind, cutoff).limit(self._batch))).all())
            if not ids:
                return 0
            if kind == "tickets":
                for ticket in (await db.scalars(select(Ticket).where(Ticket.id.in_(ids)))).all():
                    erase_ticket(ticket, now)
            elif kind == "calls":
                await db.execute(update(Ticket).where(Ticket.call_id.in_(ids)).values(call_id=None))
                await db.execute(delete(CallEvent).where(CallEvent.call_id.in_(ids)))
                await db.execute(delete(Call).where(Call.id.in_(ids)))
            elif kind == "call_events":
                await db.execute(delete(CallEvent).where(CallEvent.id.in_(ids)))
            else:
                rows = await db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
                for row in rows.all():
                    row.payload = {"number": row.idempotency_key, "erased": True}
                    row.payload_erased_at = now
        return len(ids)
