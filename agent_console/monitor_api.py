"""POST/DELETE /api/calls/{call_id}/monitor: a shift lead listens, whispers or barges in."""

from __future__ import annotations

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, audit_key, options_key, read_json
from agent_console.http import current
from agent_console.openapi import operation
from hotline.accounts import Principal
from hotline.audit import AuditEntry
from hotline.monitoring import CallMonitoring
from telephony.supervision import MonitorError

monitoring_key = web.AppKey("monitoring", CallMonitoring)

STATUS = {
    "invalid-mode": 400,
    "unknown-call": 404,
    "not-monitoring": 404,
    "not-connected": 409,
    "no-phone": 409,
    "monitored": 409,
    "on-hold": 409,
    "transfer-in-progress": 409,
}


def _lead(request: web.Request) -> Principal:
    principal = current(request)
    if not principal.is_lead:
        raise ApiError(403, "lead-only", "only a shift lead can listen in on a call")
    return principal


def _failed(error: MonitorError) -> ApiError:
    field = "mode" if error.error_id == "invalid-mode" else None
    return ApiError(STATUS.get(error.error_id, 400), error.error_id, str(error), field)


@operation(
    "Leads: listen (监听), whisper (密语) or barge (强插) on a connected call",
    description=(
        "The gateway calls the lead's own registered phone into the call; once it answers, "
        "listen lets the lead hear caller and agent with nobody hearing the lead, whisper "
        "lets the agent (only) hear the lead too, barge makes a three-way call. Posting "
        "again while the lead is on switches the mode at once. The lead hanging up (or "
        "DELETE) ends it. Audited. 403 not a lead; 404 no such call; 409 not connected, on "
        "hold or being transferred, the lead has no registered phone (no-phone), or another "
        "lead is on the call (monitored)."
    ),
    body=schemas.MonitorRequestSchema,
    responses={202: ("Ringing the lead's phone, or mode switched", schemas.MonitorSchema)},
    errors=(400, 401, 403, 404, 409, 415),
)
async def start(request: web.Request) -> web.Response:
    principal = _lead(request)
    call_id = request.match_info["call_id"]
    mode = (await read_json(request)).get("mode")
    try:
        started = request.app[monitoring_key].monitor(call_id, principal.agent_id, mode)
    except MonitorError as error:
        raise _failed(error) from None
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "call.monitor",
            "call",
            call_id,
            request.app[options_key].clock(),
            f"{started.mode} on the call of {started.agent_id}",
            agent=started.agent_id,
            mode=started.mode,
        )
    )
    return web.json_response(
        {
            "call_id": call_id,
            "agent_id": started.agent_id,
            "mode": started.mode,
            "state": started.state,
        },
        status=202,
    )


@operation(
    "Leads: leave a call listened to (the lead's phone gets BYE; caller and agent talk on)",
    responses={200: ("Left", schemas.MonitorSchema)},
    errors=(401, 403, 404),
)
async def stop(request: web.Request) -> web.Response:
    principal = _lead(request)
    call_id = request.match_info["call_id"]
    try:
        agent_id = request.app[monitoring_key].stop(call_id, principal.agent_id)
    except MonitorError as error:
        raise _failed(error) from None
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "call.monitor.stop",
            "call",
            call_id,
            request.app[options_key].clock(),
            f"left the call of {agent_id}",
            agent=agent_id,
        )
    )
    return web.json_response({"call_id": call_id, "agent_id": agent_id, "state": "ended"})


def add_routes(app: web.Application, monitoring: CallMonitoring) -> None:
    app[monitoring_key] = monitoring
    app.router.add_post("/api/calls/{call_id}/monitor", start)
    app.router.add_delete("/api/calls/{call_id}/monitor", stop)
