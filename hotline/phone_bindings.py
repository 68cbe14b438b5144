"""Agent phones' registrations kept across restarts.

The registrar lives in memory on the loop's clock; each change is also written here (a
switchboard write job) with wall-clock times, and a starting system puts the live ones back
before the gateway opens, so calls are offered to phones at once instead of after their next
REGISTER."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import PhoneBinding
from telephony.events import PhoneRegistered
from telephony.registrar import Registrar

log = logging.getLogger(__name__)


def record_binding(event: PhoneRegistered) -> Callable[[AsyncSession], Awaitable[None]]:
    """A switchboard write job mirroring one REGISTER's effect on the registrar."""

    async def job(db: AsyncSession) -> None:
        if event.contact == "*":
            await db.execute(delete(PhoneBinding).where(PhoneBinding.agent_id == event.agent_id))
            return
        row = await db.get(PhoneBinding, (event.agent_id, event.contact))
        if event.expires <= 0 or event.source is None:
            if row is not None:
                await db.delete(row)
            return
        expires_at = event.at + timedelta(seconds=event.expires)
        host, port = event.source
        if row is None:
            db.add(
                PhoneBinding(
                    agent_id=event.agent_id,
                    contact=event.contact,
                    source_host=host,
                    source_port=port,
                    registered_at=event.at,
                    expires_at=expires_at,
                )
            )
        else:
            row.source_host, row.source_port = host, port
            row.registered_at, row.expires_at = event.at, expires_at

    return job


async def restore_bindings(
    sessions: async_sessionmaker[AsyncSession],
    registrar: Registrar,
    now: datetime,
    loop_now: float,
) -> int:
    """Put the bindings still live at `now` back into the registrar (on the loop's clock,
    `loop_now` being the same moment) and forget the expired ones; returns how many."""
    async with sessions() as db, db.begin():
        await db.execute(delete(PhoneBinding).where(PhoneBinding.expires_at <= now))
        rows = (await db.scalars(select(PhoneBinding))).all()
    for row in rows:
        registrar.register(
            row.agent_id,
            row.contact,
            (row.source_host, row.source_port),
            (row.expires_at - now).total_seconds(),
            loop_now,
            registered_at=loop_now - (now - row.registered_at).total_seconds(),
        )
    if rows:
        log.info("phone registrations restored", extra={"count": len(rows)})
    return len(rows)
