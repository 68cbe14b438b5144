"""The audit log: every privileged action and every view of a ticket's personal data, with
who, what, when and why. Written in the same transaction as the change it records where
there is one; a view is recorded before the data is sent (no record, no data)."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.access import Actor
from hotline.models import AuditRecord

MAX_LIST = 1000


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: str
    actor_role: str
    action: str  # noun.verb: ticket.view, agent.add, agent.role, roster.import, backup.run …
    object_kind: str
    object_id: str
    why: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        actor: Actor,
        action: str,
        kind: str,
        object_id: str,
        now: datetime,
        why: str = "",
        **detail: Any,
    ) -> AuditEntry:
        return cls(now, actor.agent_id, actor.role, action, kind, object_id, why[:200], detail)

    def row(self) -> AuditRecord:
        return AuditRecord(
            at=self.at,
            actor_id=self.actor_id[:64],
            actor_role=self.actor_role[:16],
            action=self.action[:48],
            object_kind=self.object_kind[:32],
            object_id=self.object_id[:64],
            why=self.why[:200],
            detail=dict(self.detail),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "action": self.action,
            "object_kind": self.object_kind,
            "object_id": self.object_id,
            "why": self.why,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class Operator:
    """Whoever runs the `hotline` command: the machine's user, with the CLI's full powers."""

    agent_id: str
    role: str = "cli"

    @classmethod
    def current(cls) -> Operator:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(f"cli:{user}")


class AuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, entry: AuditEntry) -> None:
        """Record on its own (a view, an action with no transaction of its own)."""
        async with self._sessions.begin() as db:
            db.add(entry.row())

    async def entries(
        self,
        since: datetime | None = None,
        actor_id: str | None = None,
        action: str | None = None,
        object_id: str | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """The newest entries first, filtered."""
        query = select(AuditRecord).order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        if since is not None:
            query = query.where(AuditRecord.at >= since)
        if actor_id:
            query = query.where(AuditRecord.actor_id == actor_id)
        if action:
            query = query.where(AuditRecord.action == action)
        if object_id:
            query = query.where(AuditRecord.object_id == object_id)
        async with self._sessions() as db:
            rows = (await db.scalars(query.limit(max(1, min(limit, MAX_LIST))))).all()
        return [
            AuditEntry(
                r.at,
                r.actor_id,
                r.actor_role,
                r.action,
                r.object_kind,
                r.object_id,
                r.why,
                r.detail,
            )
            for r in rows
        ]
