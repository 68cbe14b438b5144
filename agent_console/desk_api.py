"""POST /api/agents/{agent_id}/wrap-up/extend: 延长 on the desk's wrap-up countdown."""

from __future__ import annotations

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, services_key
from agent_console.http import current
from agent_console.openapi import operation
from routing import RoutingError


@operation(
    "Extend the agent's wrap-up (延长) by [routing] wrap_up_extend_seconds, "
    "up to wrap_up_max_seconds after the call ended",
    description=(
        "The agent themself or a shift lead. 409 not-in-wrap-up or wrap-up-at-limit. "
        '立即示闲 is POST /api/agents/{agent_id}/state {"state": "ready"}.'
    ),
    responses={200: ("The new end of the wrap-up", schemas.WrapUpSchema)},
    errors=(401, 403, 404, 409),
)
async def extend_wrap_up(request: web.Request) -> web.Response:
    principal = current(request)
    agent_id = request.match_info["agent_id"]
    if agent_id != principal.agent_id and not principal.is_lead:
        raise ApiError(403, "forbidden", "agents may extend only their own wrap-up")
    switchboard = request.app[services_key].switchboard
    if switchboard.routing.find_agent(agent_id) is None:
        raise ApiError(404, "unknown-agent", f"agent {agent_id} is not logged in")
    try:
        until = switchboard.extend_wrap_up(agent_id)
    except RoutingError as error:
        raise ApiError(409, error.error_id, str(error)) from None
    return web.json_response({"agent_id": agent_id, "wrap_up_until": until.isoformat()})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/agents/{agent_id}/wrap-up/extend", extend_wrap_up)
