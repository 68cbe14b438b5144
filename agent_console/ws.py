"""The console websocket: pushes call offered / connected / ended and state changes."""

from __future__ import annotations

import logging

from aiohttp import WSMsgType, web

from agent_console.app import notifier_key, services_key
from agent_console.http import current
from agent_console.notifier import ConsoleConnection
from agent_console.openapi import operation

log = logging.getLogger(__name__)


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
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    notifier = request.app[notifier_key]
    connection = ConsoleConnection(ws, principal.agent_id, principal.is_lead)
    notifier.add(connection)
    switchboard = request.app[services_key].switchboard
    try:
        status = switchboard.routing.find_agent(principal.agent_id)
        connection.push(
            {
                "type": "hello",
                "agent": {"id": principal.agent_id, "name": principal.name, "role": principal.role},
                "state": status.state.value if status else "logged_out",
            }
        )
        live = switchboard.live_call_for(principal.agent_id)
        if live is not None:
            kind = "call.connected" if live.state == "connected" else "call.offered"
            connection.push(live.as_message(kind))
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "ping":
                connection.push({"type": "pong"})
            elif message.type == WSMsgType.ERROR:
                log.debug("websocket error", extra={"agent": principal.agent_id})
    finally:
        notifier.remove(connection)
        await connection.close()
    return ws
