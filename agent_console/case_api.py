"""Case routes: the core's status events, 12345 hand-offs, the ticket history, the lead's
改派 / 不予受理 / 退回, 回访 outcomes and the dead-letter list. Handlers stay thin."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from agent_console import case_schemas as docs
from agent_console.app import ApiError, audit_key, read_json
from agent_console.case_inbound import case_error, parse_status_event, signed_json
from agent_console.case_views import case_json, case_summary
from agent_console.http import current, why
from agent_console.openapi import operation
from agent_console.schemas import TicketFormSchema
from cases import CaseError, CaseEvent, EventType
from dispatch import OutboxSender
from hotline.access import Decision, may_act, may_see
from hotline.audit import AuditEntry
from hotline.case_log import CaseLog, CaseRecord, UnknownCase
from hotline.case_scheduler import visit_item_id
from hotline.config import HandoffConfig
from hotline.switchboard import Switchboard
from hotline.tickets import (
    PHONE_PATTERN,
    TicketError,
    TicketService,
    parse_ticket_form,
    ticket_guard,
)

log = logging.getLogger(__name__)

OUTCOMES = {
    "satisfied": EventType.VISIT_SATISFIED,
    "fairly_satisfied": EventType.VISIT_FAIRLY_SATISFIED,
    "unsatisfied": EventType.VISIT_UNSATISFIED,
    "unreached": EventType.VISIT_UNREACHED,
}
ACTIONS = {
    "reassign": EventType.REASSIGNED,
    "reject": EventType.REJECTED,
    "send_back": EventType.SENT_BACK,
}


@dataclass(frozen=True)
class CaseApi:
    cases: CaseLog
    tickets: TicketService
    sender: OutboxSender
    switchboard: Switchboard
    dispatch_secret: str
    handoff: HandoffConfig
    max_event_bytes: int
    departments: Mapping[str, str]
    hotlines: tuple[str, ...]
    clock: Callable[[], datetime]
    wake_scheduler: Callable[[], None]


case_api_key = web.AppKey("case_api", CaseApi)


def _api(request: web.Request) -> CaseApi:
    return request.app[case_api_key]


def visit_agent(api: CaseApi, record: CaseRecord) -> str | None:
    """The agent the case's 回访 is offered to now, if any."""
    item = visit_item_id(record.ticket.number, record.case.visit_attempts)
    return api.switchboard.visit_held_by(item)


def _guard_decision(request: web.Request, record: CaseRecord, act: bool = False) -> Decision:
    """The one access policy, with the agent working the case's 回访 among its workers."""
    api, principal = _api(request), current(request)
    worker = visit_agent(api, record)
    guard = ticket_guard(record.ticket, frozenset({worker}) if worker else frozenset())
    if not act and not record.ticket.confidential:
        # The citizen is on the line with this agent: their earlier cases may be read out.
        live = api.switchboard.live_call_for(principal.agent_id)
        on_line = live is not None and live.caller.strip() == record.ticket.phone.strip()
        guard = replace(guard, on_line=on_line)
    return (may_act if act else may_see)(principal, guard)


async def _audit(
    request: web.Request, action: str, number: str, ground: str, **detail: object
) -> None:
    await request.app[audit_key].record(
        AuditEntry.of(
            current(request),
            action,
            "ticket",
            number,
            _api(request).clock(),
            why(ground, request),
            **{k: str(v) for k, v in detail.items()},
        )
    )


async def visible_case(request: web.Request, number: str, act: bool = False) -> CaseRecord:
    """The case, if the principal may see (or act on) it; 404 otherwise, exactly like a
    ticket that does not exist."""
    record = await _api(request).cases.get(number)
    if record is None or not _guard_decision(request, record, act):
        raise ApiError(404, "unknown-ticket", "no ticket with that number")
    return record


async def _record(api: CaseApi, number: str, event: CaseEvent) -> CaseRecord:
    try:
        appended = await api.cases.record(number, event)
    except UnknownCase:
        raise ApiError(404, "unknown-ticket", f"no case {number}") from None
    except CaseError as error:
        raise case_error(error) from None
    api.sender.wake()
    api.wake_scheduler()
    return appended.record


# --- the dispatch core and 12345 -------------------------------------------------------


