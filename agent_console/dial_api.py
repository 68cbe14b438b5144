"""Console API for click-to-call (回拨): dial the citizen of a 回访 or of a missed call.

Only the agent holding the task (or a shift lead) may dial; the gateway rings the dialler's
own phone first. Every dial is audited; the number is masked in logs and in the audit row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, audit_key
from agent_console.case_api import visible_case
from agent_console.http import current, why
from agent_console.openapi import operation
from hotline.accounts import Principal
from hotline.audit import AuditEntry
from hotline.case_scheduler import visit_item_id
from hotline.click_to_call import ClickToCall, Dial, DialError, DialTask
from hotline.missed_calls import MissedCalls
from hotline.privacy import mask_phone
from hotline.switchboard import Switchboard

# 409: the dial cannot start now (no phone registered, one in progress, no trunk, the agent
# busy with a call, the task offered to someone else).
_CONFLICTS = {"no-phone", "dial-in-progress", "no-outbound-proxy", "agent-busy", "not-yours"}


@dataclass(frozen=True)
class DialApi:
    dials: ClickToCall
    switchboard: Switchboard
    missed: MissedCalls
    clock: Callable[[], datetime]


dial_api_key = web.AppKey("dial_api", DialApi)


async def _start(request: web.Request, task: DialTask, ground: str) -> web.Response:
    api, principal = request.app[dial_api_key], current(request)
    try:
        dial = await api.dials.start(task, principal.agent_id)
    except DialError as error:
        status = 409 if error.error_id in _CONFLICTS else 400
        raise ApiError(status, error.error_id, str(error)) from None
    await _audit(request, principal, dial, ground)
    return web.json_response(
        {"dial_id": dial.id, "task": task.kind, "ref": task.ref, "state": "calling-agent"},
        status=202,
    )


async def _audit(request: web.Request, principal: Principal, dial: Dial, ground: str) -> None:
    kind = "ticket" if dial.task.kind == "visit" else "missed-call"
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "call.dial",
            kind,
            dial.task.ref,
            dial.started_at,
            why(ground, request),
            dial_id=dial.id,
            number=mask_phone(dial.task.number),
        )
    )


@operation(
    "Click-to-call the citizen of a 回访: the caller's own phone rings first, then the "
    "citizen through the trunk (recorded); progress follows as dial.state messages",
    responses={202: ("Dialling", schemas.DialStartedSchema)},
    errors=(401, 403, 404, 409),
)
async def dial_visit(request: web.Request) -> web.Response:
    """POST /api/tickets/{number}/visit/dial (the agent the 回访 is offered to, or a lead)."""
    api, principal = request.app[dial_api_key], current(request)
    record = await visible_case(request, request.match_info["number"])
    item = visit_item_id(record.ticket.number, record.case.visit_attempts)
    holder = api.switchboard.visit_held_by(item)
    if not principal.is_lead and holder != principal.agent_id:
        raise ApiError(403, "not-your-visit", "this 回访 is not offered to you")
    task = DialTask("visit", record.ticket.number, item, record.ticket.phone, record.ticket.hotline)
    return await _start(request, task, "shift-lead" if holder != principal.agent_id else "visit")


@operation(
    "Click-to-call a missed caller (漏话回拨): the caller's own phone rings first, then the "
    "citizen through the trunk (recorded); progress follows as dial.state messages",
    responses={202: ("Dialling", schemas.DialStartedSchema)},
    errors=(401, 403, 404, 409),
)
async def dial_callback(request: web.Request) -> web.Response:
    """POST /api/callbacks/{call_id}/dial (the agent holding the missed call, or a lead)."""
    api, principal = request.app[dial_api_key], current(request)
    call_id = request.match_info["call_id"]
    missed = await api.missed.get(call_id)
    if missed is None:
        raise ApiError(404, "unknown-call", f"no missed call {call_id}")
    if missed.status == "done":
        raise ApiError(409, "already-done", "这条漏话已回拨")
    offered_to = api.switchboard.routing.agent_for_call(call_id)
    # Taken from the list, or tried by this agent and not reached (a retry).
    taken_by = missed.agent_id if missed.status in ("offered", "unreached") else None
    holder = principal.agent_id in (offered_to, taken_by)
    if not principal.is_lead and not holder:
        raise ApiError(403, "not-your-callback", "this call-back is not yours to dial")
    task = DialTask(
        "callback", call_id, call_id, missed.number, missed.hotline or missed.queue, missed.queue
    )
    return await _start(request, task, "callback" if holder else "shift-lead")


@operation(
    "Stop a click-to-call: the INVITE still ringing (the agent's phone or the citizen) is "
    "CANCELled, a leg already answered gets BYE; the end follows as a dial.state message",
    responses={202: ("Stopping", schemas.DialCancelledSchema)},
    errors=(401, 403, 404, 409),
)
async def cancel_dial(request: web.Request) -> web.Response:
    """POST /api/dials/{dial_id}/cancel (the agent who dials, or a lead)."""
    api, principal = request.app[dial_api_key], current(request)
    dial_id = request.match_info["dial_id"]
    dial = api.dials.get(dial_id)
    if dial is None:
        raise ApiError(404, "unknown-dial", f"no dial {dial_id} in progress")
    if dial.agent_id != principal.agent_id and not principal.is_lead:
        raise ApiError(403, "not-your-dial", "this dial is not yours")
    if not api.dials.cancel(dial_id):
        raise ApiError(409, "dial-not-cancellable", "这通回拨尚未开始振铃，请稍后再试")
    if dial.agent_id != principal.agent_id:
        await request.app[audit_key].record(
            AuditEntry.of(
                principal,
                "call.dial.cancel",
                "missed-call" if dial.task.kind == "callback" else "ticket",
                dial.task.ref,
                api.clock(),
                why("shift-lead", request),
                dial_id=dial.id,
            )
        )
    return web.json_response({"dial_id": dial_id, "state": "cancelling"}, status=202)


def add_dial_routes(app: web.Application, api: DialApi) -> None:
    app[dial_api_key] = api
    app.router.add_post("/api/tickets/{number}/visit/dial", dial_visit)
    app.router.add_post("/api/callbacks/{call_id}/dial", dial_callback)
    app.router.add_post("/api/dials/{dial_id}/cancel", cancel_dial)
