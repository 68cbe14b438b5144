"""The console websocket: pushes call offered / connected / ended and state changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from aiohttp import WSCloseCode, WSMsgType, web

from agent_console.app import ApiError, notifier_key, options_key, services_key
from agent_console.http import current
from agent_console.notifier import ConsoleConnection
from agent_console.openapi import operation
from agent_console.wallboard_api import wallboard_key
from hotline.accounts import Accounts, Principal
from hotline.presence_watch import PresenceWatch
from hotline.throttle import MessageRate

log = logging.getLogger(__name__)
presence_key = web.AppKey("presence", PresenceWatch)


# A session's end is checked at least this often, so a session revoked elsewhere (a password
# changed from the CLI) closes its websockets too.
RECHECK_SECONDS = 60.0


@operation(
    "Websocket of console events (JSON); closes with 1008 on logout or session expiry",
    responses={101: ("Switching protocols", None)},
    errors=(401, 403, 429),
)
async def handler(request: web.Request) -> web.WebSocketResponse:
    principal = current(request)
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        # Another site's page must not ride an agent's session (cross-site websocket hijacking).
        raise web.HTTPForbidden(text="cross-origin websocket refused")
    options = request.app[options_key]
    limits = options.websocket
    notifier = request.app[notifier_key]
    if notifier.sockets_of(principal.session_key) >= limits.per_session:
        raise ApiError(
            429,
            "too-many-sockets",
            f"a session may hold {limits.per_session} websockets open; close one first",
        )
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=limits.max_message_bytes)
    await ws.prepare(request)
    connection = ConsoleConnection(ws, principal.agent_id, principal.is_lead, principal.session_key)
    notifier.add(connection)
    presence = request.app.get(presence_key)
    if presence is not None:
        presence.connected(principal.agent_id)
    switchboard = request.app[services_key].switchboard
    socket_done = asyncio.Event()
    watchdog = asyncio.create_task(
        _close_when_session_ends(
            ws, request.app[services_key].accounts, principal, options.clock, socket_done
        ),
        name=f"ws-session-{principal.agent_id}",
    )
    rate = MessageRate(limits.messages_per_second, limits.burst)
    loop = asyncio.get_running_loop()
    try:
        if notifier.sockets_of(principal.session_key) > limits.per_session:
            # Opened at the same moment as another one that took the last place.
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too many websockets")
            return ws
        status = switchboard.routing.find_agent(principal.agent_id)
        state = switchboard.state_message(status) if status else {"state": "logged_out"}
        connection.push(
            {
                "type": "hello",
                "agent": {"id": principal.agent_id, "name": principal.name, "role": principal.role},
                "state": state["state"],
                "reason": state.get("reason", ""),
                "wrap_up_until": state.get("wrap_up_until"),
                "phone": request.app[services_key].phone_status(principal.agent_id),
            }
        )
        feed = request.app.get(wallboard_key)
        if principal.is_lead and feed is not None:
            connection.push(await feed.snapshot())  # then wallboard.* updates as things change
        live = switchboard.live_call_for(principal.agent_id)
        if live is not None:
            kind = "call.connected" if live.state == "connected" else "call.offered"
            connection.push(live.as_message(kind))
        async for message in ws:
            if not rate.allow(loop.time()):
                log.warning("websocket flooded; closed", extra={"agent": principal.agent_id})
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too many messages")
                break
            if message.type == WSMsgType.TEXT and message.data == "ping":
                connection.push({"type": "pong"})
            elif message.type == WSMsgType.ERROR:
                log.debug("websocket error", extra={"agent": principal.agent_id})
    finally:
        # Told, not cancelled: a task cancelled inside a SQLite query leaves its connection
        # invalidated with the write lock still held, and every later write "database is
        # locked". The watchdog ends after its current check.
        notifier.remove(connection)
        if presence is not None:
            presence.disconnected(principal.agent_id)
        socket_done.set()
        await connection.close()
        await asyncio.shield(watchdog)
    return ws


async def _close_when_session_ends(
    ws: web.WebSocketResponse,
    accounts: Accounts,
    principal: Principal,
    clock: Callable[[], datetime],
    socket_done: asyncio.Event,
) -> None:
    """Close the socket with 1008 when its session expires (absolute or idle) or is revoked;
    end once `socket_done` is set."""
    while not ws.closed and not socket_done.is_set():
        ends = await accounts.session_ends_at(principal.session_key)
        now = clock()
        if ends is None or ends <= now:
            log.info("session ended; websocket closed", extra={"agent": principal.agent_id})
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session ended")
            return
        with contextlib.suppress(TimeoutError):
            wait = min(RECHECK_SECONDS, (ends - now).total_seconds())
            await asyncio.wait_for(socket_done.wait(), timeout=wait)
