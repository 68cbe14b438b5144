"""POST /api/calls/{call_id}/transfer and GET /api/transfer-targets."""

from __future__ import annotations

from aiohttp import web

from agent_console import case_schemas, schemas
from agent_console.app import ApiError, read_json, services_key
from agent_console.http import current
from agent_console.openapi import operation
from telephony.transfer import TransferError

STATUS = {
    "unknown-call": 404,
    "forbidden": 403,
    "not-connected": 409,
    "transfer-in-progress": 409,
    "unknown-target": 400,
    "invalid-mode": 400,
    "no-outbound-proxy": 503,
}


@operation(
    "Blind transfer or three-way call to a target of the directory",
    description=(
        "For the agent on the call or a shift lead. 202 while the target rings; "
        "call.transferred or call.transfer_failed follows on the websocket."
    ),
    body=schemas.TransferSchema,
    responses={202: ("The target is being called", schemas.TransferStartedSchema)},
    errors=(400, 401, 403, 404, 409, 415, 503),
)
async def transfer(request: web.Request) -> web.Response:
    """Blind transfer or three-way call to a target from the directory; 202 while it rings."""
    principal = current(request)
    call_id = request.match_info["call_id"]
    data = await read_json(request)
    switchboard = request.app[services_key].switchboard
    try:
        number = switchboard.transfer(
            call_id,
            data.get("target"),
            data.get("mode", "blind"),
            principal.agent_id,
            principal.is_lead,
        )
    except TransferError as error:
        field = {"unknown-target": "target", "invalid-mode": "mode"}.get(error.error_id)
        raise ApiError(STATUS.get(error.error_id, 400), error.error_id, str(error), field) from None
    return web.json_response(
        {"call_id": call_id, "target": number, "mode": data.get("mode", "blind")}, status=202
    )


@operation(
    "Hand the caller to 110/119/120/122 in one click (国办函〔2025〕66号); 202 while it rings",
    body=case_schemas.EmergencySchema,
    responses={202: ("The service is being called", case_schemas.EmergencyResultSchema)},
    errors=(400, 401, 403, 404, 409, 503),
)
async def emergency(request: web.Request) -> web.Response:
    """POST /api/calls/{call_id}/emergency {"service": "119"}: hand the caller to 110/119/
    120/122 in one click (the agent on the call or a lead); 202 while it rings."""
    principal = current(request)
    call_id = request.match_info["call_id"]
    service = (await read_json(request)).get("service")
    switchboard = request.app[services_key].switchboard
    if not isinstance(service, str) or service not in switchboard.emergency_numbers:
        known = ", ".join(switchboard.emergency_numbers) or "none configured"
        raise ApiError(400, "unknown-service", f"service must be one of {known}", "service")
    try:
        number = switchboard.hand_to_emergency(
            call_id, service, principal.agent_id, principal.is_lead
        )
    except TransferError as error:
        raise ApiError(STATUS.get(error.error_id, 400), error.error_id, str(error)) from None
    return web.json_response({"call_id": call_id, "service": service, "number": number}, status=202)


@operation(
    "The transfer directory: names and numbers",
    responses={200: ("Targets", schemas.TransferTargetListSchema)},
    errors=(401,),
)
async def targets(request: web.Request) -> web.Response:
    directory = request.app[services_key].switchboard.transfer_directory
    emergencies = request.app[services_key].switchboard.emergency_numbers
    # Emergency services have their own one-click button, not a place in the directory list.
    listed = {n: number for n, number in directory.items() if number not in emergencies.values()}
    return web.json_response(
        {
            "targets": [{"name": name, "number": number} for name, number in listed.items()],
            "emergency": [{"service": s, "number": n} for s, n in emergencies.items()],
        }
    )
