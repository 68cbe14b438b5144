"""Who may see or act on an object that holds a citizen's personal data (pure).

One policy for every such object: tickets, recordings, calls, voicemails, missed calls, and
what comes next (case events, 回访 tasks). A handler describes the object as `Guarded` (its
kind, the agent who took it, the agents working on it, whether it waits in a pool for anyone
to pick up) and asks `may_see` or `may_act`; a refusal is answered exactly like an unknown
object (404), so an agent cannot learn that someone else's ticket exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    AGENT = "agent"  # 坐席员: takes calls, writes tickets
    LEAD = "lead"  # 班长: watches the queue and the agents, steps in on any case
    ADMIN = "admin"  # 系统管理员: agents and roles, configuration, the audit log


ROLES = tuple(role.value for role in Role)


class Actor(Protocol):
    """Whoever asks: a console principal, a CLI operator."""

    @property
    def agent_id(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class Guarded:
    """What the policy needs to know of an object holding personal data."""

    kind: str  # ticket | recording | call | voicemail | missed-call | …
    # The agent who took the call or wrote the ticket; None when nobody has yet.
    owner: str | None
    # Agents working on it besides the owner (the case's 回访, a callback offered to them).
    workers: frozenset[str] = frozenset()
    # Waiting for any agent to pick up (a voicemail draft, an open missed call).
    pool: bool = False
    # The citizen it belongs to is on the line with the asking agent now: their earlier cases
    # may be listed (state and deadline, masked) so they need not repeat them (查询进度).
    on_line: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Why: recorded in the audit log with every view of personal data.
    ground: str

    def __bool__(self) -> bool:
        return self.allowed


def _personal_ground(actor: Actor, obj: Guarded) -> str | None:
    if obj.owner is not None and actor.agent_id == obj.owner:
        return "taking-agent"
    if actor.agent_id in obj.workers:
        return "assigned"
    if actor.role == Role.LEAD:
        return "shift-lead"
    return None


def may_see(actor: Actor, obj: Guarded) -> Decision:
    """The taking agent, agents working on it, shift leads and admins; a pool object any
    agent; nobody else."""
    ground = _personal_ground(actor, obj)
    if ground is not None:
        return Decision(True, ground)
    if actor.role == Role.ADMIN:
        return Decision(True, "admin")
    if obj.pool and actor.role == Role.AGENT:
        return Decision(True, "pool")
    if obj.on_line and actor.role == Role.AGENT:
        return Decision(True, "caller-on-line")
    return Decision(False, "not-yours")


def may_act(actor: Actor, obj: Guarded) -> Decision:
    """Change it (complete, take, close): as may_see, but an admin only reads cases."""
    ground = _personal_ground(actor, obj)
    if ground is not None:
        return Decision(True, ground)
    if obj.pool and actor.role == Role.AGENT:
        return Decision(True, "pool")
    return Decision(False, "not-yours")


def is_lead(actor: Actor) -> bool:
    return actor.role == Role.LEAD


def is_admin(actor: Actor) -> bool:
    return actor.role == Role.ADMIN
