"""Thin JSON handlers: check access, call the service, serialise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from agent_console import schemas
from agent_console.app import (
    PUBLIC_PATHS,
    SESSION_COOKIE,
    STATIC,
    ApiError,
    audit_key,
    cluster_key,
    health_key,
    notifier_key,
    options_key,
    read_json,
    services_key,
    throttle_key,
)
from agent_console.openapi import operation
from hotline.accounts import AccountError, Principal
from hotline.audit import AuditEntry
from hotline.models import Ticket
from hotline.tickets import TicketError, parse_ticket_form, ticket_fields
from routing import AgentState, RoutingError

principal_key = web.RequestKey("principal", Principal)
STATE_NAMES = {
    "ready": AgentState.READY,
    "paused": AgentState.PAUSED,
    "logged_out": AgentState.LOGGED_OUT,
}


def session_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip() or None
    return request.cookies.get(SESSION_COOKIE)


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every /api and /ws request but login needs a live session."""
    path = request.path
    if path in PUBLIC_PATHS or not (path.startswith("/api/") or path == "/ws"):
        return await handler(request)
    token = session_token(request)
    principal = None
    if token is not None:
        options = request.app[options_key]
        principal = await request.app[services_key].accounts.principal(token, options.clock())
    if principal is None:
        raise ApiError(401, "not-logged-in", "log in first")
    request[principal_key] = principal
    return await handler(request)


def why(ground: str, request: web.Request) -> str:
    """The audit log's why: the policy's ground and the purpose the client gave, if any."""
    purpose = request.query.get("purpose", "").strip()[:100]
    return f"{ground}: {purpose}" if purpose else ground


def current(request: web.Request) -> Principal:
    principal: Principal = request[principal_key]
    return principal


@operation("The console page (HTML)", public=True, errors=(), responses={200: ("The page", None)})
async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


@operation(
    "200 when SIP, database and forwarding sender are up, else 503",
    public=True,
    errors=(),
    responses={
        200: ("Healthy", schemas.HealthSchema),
        503: ("A part is down", schemas.HealthSchema),
    },
)
async def healthz(request: web.Request) -> web.Response:
    checks = await request.app[health_key]()
    status = 200 if all(checks.values()) else 503
    body: dict[str, Any] = {"ok": status == 200, "checks": checks}
    node = request.app.get(cluster_key)
    if node is not None:
        body |= {"role": node.role, "node": node.node}
    return web.json_response(body, status=status)


@operation(
    "Log in with agent id and password",
    public=True,
    body=schemas.LoginSchema,
    responses={200: ("Session started", schemas.LoginResultSchema)},
    errors=(400, 401, 415, 429),
)
async def login(request: web.Request) -> web.Response:
    data = await read_json(request)
    agent_id, password = data.get("agent_id"), data.get("password")
    if not isinstance(agent_id, str) or not isinstance(password, str) or not agent_id:
        raise ApiError(400, "missing-field", "agent_id and password are required")
    options = request.app[options_key]
    now = options.clock()
    throttles = request.app[throttle_key]
    agent_key, address_key = [agent_id.strip()], [str(request.remote)]
    waits = [
        throttles.agent.retry_after(agent_key, now),
        throttles.address.retry_after(address_key, now),
    ]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise ApiError(
            429, "too-many-attempts", f"too many wrong passwords; try again in {int(wait) + 1} s"
        )
    try:
        token, principal = await request.app[services_key].accounts.login(
            agent_id.strip(), password, now
        )
    except AccountError as error:
        throttles.agent.failed(agent_key, now)
        throttles.address.failed(address_key, now)
        raise ApiError(401, error.error_id, str(error)) from None
    throttles.agent.succeeded(agent_key)
    response = web.json_response({"token": token, "agent": _principal_json(principal)})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=options.secure_cookies,
        max_age=int(options.session_hours * 3600),
    )
    return response


@operation(
    "End the session (and log out of the queue); its websockets close with 1008",
    responses={200: ("Logged out", schemas.OkSchema)},
    errors=(401,),
)
async def logout(request: web.Request) -> web.Response:
    token = session_token(request)
    services = request.app[services_key]
    principal = current(request)
    services.switchboard.request_state(principal.agent_id, AgentState.LOGGED_OUT, "logout")
    if token:
        await services.accounts.logout(token)
    await request.app[notifier_key].close_session(principal.session_key, b"logged out")
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE)
    return response


def _principal_json(principal: Principal) -> dict[str, Any]:
    return {"id": principal.agent_id, "name": principal.name, "role": principal.role}


