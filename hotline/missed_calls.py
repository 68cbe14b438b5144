"""The missed-call list (漏话): abandoned calls and callback requests, and their status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.access import Actor, Guarded, may_act
from hotline.models import Call, MissedCall
from hotline.privacy import mask_phone

STATUSES = ("open", "offered", "unreached", "done")
# Whom nobody holds: any agent may take them (未接通 stays on the list for a retry).
TAKEABLE = ("open", "unreached")


class MissedCallError(ValueError):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class MissedCallView:
    call_id: str
    kind: str
    number: str
    queue: str
    missed_at: datetime
    status: str
    agent_id: str | None
    hotline: str = ""  # the number the citizen dialled (shown to them when called back)

    def to_json(self, reveal: bool) -> dict[str, Any]:
        """Agents calling back see the number; everything else sees it masked."""
        return {
            "call_id": self.call_id,
            "kind": self.kind,
            "number": self.number if reveal else mask_phone(self.number),
            "queue": self.queue,
            "missed_at": self.missed_at.isoformat(),
            "status": self.status,
            "agent_id": self.agent_id,
        }

    @classmethod
    def of(cls, row: MissedCall, hotline: str = "") -> MissedCallView:
        return cls(
            row.call_id,
            row.kind,
            row.number,
            row.queue,
            row.missed_at,
            row.status,
            row.agent_id,
            hotline,
        )


def changed_message(view: MissedCallView) -> dict[str, Any]:
    """What every console is told when an entry appears or changes (number masked)."""
    return {"type": "missed.changed", "missed_call": view.to_json(reveal=False)}


# Told after an entry was written (the consoles' lists update live).
Announce = Callable[[MissedCallView], None]


def missed_call_guard(row: MissedCall) -> Guarded:
    """An open missed call waits for any agent; once taken it is the taker's."""
    if row.status in TAKEABLE:
        return Guarded("missed-call", None, pool=True)
    return Guarded("missed-call", row.agent_id)


class MissedCalls:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], announce: Announce | None = None
    ) -> None:
        self._sessions = sessions
        self._announce: Announce = announce or (lambda view: None)

    async def list(self, status: str | None = None, limit: int = 200) -> list[MissedCallView]:
        query = select(MissedCall).order_by(MissedCall.missed_at).limit(limit)
        if status is not None:
            if status not in STATUSES:
                raise MissedCallError("bad-status", f"status must be one of {STATUSES}")
            query = query.where(MissedCall.status == status)
        async with self._sessions() as db:
            rows = (await db.scalars(query)).all()
        return [MissedCallView.of(r) for r in rows]

    async def get(self, call_id: str) -> MissedCallView | None:
        """One missed call, with the hotline its caller dialled."""
        async with self._sessions() as db:
            row = await db.get(MissedCall, call_id)
            call = await db.get(Call, call_id)
        if row is None:
            return None
        return MissedCallView.of(row, call.dialled if call is not None else "")

    async def take(self, call_id: str, agent_id: str, now: datetime) -> MissedCallView:
        """The agent takes the entry to call back; only one agent can: the update is
        conditional, so a second taker gets `already-taken` whoever commits first."""
        async with self._sessions.begin() as db:
            taken = await db.execute(
                update(MissedCall)
                .where(MissedCall.call_id == call_id, MissedCall.status.in_(TAKEABLE))
                .values(status="offered", agent_id=agent_id, updated_at=now)
            )
            row = await db.get(MissedCall, call_id, populate_existing=True)
            if row is None:
                raise MissedCallError("unknown-call", f"no missed call {call_id}")
            mine = row.status == "offered" and row.agent_id == agent_id
            if getattr(taken, "rowcount", 0) != 1 and not mine:
                if row.status == "offered":
                    raise MissedCallError("already-taken", "这条漏话已由其他坐席认领")
                raise MissedCallError("already-done", "这条漏话已回拨")
            view = MissedCallView.of(row)
        self._announce(view)
        return view

    async def mark(self, call_id: str, status: str, actor: Actor, now: datetime) -> None:
        """Take an open missed call, or change one taken by the actor (a lead: any)."""
        if status not in STATUSES:
            raise MissedCallError("bad-status", f"status must be one of {STATUSES}")
        async with self._sessions.begin() as db:
            row = await db.get(MissedCall, call_id)
            # One agent's callback is not another's to close or take over: answered as unknown.
            if row is None or not may_act(actor, missed_call_guard(row)):
                raise MissedCallError("unknown-call", f"no missed call {call_id}")
            row.status, row.agent_id, row.updated_at = status, actor.agent_id, now
            view = MissedCallView.of(row)
        self._announce(view)
