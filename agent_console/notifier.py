"""One notifier publishes console events to the websockets of agents and shift leads."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import Any

from aiohttp import WSCloseCode, web

from hotline.tasks import BackgroundTasks

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 256  # messages queued for a slow console before it is disconnected


class ConsoleConnection:
    """A websocket with its own ordered send queue, so one slow browser blocks nobody."""

    def __init__(
        self, ws: web.WebSocketResponse, agent_id: str, is_lead: bool, session_key: str = ""
    ) -> None:
        self.ws = ws
        self.agent_id = agent_id
        self.is_lead = is_lead
        self.session_key = session_key
        # A message is a dict, or its JSON text when it goes to many consoles (encoded once).
        self._queue: asyncio.Queue[dict[str, Any] | str] = asyncio.Queue(OUTBOX_LIMIT)
        self._task = asyncio.create_task(self._send_loop(), name=f"ws-{agent_id}")
        self._closing = BackgroundTasks()

    def push(self, message: dict[str, Any] | str) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("console too slow; disconnecting", extra={"agent": self.agent_id})
            self._closing.spawn(self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER))

    async def _send_loop(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                if isinstance(message, str):
                    await self.ws.send_str(message)
                else:
                    await self.ws.send_json(message)
            except (ConnectionError, RuntimeError):
                return

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


class Notifier:
    """Tracks open consoles (weakly) and fans messages out to them."""

    def __init__(self) -> None:
        self._connections: weakref.WeakSet[ConsoleConnection] = weakref.WeakSet()

    def add(self, connection: ConsoleConnection) -> None:
        self._connections.add(connection)

    def remove(self, connection: ConsoleConnection) -> None:
        self._connections.discard(connection)

    def to_agent(self, agent_id: str, message: dict[str, Any]) -> None:
        for connection in list(self._connections):
            if connection.agent_id == agent_id:
                connection.push(message)

    def to_all(self, message: dict[str, Any]) -> None:
        """Every open console (news everyone may see, such as the missed-call list)."""
        for connection in list(self._connections):
            connection.push(message)

    def to_leads(self, message: dict[str, Any]) -> None:
        text: str | None = None
        for connection in list(self._connections):
            if connection.is_lead:
                text = text or json.dumps(message)  # once, whatever the number of leads
                connection.push(text)

    def sockets_of(self, session_key: str) -> int:
        """How many websockets a session holds open."""
        return sum(1 for c in list(self._connections) if c.session_key == session_key)

    async def close_session(self, session_key: str, message: bytes) -> None:
        """Close every websocket of a session that ended (logout): 1008, policy violation."""
        for connection in list(self._connections):
            if connection.session_key == session_key:
                await connection.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=message)

    async def close_all(self) -> None:
        for connection in list(self._connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
            await connection.close()
