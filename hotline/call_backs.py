"""Database jobs for the missed-call list, run on the switchboard's writer task."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.models import Call, MissedCall

Job = Callable[[AsyncSession], Awaitable[None]]


def record(call_id: str, kind: str, at: datetime, number: str | None = None) -> Job:
    """Put a call on the list once (abandoned, callback or restart); the first kind stays."""

    async def job(db: AsyncSession) -> None:
        call = await db.get(Call, call_id)
        if call is None or await db.get(MissedCall, call_id) is not None:
            return
        db.add(
            MissedCall(
                call_id=call_id,
                kind=kind,
                number=number or call.caller,
                queue=call.queue,
                missed_at=at,
                status="open",
                updated_at=at,
            )
        )

    return job


def mark(call_id: str, status: str, agent_id: str | None, at: datetime) -> Job:
    async def job(db: AsyncSession) -> None:
        row = await db.get(MissedCall, call_id)
        if row is not None:
            row.status, row.agent_id, row.updated_at = status, agent_id, at

    return job


async def open_callbacks(db: AsyncSession) -> list[tuple[str, str, datetime, str]]:
    """Callback requests nobody has completed: (call id, queue, arrived at, number)."""
    rows = await db.execute(
        select(MissedCall.call_id, MissedCall.queue, Call.arrived_at, MissedCall.number)
        .join(Call, Call.id == MissedCall.call_id)
        .where(MissedCall.kind == "callback", MissedCall.status.in_(("open", "offered")))
        .order_by(Call.arrived_at)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]
