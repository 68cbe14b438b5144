"""Console API for admins (系统管理员): agents and their roles, the configuration, the audit log.

Admins are not shift leads: they manage accounts and read the record of what everyone did;
leads run the floor. Every change here is written to the audit log in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, audit_key, read_json, services_key
from agent_console.http import current
from agent_console.openapi import operation
from hotline.accounts import AccountError, Principal
from hotline.audit import AuditEntry
from hotline.config import HotlineConfig, redacted
from hotline.models import Agent


@dataclass(frozen=True)
class AdminOptions:
    config: HotlineConfig
    clock: Callable[[], datetime]


admin_key = web.AppKey("admin", AdminOptions)


def _admin(request: web.Request) -> Principal:
    principal = current(request)
    if not principal.is_admin:
        raise ApiError(403, "admin-only", "only an admin may do this")
    return principal


def _agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "role": agent.role,
        "active": agent.active,
        "created_at": agent.created_at.isoformat(),
    }


def _text(data: dict[str, Any], name: str, limit: int = 100) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ApiError(400, "invalid-field", f"{name} must be text of 1-{limit} characters", name)
    return value.strip()


@operation("Admins: every agent with role and whether active", responses={200: ("Agents", None)})
async def list_accounts(request: web.Request) -> web.Response:
    _admin(request)
    agents = await request.app[services_key].accounts.list_agents()
    return web.json_response({"agents": [_agent_json(agent) for agent in agents]})


@operation(
    "Admins: add an agent, shift lead or admin",
    body=schemas.NewAgentSchema,
    responses={201: ("Added", schemas.AccountSchema)},
    errors=(400, 401, 403, 409, 415),
)
async def add_account(request: web.Request) -> web.Response:
    admin = _admin(request)
    data = await read_json(request)
    agent_id, name, role = _text(data, "id", 16), _text(data, "name"), _text(data, "role", 16)
    password, sip_password = _text(data, "password", 200), _text(data, "sip_password", 200)
    now = request.app[admin_key].clock()
    try:
        agent = await request.app[services_key].accounts.add_agent(
            agent_id,
            name,
            password,
            sip_password,
            role,
            now,
            audit=AuditEntry.of(admin, "agent.add", "agent", agent_id, now, role=role),
        )
    except AccountError as error:
        status = 409 if error.error_id == "agent-exists" else 400
        raise ApiError(status, error.error_id, str(error)) from None
    return web.json_response(_agent_json(agent), status=201)


@operation(
    "Admins: change an agent's role, or deactivate (their sessions end) or reactivate them",
    body=schemas.AccountChangeSchema,
    responses={200: ("Changed", schemas.AccountSchema)},
    errors=(400, 401, 403, 404, 415),
)
async def change_account(request: web.Request) -> web.Response:
    admin = _admin(request)
    agent_id = request.match_info["agent_id"]
    data = await read_json(request)
    role, active = data.get("role"), data.get("active")
    if role is not None and not isinstance(role, str):
        raise ApiError(400, "invalid-field", "role must be text", "role")
    if active is not None and not isinstance(active, bool):
        raise ApiError(400, "invalid-field", "active must be true or false", "active")
    if role is None and active is None:
        raise ApiError(400, "missing-field", "give role or active")
    if agent_id == admin.agent_id and (active is False or (role and role != admin.role)):
        raise ApiError(400, "own-account", "an admin cannot demote or deactivate themself")
    now = request.app[admin_key].clock()
    changes = {
        key: value for key, value in (("role", role), ("active", active)) if value is not None
    }
    try:
        agent = await request.app[services_key].accounts.change(
            agent_id,
            AuditEntry(
                now, admin.agent_id, admin.role, "agent.change", "agent", agent_id, "", changes
            ),
            role=role,
            active=active,
        )
    except AccountError as error:
        status = 404 if error.error_id == "unknown-agent" else 400
        raise ApiError(status, error.error_id, str(error)) from None
    return web.json_response(_agent_json(agent))


@operation(
    "Admins: the configuration in force (secrets shown only as set or not); the view is audited",
    responses={200: ("Configuration by section", None)},
)
async def show_config(request: web.Request) -> web.Response:
    admin = _admin(request)
    options = request.app[admin_key]
    await request.app[audit_key].record(
        AuditEntry.of(admin, "config.view", "config", "", options.clock())
    )
    return web.json_response(redacted(options.config))


@operation(
    "Admins: the audit log, newest first",
    responses={200: ("Entries", schemas.AuditListSchema)},
    parameters=[
        {"in": "query", "name": name, "schema": {"type": "string"}}
        for name in ("since", "actor", "action", "object", "limit")
    ],
)
async def audit_entries(request: web.Request) -> web.Response:
    admin = _admin(request)
    query = request.query
    since = None
    if "since" in query:
        try:
            since = datetime.fromisoformat(query["since"])
        except ValueError:
            raise ApiError(400, "invalid-field", "since must be an ISO time", "since") from None
        if since.tzinfo is None:
            raise ApiError(400, "invalid-field", "since needs a time zone", "since")
    try:
        limit = int(query.get("limit", "200"))
    except ValueError:
        raise ApiError(400, "invalid-field", "limit must be a number", "limit") from None
    audit = request.app[audit_key]
    entries = await audit.entries(
        since, query.get("actor"), query.get("action"), query.get("object"), limit
    )
    # Reading the log is itself on the log.
    await audit.record(
        AuditEntry.of(admin, "audit.view", "audit", "", request.app[admin_key].clock())
    )
    return web.json_response({"entries": [entry.to_json() for entry in entries]})


def add_routes(app: web.Application, options: AdminOptions) -> None:
    app[admin_key] = options
    app.router.add_get("/api/admin/agents", list_accounts)
    app.router.add_post("/api/admin/agents", add_account)
    app.router.add_patch("/api/admin/agents/{agent_id}", change_account)
    app.router.add_get("/api/admin/config", show_config)
    app.router.add_get("/api/admin/audit", audit_entries)