@operation(
    "A status event from the dispatch core (派遣 … 结案), applied once per event_id",
    body=docs.StatusEventSchema,
    responses={
        200: ("Applied, or already applied for that event_id", docs.StatusEventResultSchema),
        401: ("Missing or wrong X-Hotline-Signature (error_id bad-signature)", None),
    },
    errors=(400, 401, 404, 409, 413, 415),
    public=True,
    parameters=[docs.SIGNATURE],
    description=(
        "Signed with [dispatch] secret. 401 bad or missing signature, 404 unknown ticket, 409 "
        "not allowed from the current state (or out of order, or over the 延期 cap), 400/413/415 "
        "malformed; every error carries error_id. See docs/CASES.md."
    ),
)
async def dispatch_event(request: web.Request) -> web.Response:
    """POST /api/dispatch/events: one status event from the dispatch core."""
    api = _api(request)
    data = await signed_json(request, api.dispatch_secret, api.max_event_bytes)
    status = parse_status_event(data)
    try:
        appended = await api.cases.record(
            status.ticket, status.event, source_event_id=status.event_id
        )
    except UnknownCase:
        log.warning("status event for an unknown case", extra={"event_id": status.event_id})
        raise ApiError(404, "unknown-ticket", f"no case {status.ticket}") from None
    except CaseError as error:
        log.warning(
            "status event refused",
            extra={"event_id": status.event_id, "ticket": status.ticket, "error": error.error_id},
        )
        raise case_error(error) from None
    api.sender.wake()
    api.wake_scheduler()
    case = appended.record.case
    return web.json_response(
        {
            "event_id": status.event_id,
            "ticket": status.ticket,
            "applied": not appended.duplicate,
            "duplicate": appended.duplicate,
            "state": case.state.value,
        }
    )


@operation(
    "A case transferred from the 12345 platform (idempotent on external_number)",
    body=docs.HandoffSchema,
    responses={
        201: ("Filed as a new ticket (source 12345)", docs.HandoffResultSchema),
        200: ("Already filed", docs.HandoffResultSchema),
        401: ("Missing or wrong X-Hotline-Signature (error_id bad-signature)", None),
    },
    errors=(400, 401, 413, 415),
    public=True,
    parameters=[docs.SIGNATURE],
)
async def handoff_12345(request: web.Request) -> web.Response:
    """POST /api/handoff/12345: a case the 12345 platform transfers (idempotent on its number)."""
    api = _api(request)
    data = await signed_json(request, api.handoff.secret, api.max_event_bytes)
    external = data.get("external_number")
    if not isinstance(external, str) or not external.strip() or len(external) > 60:
        raise ApiError(400, "missing-field", "external_number is required", "external_number")
    existing = await api.tickets.by_external_number(external.strip())
    if existing is not None:
        return web.json_response(
            {"number": existing.number, "external_number": external, "duplicate": True}
        )
    form = {**data, "hotline": api.handoff.hotline, "source": "12345"}
    try:
        draft = parse_ticket_form(form, api.departments, api.hotlines)
    except TicketError as error:
        raise ApiError(400, error.error_id, str(error), error.field) from None
    draft = replace(draft, external_number=external.strip(), call_id=None, merge_into=None)
    try:
        ticket = await api.tickets.save(draft, None, api.clock())
    except IntegrityError:
        again = await api.tickets.by_external_number(external.strip())
        if again is None:
            raise
        ticket = again  # the same hand-off raced in twice; the first one stands
    api.sender.wake()
    return web.json_response(
        {"number": ticket.number, "external_number": external, "duplicate": False}, status=201
    )


# --- the console -----------------------------------------------------------------------


@operation(
    "One ticket with its state, deadline, overdue mark and event history (the view is audited)",
    responses={200: ("The ticket and its case", docs.CaseViewSchema)},
    errors=(401, 404),
)
async def get_case(request: web.Request) -> web.Response:
    """GET /api/tickets/{number}: its agent, the agent working its 回访, leads and admins."""
    api = _api(request)
    number = request.match_info["number"]
    record = await api.cases.get(number)
    decision = None if record is None else _guard_decision(request, record)
    if record is None or not decision:
        raise ApiError(404, "unknown-ticket", "no ticket with that number")
    # Recorded before the data leaves: who saw which citizen's data, when and on what ground.
    await _audit(request, "ticket.view", number, decision.ground)
    delivery = await api.tickets.delivery(record.ticket.id)
    delivered = delivery is not None and delivery.delivered_at is not None
    return web.json_response(case_json(record, api.clock(), delivered))


