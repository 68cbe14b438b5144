"""Database jobs for the missed-call list, run on the switchboard's writer task.

A job that changes an entry asks for it to be announced once its transaction commits
(`after_commit`), so a console that re-reads the list on the news sees the change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.missed_calls import Announce, MissedCallView
from hotline.models import Call, MissedCall

Job = Callable[[AsyncSession], Awaitable[None]]
AFTER_COMMIT = "after_commit"


def after_commit(db: AsyncSession, hook: Callable[[], None]) -> None:
    """Run `hook` once this session's transaction has committed (see Switchboard._commit)."""
    db.info.setdefault(AFTER_COMMIT, []).append(hook)


def committed_hooks(db: AsyncSession) -> list[Callable[[], None]]:
    hooks: list[Callable[[], None]] = db.info.pop(AFTER_COMMIT, [])
    return hooks


def _announce(db: AsyncSession, row: MissedCall, announce: Announce | None) -> None:
    if announce is not None:
        view = MissedCallView.of(row)
        after_commit(db, lambda: announce(view))


def record(
    call_id: str,
    kind: str,
    at: datetime,
    number: str | None = None,
    announce: Announce | None = None,
) -> Job:
    """Put a call on the list once (abandoned, callback or restart); the first kind stays."""

    async def job(db: AsyncSession) -> None:
        call = await db.get(Call, call_id)
        if call is None or await db.get(MissedCall, call_id) is not None:
            return
        row = MissedCall(
            call_id=call_id,
            kind=kind,
            number=number or call.caller,
            queue=call.queue,
            missed_at=at,
            status="open",
            updated_at=at,
        )
        db.add(row)
        _announce(db, row, announce)

    return job


def mark(
    call_id: str,
    status: str,
    agent_id: str | None,
    at: datetime,
    announce: Announce | None = None,
) -> Job:
    async def job(db: AsyncSession) -> None:
        row = await db.get(MissedCall, call_id)
        if row is not None:
            row.status, row.agent_id, row.updated_at = status, agent_id, at
            _announce(db, row, announce)

    return job


async def open_callbacks(
    db: AsyncSession, kinds: tuple[str, ...] = ("callback",)
) -> list[tuple[str, str, datetime, str]]:
    """Call-back tasks nobody has completed: (call id, queue, arrived at, number)."""
    rows = await db.execute(
        select(MissedCall.call_id, MissedCall.queue, Call.arrived_at, MissedCall.number)
        .join(Call, Call.id == MissedCall.call_id)
        .where(MissedCall.kind.in_(kinds), MissedCall.status == "open")
        .order_by(Call.arrived_at)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]
