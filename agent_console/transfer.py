"""POST /api/calls/{call_id}/transfer, .../transfer/complete|cancel (a consulted transfer's
转接 and 取回) and GET /api/transfer-targets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from agent_console import case_schemas, schemas
from agent_console.app import ApiError, audit_key, options_key, read_json, services_key
from agent_console.http import current
from agent_console.openapi import operation
from hotline.audit import AuditEntry
from telephony.transfer import TransferError

STATUS = {
    "unknown-call": 404,
    "forbidden": 403,
    "not-connected": 409,
    "transfer-in-progress": 409,
    "unknown-target": 400,
    "invalid-mode": 400,
    "no-outbound-proxy": 503,
    "no-consultation": 409,
    "consultation-ringing": 409,
}


@operation(
    "Blind, three-way or consulted transfer to a target of the directory",
    description=(
        "For the agent on the call or a shift lead. 202 while the target rings; "
        "call.transferred or call.transfer_failed follows on the websocket. Mode attended "
        "(咨询转接): the caller hears music on hold while the target rings; call.consulting "
        "says the agent now talks with the target; then complete or cancel the transfer."
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


def _finish(action: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    summary = {
        "complete": "转接: the consulted target takes the caller; the agent's leg is hung up "
        "and the agent wraps up (call.transferred, mode attended, then call.ended)",
        "cancel": "取回: the consulted target's leg is hung up (or cancelled while it rings) "
        "and the caller talks with the agent again (call.transfer_failed, reason cancelled)",
    }[action]

    @operation(
        summary,
        description=(
            "For the agent on the call or a shift lead (a lead's action on another agent's "
            "call is audited). 409 no-consultation when no consulted transfer is in progress, "
            "consultation-ringing when completing before the target answered."
        ),
        responses={200: ("Done", schemas.TransferFinishedSchema)},
        errors=(401, 403, 404, 409, 503),
    )
    async def handler(request: web.Request) -> web.Response:
        principal = current(request)
        call_id = request.match_info["call_id"]
        switchboard = request.app[services_key].switchboard
        try:
            on_call = switchboard.finish_transfer(
                call_id, action, principal.agent_id, principal.is_lead
            )
        except TransferError as error:
            raise ApiError(STATUS.get(error.error_id, 400), error.error_id, str(error)) from None
        if on_call != principal.agent_id:
            await request.app[audit_key].record(
                AuditEntry.of(
                    principal,
                    f"call.transfer_{action}",
                    "call",
                    call_id,
                    request.app[options_key].clock(),
                    f"on the call of {on_call}",
                    agent=on_call,
                )
            )
        return web.json_response({"call_id": call_id, "action": action})

    handler.__name__ = f"transfer_{action}"
    return handler


complete = _finish("complete")
cancel = _finish("cancel")


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