@operation(
    "A caller's tickets with state and deadline (查询进度), numbers and addresses masked",
    responses={200: ("Tickets, newest first", docs.CaseListSchema)},
    errors=(400, 401),
    parameters=[{"name": "phone", "in": "query", "required": True, "schema": {"type": "string"}}],
)
async def list_cases(request: web.Request) -> web.Response:
    """GET /api/tickets?phone=: what the policy lets the principal see; an agent with that
    citizen on the line sees their earlier (not 保密) cases."""
    api = _api(request)
    phone = request.query.get("phone", "").strip()
    if not PHONE_PATTERN.match(phone):
        raise ApiError(400, "invalid-field", "phone must be a telephone number", "phone")
    principal, now = current(request), api.clock()
    live = api.switchboard.live_call_for(principal.agent_id)
    on_line = live is not None and live.caller.strip() == phone
    found = []
    for number in await api.tickets.numbers_for_phone(phone):
        record = await api.cases.get(number)
        if record is None:
            continue
        worker = visit_agent(api, record)
        guard = replace(
            ticket_guard(record.ticket, frozenset({worker}) if worker else frozenset()),
            on_line=on_line and not record.ticket.confidential,
        )
        if may_see(principal, guard):
            found.append(case_summary(record, now))
    if found:
        await _audit(request, "ticket.list", phone[-4:], "by-phone", count=len(found))
    return web.json_response({"tickets": found})


@operation(
    "Shift leads: 改派 (reassign), 不予受理 (reject) or 退回 12345 (send_back); audited",
    body=docs.CaseActionSchema,
    responses={200: ("The case now", docs.CaseViewSchema)},
    errors=(400, 401, 403, 404, 409),
)
async def case_action(request: web.Request) -> web.Response:
    """POST /api/tickets/{number}/actions: a shift lead's 改派, 不予受理 or 退回 12345."""
    api, principal = _api(request), current(request)
    if not principal.is_lead:
        raise ApiError(403, "lead-only", "only a shift lead may 改派, reject or send back")
    record = await visible_case(request, request.match_info["number"])
    data = await read_json(request)
    kind = ACTIONS.get(str(data.get("action", "")))
    if kind is None:
        raise ApiError(
            400, "invalid-field", f"action must be one of {', '.join(ACTIONS)}", "action"
        )
    reason = data.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 1000:
        raise ApiError(400, "invalid-field", "reason must be text", "reason")
    department = data.get("department")
    if kind is EventType.REASSIGNED and department not in api.departments:
        raise ApiError(400, "invalid-field", "department must be a known department", "department")
    if kind is EventType.SENT_BACK:
        if record.ticket.source != "12345":
            raise ApiError(409, "not-from-12345", "only a case from 12345 can be sent back")
        if not api.handoff.return_url:
            raise ApiError(409, "send-back-off", "[handoff] return_url is not configured")
    event = CaseEvent(
        kind,
        api.clock(),
        principal.agent_id,
        reason.strip(),
        department if isinstance(department, str) else None,
    )
    updated = await _record(api, record.ticket.number, event)
    return web.json_response(case_json(updated, api.clock(), None))


@operation(
    "The 回访 outcome, by the agent it is offered to (or a lead)",
    body=docs.VisitOutcomeSchema,
    responses={200: ("The case now", docs.CaseViewSchema)},
    errors=(400, 401, 403, 404, 409),
)
async def visit_outcome(request: web.Request) -> web.Response:
    """POST /api/tickets/{number}/visit: what the 回访 found (满意 … 未接通)."""
    api, principal = _api(request), current(request)
    record = await visible_case(request, request.match_info["number"])
    item = visit_item_id(record.ticket.number, record.case.visit_attempts)
    holder = api.switchboard.visit_held_by(item)
    if not principal.is_lead and holder != principal.agent_id:
        raise ApiError(403, "not-your-visit", "this 回访 is not offered to you")
    data = await read_json(request)
    kind = OUTCOMES.get(str(data.get("outcome", "")))
    if kind is None:
        raise ApiError(
            400, "invalid-field", f"outcome must be one of {', '.join(OUTCOMES)}", "outcome"
        )
    note = data.get("note", "")
    if not isinstance(note, str) or len(note) > 1000:
        raise ApiError(400, "invalid-field", "note must be text", "note")
    event = CaseEvent(kind, api.clock(), principal.agent_id, note.strip())
    updated = await _record(api, record.ticket.number, event)
    api.switchboard.finish_visit(item)
    return web.json_response(case_json(updated, api.clock(), None))