def _agent_state_json(request: web.Request, agent_id: str) -> dict[str, Any]:
    status = request.app[services_key].switchboard.routing.find_agent(agent_id)
    if status is None:
        return {
            "agent_id": agent_id,
            "state": "logged_out",
            "since": None,
            "reason": "",
            "call_id": None,
            "after_call": None,
        }
    return {
        "agent_id": agent_id,
        "state": status.state.value,
        "since": status.since.isoformat(),
        "reason": status.reason,
        "call_id": status.call_id,
        "after_call": status.after_call.value if status.after_call else None,
    }


@operation("Who I am, my state and my current call", responses={200: ("Me", schemas.MeSchema)})
async def me(request: web.Request) -> web.Response:
    principal = current(request)
    live = request.app[services_key].switchboard.live_call_for(principal.agent_id)
    call = live.as_message("call") if live is not None else None
    return web.json_response(
        {
            "agent": _principal_json(principal),
            "status": _agent_state_json(request, principal.agent_id),
            "call": call,
            "hotlines": list(request.app[options_key].hotlines),
            "pause_reasons": list(request.app[options_key].pause_reasons),
        }
    )


@operation(
    "All agents with their state (shift leads and admins)",
    responses={200: ("Agents", schemas.AgentListSchema)},
)
async def list_agents(request: web.Request) -> web.Response:
    principal = current(request)
    if not (principal.is_lead or principal.is_admin):
        raise ApiError(403, "lead-only", "only a shift lead can see every agent")
    services = request.app[services_key]
    agents = await services.accounts.list_agents()
    return web.json_response(
        {
            "agents": [
                {"id": a.id, "name": a.name, "role": a.role, **_agent_state_json(request, a.id)}
                for a in agents
            ]
        }
    )


@operation(
    "Go ready, paused or logged out (self, or anyone for a lead)",
    body=schemas.StateChangeSchema,
    responses={200: ("New state", schemas.AgentStateSchema)},
    errors=(400, 401, 403, 404, 409, 415),
)
async def set_state(request: web.Request) -> web.Response:
    principal = current(request)
    agent_id = request.match_info["agent_id"]
    if agent_id != principal.agent_id and not principal.is_lead:
        raise ApiError(403, "forbidden", "agents may change only their own state")
    data = await read_json(request)
    state = STATE_NAMES.get(str(data.get("state", "")))
    if state is None:
        raise ApiError(400, "invalid-field", "state must be ready, paused or logged_out", "state")
    reason = data.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 100:
        raise ApiError(400, "invalid-field", "reason must be short text", "reason")
    allowed = request.app[options_key].pause_reasons
    if state is AgentState.PAUSED and reason and allowed and reason not in allowed:
        raise ApiError(
            400, "invalid-field", f"reason must be one of {', '.join(allowed)}", "reason"
        )
    services = request.app[services_key]
    if agent_id != principal.agent_id:
        known = {a.id for a in await services.accounts.list_agents()}
        if agent_id not in known:
            raise ApiError(404, "unknown-agent", f"agent {agent_id} does not exist")
        reason = reason or f"set by lead {principal.agent_id}"
    try:
        services.switchboard.request_state(agent_id, state, reason)
    except RoutingError as error:
        raise ApiError(409, error.error_id, str(error)) from None
    if agent_id != principal.agent_id:
        await request.app[audit_key].record(
            AuditEntry.of(
                principal,
                "agent.state",
                "agent",
                agent_id,
                request.app[options_key].clock(),
                reason,
                state=state.value,
            )
        )
    return web.json_response(_agent_state_json(request, agent_id))


def _ticket_json(ticket: Ticket, delivered: bool | None) -> dict[str, Any]:
    return {
        **ticket_fields(ticket),
        "status": ticket.status,
        "created_by": ticket.created_by,
        "created_at": ticket.created_at.isoformat(),
        "forwarded": delivered,
    }


@operation(
    "Save a ticket; it is numbered and queued for the dispatch core",
    body=schemas.TicketFormSchema,
    responses={201: ("Saved", schemas.TicketSchema)},
    errors=(400, 401, 404, 415),
)
async def create_ticket(request: web.Request) -> web.Response:
    principal = current(request)
    data = await read_json(request)
    options = request.app[options_key]
    services = request.app[services_key]
    try:
        draft = parse_ticket_form(data, options.departments, options.hotlines)
        if draft.call_id is not None:
            await services.switchboard.synced()  # the call's record must be written first
        ticket = await services.tickets.save(draft, principal.agent_id, options.clock())
    except TicketError as error:
        status = 404 if error.error_id == "unknown-call" else 400
        raise ApiError(status, error.error_id, str(error), error.field) from None
    services.case_saved()
    return web.json_response(_ticket_json(ticket, False), status=201)


@operation(
    "Department codes and names", responses={200: ("Departments", schemas.DepartmentListSchema)}
)
async def departments(request: web.Request) -> web.Response:
    names = request.app[options_key].departments
    return web.json_response({"departments": [{"code": c, "name": n} for c, n in names.items()]})
