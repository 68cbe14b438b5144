"""Agents, passwords and console sessions."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.access import ROLES, Role
from hotline.audit import AuditEntry
from hotline.models import Agent, AgentSession
from telephony.digest import ha1

# A session's last use is written at most this often (and four times per idle period).
TOUCH_EVERY = timedelta(minutes=1)
_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown agent as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password")


class AccountError(ValueError):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class Principal:
    """Who is making a console request."""

    agent_id: str
    name: str
    role: str
    # Names the session (the token's SHA-256) without revealing the token.
    session_key: str = field(default="", compare=False)

    @property
    def is_lead(self) -> bool:
        return self.role == Role.LEAD

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password_rules(password: str) -> None:
    if len(password) < 8:
        raise AccountError("weak-password", "password must have at least 8 characters")


class Accounts:
    """Creating agents, checking passwords, issuing and resolving sessions."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        realm: str,
        session_hours: float,
        idle_minutes: float = 0.0,
    ) -> None:
        self._sessions = sessions
        self._realm = realm
        self._session_lifetime = timedelta(hours=session_hours)
        self._idle = timedelta(minutes=idle_minutes) if idle_minutes > 0 else None

    async def add_agent(
        self,
        agent_id: str,
        name: str,
        password: str,
        sip_password: str,
        role: str,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> Agent:
        if not agent_id.isdigit() or not 2 <= len(agent_id) <= 16:
            raise AccountError("invalid-agent-id", "agent id must be 2-16 digits")
        if role not in ROLES:
            raise AccountError("invalid-role", f"role must be one of {', '.join(ROLES)}")
        _check_password_rules(password)
        _check_password_rules(sip_password)
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        async with self._sessions.begin() as db:
            if await db.get(Agent, agent_id) is not None:
                raise AccountError("agent-exists", f"agent {agent_id} already exists")
            agent = Agent(
                id=agent_id,
                name=name,
                role=role,
                password_hash=password_hash,
                sip_ha1=ha1(agent_id, self._realm, sip_password),
                sip_realm=self._realm,
                active=True,
                created_at=now,
            )
            db.add(agent)
            if audit is not None:
                db.add(audit.row())
        return agent

    async def set_password(
        self,
        agent_id: str,
        password: str | None = None,
        sip_password: str | None = None,
        audit: AuditEntry | None = None,
    ) -> None:
        async with self._sessions.begin() as db:
            agent = await db.get(Agent, agent_id)
            if agent is None:
                raise AccountError("unknown-agent", f"agent {agent_id} does not exist")
            if audit is not None:
                db.add(audit.row())
            if password is not None:
                _check_password_rules(password)
                agent.password_hash = await asyncio.to_thread(_hasher.hash, password)
                await db.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))
            if sip_password is not None:
                _check_password_rules(sip_password)
                agent.sip_ha1 = ha1(agent_id, self._realm, sip_password)
                agent.sip_realm = self._realm

    async def change(
        self,
        agent_id: str,
        audit: AuditEntry,
        role: str | None = None,
        active: bool | None = None,
    ) -> Agent:
        """Give an agent another role, or (de)activate them; a deactivated agent's sessions
        end at once. Recorded in the audit log in the same transaction."""
        if role is not None and role not in ROLES:
            raise AccountError("invalid-role", f"role must be one of {', '.join(ROLES)}")
        async with self._sessions.begin() as db:
            agent = await db.get(Agent, agent_id)
            if agent is None:
                raise AccountError("unknown-agent", f"agent {agent_id} does not exist")
            if role is not None and role != agent.role:
                agent.role = role
                # Sessions carry the role they were opened with; new powers need a new login.
                await db.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))
            if active is not None:
                agent.active = active
                if not active:
                    await db.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))
            db.add(audit.row())
        return agent

    async def list_agents(self) -> list[Agent]:
        async with self._sessions() as db:
            return list((await db.scalars(select(Agent).order_by(Agent.id))).all())

    async def sip_ha1(self, agent_id: str) -> str | None:
        """The digest HA1 of an active agent's phone, or None (unknown, inactive, other realm)."""
        async with self._sessions() as db:
            agent = await db.get(Agent, agent_id)
        if agent is None or not agent.active or agent.sip_realm != self._realm:
            return None
        return agent.sip_ha1

    async def login(self, agent_id: str, password: str, now: datetime) -> tuple[str, Principal]:
        """Check the password; return a new session token and who it belongs to."""
        async with self._sessions() as db:
            agent = await db.get(Agent, agent_id)
        stored = agent.password_hash if agent is not None and agent.active else _DUMMY_HASH
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            agent = None
        if agent is None or not agent.active:
            raise AccountError("bad-credentials", "agent id or password is wrong")
        token = secrets.token_urlsafe(32)
        async with self._sessions.begin() as db:
            db.add(
                AgentSession(
                    token_hash=_token_hash(token),
                    agent_id=agent.id,
                    created_at=now,
                    expires_at=now + self._session_lifetime,
                    last_seen_at=now,
                )
            )
        return token, Principal(agent.id, agent.name, agent.role, _token_hash(token))

    def _ends_at(self, session: AgentSession) -> datetime:
        """When the session ends if it is not used again: absolute or idle, the sooner."""
        if self._idle is None:
            return session.expires_at
        last = session.last_seen_at or session.created_at
        return min(session.expires_at, last + self._idle)

    async def principal(self, token: str, now: datetime) -> Principal | None:
        """Who holds this token, if its session is alive; the request counts as use."""
        key = _token_hash(token)
        async with self._sessions() as db:
            row = (
                await db.execute(
                    select(AgentSession, Agent)
                    .join(Agent, Agent.id == AgentSession.agent_id)
                    .where(AgentSession.token_hash == key)
                )
            ).first()
        if row is None:
            return None
        session, agent = row
        if self._ends_at(session) <= now or not agent.active:
            return None
        if self._idle is not None and now - (session.last_seen_at or session.created_at) > min(
            TOUCH_EVERY, self._idle / 4
        ):
            # Written now and then, not on every request: enough for a timeout in minutes.
            async with self._sessions.begin() as db:
                await db.execute(
                    update(AgentSession)
                    .where(AgentSession.token_hash == key)
                    .values(last_seen_at=now)
                )
        return Principal(agent.id, agent.name, agent.role, key)

    async def session_ends_at(self, session_key: str) -> datetime | None:
        """When a session ends unless used again; None if it is gone (logged out, revoked)."""
        async with self._sessions() as db:
            row = (
                await db.execute(
                    select(AgentSession, Agent.active)
                    .join(Agent, Agent.id == AgentSession.agent_id)
                    .where(AgentSession.token_hash == session_key)
                )
            ).first()
        if row is None or not row[1]:
            return None
        return self._ends_at(row[0])

    async def logout(self, token: str) -> None:
        async with self._sessions.begin() as db:
            await db.execute(
                delete(AgentSession).where(AgentSession.token_hash == _token_hash(token))
            )