@operation(
    "Complete a voicemail draft: it becomes a case (source voicemail) and is forwarded",
    body=TicketFormSchema,
    responses={201: ("The case", docs.CaseViewSchema)},
    errors=(400, 401, 404, 409),
)
async def complete_voicemail(request: web.Request) -> web.Response:
    """POST /api/voicemails/{number}/complete: the agent who listened fills in the draft; it
    becomes a case (source voicemail) and is forwarded."""
    api, principal = _api(request), current(request)
    number = request.match_info["number"]
    existing = await api.tickets.get(number)
    if existing is None or not may_act(principal, ticket_guard(existing)):
        raise ApiError(404, "unknown-ticket", "no such voicemail draft")
    data = await read_json(request)
    form = {
        **data,
        "hotline": existing.hotline,
        "call_id": existing.call_id,
        "merge_into": None,
        # The caller's number is known from the call; the agent may correct it.
        "phone": data.get("phone") or existing.phone,
    }
    try:
        draft = parse_ticket_form(form, api.departments, api.hotlines)
        await api.tickets.complete_draft(number, draft, principal.agent_id, api.clock())
    except TicketError as error:
        status = {"unknown-ticket": 404, "not-a-draft": 409}.get(error.error_id, 400)
        raise ApiError(status, error.error_id, str(error), error.field) from None
    api.sender.wake()
    record = await api.cases.get(number)
    assert record is not None  # just opened in the same transaction as the completion
    return web.json_response(case_json(record, api.clock(), False), status=201)


@operation(
    "Shift leads: what the core or 12345 refused (4xx), newest first",
    responses={200: ("Dead letters", docs.DeadLetterListSchema)},
    errors=(401, 403),
)
async def dead_letters(request: web.Request) -> web.Response:
    """GET /api/dead-letters: what the core or 12345 refused for good (leads)."""
    if not current(request).is_lead:
        raise ApiError(403, "lead-only", "only a shift lead can see the dead letters")
    rows = await _api(request).sender.dead_letters()
    return web.json_response(
        {
            "dead_letters": [
                {
                    "id": row.id,
                    "key": row.idempotency_key,
                    "kind": row.kind,
                    "target": row.target,
                    "command": row.payload.get("command", "case"),
                    "ticket": row.payload.get("ticket") or row.payload.get("number"),
                    "attempts": row.attempts,
                    "error": row.last_error,
                    "dead_at": None if row.dead_at is None else row.dead_at.isoformat(),
                }
                for row in rows
            ]
        }
    )


@operation(
    "Shift leads: send a dead letter again (audited)",
    responses={200: ("Queued again", docs.ResentSchema)},
    errors=(401, 403, 404),
)
async def retry_dead_letter(request: web.Request) -> web.Response:
    """POST /api/dead-letters/{id}/retry: send it again (a lead fixed the cause)."""
    principal = current(request)
    if not principal.is_lead:
        raise ApiError(403, "lead-only", "only a shift lead can resend a dead letter")
    try:
        row_id = int(request.match_info["id"])
    except ValueError:
        raise ApiError(404, "unknown-dead-letter", "no such dead letter") from None
    row = await _api(request).sender.retry(row_id)
    if row is None:
        raise ApiError(404, "unknown-dead-letter", "no such dead letter")
    log.info("dead letter resent", extra={"row": row_id, "lead": principal.agent_id})
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "outbox.resend",
            "outbox",
            str(row_id),
            _api(request).clock(),
            "shift-lead",
            command=str(row.payload.get("command", "case")),
        )
    )
    return web.json_response({"id": row_id, "resent": True})


def add_case_routes(app: web.Application, api: CaseApi) -> None:
    app[case_api_key] = api
    app.router.add_post("/api/dispatch/events", dispatch_event)
    app.router.add_post("/api/handoff/12345", handoff_12345)
    app.router.add_get("/api/tickets", list_cases)
    app.router.add_get("/api/tickets/{number}", get_case)
    app.router.add_post("/api/tickets/{number}/actions", case_action)
    app.router.add_post("/api/tickets/{number}/visit", visit_outcome)
    app.router.add_post("/api/voicemails/{number}/complete", complete_voicemail)
    app.router.add_get("/api/dead-letters", dead_letters)
    app.router.add_post("/api/dead-letters/{id}/retry", retry_dead_letter)
