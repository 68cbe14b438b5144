"""POST /api/calls/{call_id}/hold|resume|mute|unmute|hangup: the call buttons of the desk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, audit_key, options_key
from agent_console.http import current
from agent_console.openapi import operation
from hotline.audit import AuditEntry
from hotline.call_control import CallControls
from telephony.call_control import ACTIONS, CallControlError

call_controls_key = web.AppKey("call_controls", CallControls)

STATUS = {"unknown-call": 404, "forbidden": 403, "not-connected": 409, "invalid-action": 400}
SUMMARIES: Mapping[str, str] = {
    "hold": "Put the caller on hold: the caller hears music on hold, the agent is not heard",
    "resume": "Take the caller off hold: caller and agent are bridged again",
    "mute": "Mute the agent: the caller stops hearing the agent, the agent still hears them",
    "unmute": "Unmute the agent",
    "hangup": "Hang up: BYE to the caller and to the agent's phone; wrap-up follows",
}


def _handler(action: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    @operation(
        SUMMARIES[action],
        description=(
            "For the agent on the call or a shift lead (403 otherwise; a lead's action on "
            "another agent's call is audited). 404 no such call, 409 not connected."
        ),
        responses={200: ("Done", schemas.CallControlSchema)},
        errors=(401, 403, 404, 409),
    )
    async def handler(request: web.Request) -> web.Response:
        principal = current(request)
        call_id = request.match_info["call_id"]
        try:
            done = request.app[call_controls_key].act(
                call_id, action, principal.agent_id, principal.is_lead
            )
        except CallControlError as error:
            raise ApiError(STATUS.get(error.error_id, 400), error.error_id, str(error)) from None
        if done.agent_id != principal.agent_id:
            await request.app[audit_key].record(
                AuditEntry.of(
                    principal,
                    f"call.{action}",
                    "call",
                    call_id,
                    request.app[options_key].clock(),
                    f"on the call of {done.agent_id}",
                    agent=done.agent_id,
                )
            )
        return web.json_response({"call_id": call_id, "action": action})

    handler.__name__ = f"call_{action}"
    return handler


def add_routes(app: web.Application, controls: CallControls) -> None:
    app[call_controls_key] = controls
    for action in ACTIONS:
        app.router.add_post(f"/api/calls/{{call_id}}/{action}", _handler(action))
