"""The asyncio edge of console presence: the websocket handler reports consoles opening and
closing; a task logs out agents whose grace ran out (routing offers them no more calls) and
audits it. The rule itself is routing/presence.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from hotline.audit import AuditEntry, AuditLog
from hotline.switchboard import Switchboard
from hotline.tasks import stop_task
from routing import AgentState
from routing.presence import ConsolePresence
from telephony.registrar import Registrar

log = logging.getLogger(__name__)


class PresenceWatch:
    def __init__(
        self,
        grace: timedelta,
        switchboard: Switchboard,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self.presence = ConsolePresence(grace)
        self._switchboard = switchboard
        self._audit = audit
        self._clock = clock
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.logged_out = asyncio.Event()  # set each time the watch logs someone out

    def connected(self, agent_id: str) -> None:
        self.presence.connected(agent_id, self._clock())
        self._changed.set()

    def disconnected(self, agent_id: str) -> None:
        self.presence.disconnected(agent_id, self._clock())
        self._changed.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="console-presence")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            due = self.presence.next_deadline()
            timeout = None if due is None else max(0.0, (due - self._clock()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=timeout)
            for agent_id in self.presence.gone(self._clock()):
                try:
                    await self._log_out(agent_id)
                except Exception:
                    log.exception("could not log out an agent whose console is gone")

    async def _log_out(self, agent_id: str) -> None:
        status = self._switchboard.routing.find_agent(agent_id)
        if status is None or status.state is AgentState.LOGGED_OUT:
            return
        seconds = self.presence.grace.total_seconds()
        reason = f"console gone {seconds:g} s"
        # Busy on a call: routing logs the agent out when the call ends.
        self._switchboard.request_state(agent_id, AgentState.LOGGED_OUT, reason)
        log.info("agent logged out: console gone", extra={"agent": agent_id})
        now = self._clock()
        await self._audit.record(
            AuditEntry(now, "system", "system", "agent.logout", "agent", agent_id, reason)
        )
        self.logged_out.set()


def phone_status(registrar: Registrar, agent_id: str) -> dict[str, object]:
    """Whether the agent's phone is registered, and for how many seconds more (for the desk
    at login; phone.registered pushes follow)."""
    bindings = registrar.bindings(agent_id, asyncio.get_running_loop().time())
    if not bindings:
        return {"registered": False, "expires": 0}
    left = max(b.expires_at for b in bindings) - asyncio.get_running_loop().time()
    return {"registered": True, "expires": max(0, round(left))}
