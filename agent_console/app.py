"""The console's aiohttp application factory (no I/O here: wiring starts the services)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from agent_console.notifier import Notifier
from agent_console.services import ConsoleServices
from hotline.audit import AuditLog
from hotline.throttle import LoginThrottles

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "hotline_session"
# The dispatch core and 12345 sign their requests instead of logging in.
PUBLIC_PATHS = {
    "/api/login",
    "/api/openapi.json",
    "/healthz",
    "/api/dispatch/events",
    "/api/handoff/12345",
}


class ApiError(Exception):
    """An error the API reports as JSON with a stable `error_id`."""

    def __init__(self, status: int, error_id: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.field = field

    def response(self) -> web.Response:
        body: dict[str, Any] = {"error_id": self.error_id, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return web.json_response(body, status=self.status)


@dataclass(frozen=True)
class WebsocketLimits:
    per_session: int = 4
    max_message_bytes: int = 64 * 1024
    messages_per_second: float = 2.0
    burst: int = 20


@dataclass(frozen=True)
class ConsoleOptions:
    hotlines: tuple[str, ...]
    pause_reasons: tuple[str, ...]
    departments: dict[str, str]  # code → name
    secure_cookies: bool
    session_hours: float
    clock: Callable[[], datetime]
    websocket: WebsocketLimits = WebsocketLimits()
    # Reverse proxies whose X-Forwarded-For is believed ([console] trusted_proxies).
    trusted_proxies: tuple[str, ...] = ()


HealthCheck = Callable[[], Awaitable[dict[str, bool]]]


@dataclass(frozen=True)
class NodeRole:
    """Which node of several this is ([cluster] node_name), and its role (active)."""

    node: str
    role: str


services_key = web.AppKey("services", ConsoleServices)
options_key = web.AppKey("options", ConsoleOptions)
notifier_key = web.AppKey("notifier", Notifier)
health_key: web.AppKey[HealthCheck] = web.AppKey("health")
throttle_key = web.AppKey("login_throttles", LoginThrottles)
audit_key = web.AppKey("audit", AuditLog)
cluster_key = web.AppKey("cluster", NodeRole)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return ApiError(500, "internal", "internal error; the incident is logged").response()


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong."""
    if request.content_type != "application/json":
        raise ApiError(415, "json-required", "send Content-Type: application/json")
    try:
        data = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid-json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid-body", "the body must be a JSON object")
    return data


def create_app(
    *,
    options: ConsoleOptions,
    notifier: Notifier,
    health: HealthCheck,
    services: ConsoleServices,
    audit: AuditLog,
) -> web.Application:
    """Build the console app: JSON API, websocket, static page."""
    from agent_console import http, metrics, openapi, transfer, ws
    from agent_console.proxies import forwarded_for_middleware

    middlewares: list[Middleware] = [error_middleware, http.auth_middleware]
    if options.trusted_proxies:
        middlewares.insert(0, forwarded_for_middleware(options.trusted_proxies))
    app = web.Application(middlewares=middlewares, client_max_size=256 * 1024)
    app[options_key] = options
    app[notifier_key] = notifier
    app[health_key] = health
    app[services_key] = services
    app[throttle_key] = LoginThrottles()
    app[audit_key] = audit
    app.router.add_get("/healthz", http.healthz)
    app.router.add_get("/api/openapi.json", openapi.handler)
    app.router.add_post("/api/login", http.login)
    app.router.add_post("/api/logout", http.logout)
    app.router.add_get("/api/me", http.me)
    app.router.add_get("/api/agents", http.list_agents)
    app.router.add_post("/api/agents/{agent_id}/state", http.set_state)
    app.router.add_post("/api/tickets", http.create_ticket)
    app.router.add_get("/api/departments", http.departments)
    app.router.add_post("/api/calls/{call_id}/transfer", transfer.transfer)
    app.router.add_post("/api/calls/{call_id}/transfer/complete", transfer.complete)
    app.router.add_post("/api/calls/{call_id}/transfer/cancel", transfer.cancel)
    app.router.add_post("/api/calls/{call_id}/emergency", transfer.emergency)
    app.router.add_get("/api/transfer-targets", transfer.targets)
    app.router.add_get("/api/metrics", metrics.figures)
    app.router.add_get("/metrics", metrics.prometheus)
    app.router.add_get("/ws", ws.handler)
    app.router.add_get("/", http.index)
    app.router.add_static("/static/", STATIC, append_version=True)
    app.on_startup.append(openapi.build_document)
    app.on_shutdown.append(_close_websockets)
    return app


async def _close_websockets(app: web.Application) -> None:
    await app[notifier_key].close_all()
