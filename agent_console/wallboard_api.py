"""The shift lead's wallboard: the page, its snapshot and acknowledging alerts (leads only).

Live updates go over the websocket (`wallboard.*`); remote control of agents is
POST /api/agents/{agent_id}/state (agent_console/http.py)."""

from __future__ import annotations

from aiohttp import web

from agent_console import wallboard_schemas as schemas
from agent_console.app import STATIC, ApiError, audit_key, options_key, read_json
from agent_console.http import current
from agent_console.openapi import operation
from hotline.accounts import Principal
from hotline.audit import AuditEntry
from hotline.wallboard_feed import WallboardFeed
from wallboard import AlertError

wallboard_key = web.AppKey("wallboard", WallboardFeed)


def _lead(request: web.Request) -> Principal:
    principal = current(request)
    if not principal.is_lead:
        raise ApiError(403, "lead-only", "only a shift lead can see the wallboard")
    return principal


@operation("The wallboard page (HTML)", public=True, errors=(), responses={200: ("Page", None)})
async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "wallboard.html")


@operation(
    "Leads: the wallboard now (the same snapshot the websocket sends on connect)",
    responses={200: ("The wallboard", schemas.WallboardSchema)},
    errors=(401, 403),
)
async def snapshot(request: web.Request) -> web.Response:
    _lead(request)
    return web.json_response(await request.app[wallboard_key].snapshot())


@operation(
    "Leads: acknowledge an alert (audited); it stays listed until its condition clears",
    body=schemas.AckSchema,
    responses={200: ("Acknowledged", schemas.AlertSchema)},
    errors=(400, 401, 403, 404, 409, 415),
)
async def acknowledge(request: web.Request) -> web.Response:
    principal = _lead(request)
    try:
        alert_id = int(request.match_info["alert_id"])
    except ValueError:
        raise ApiError(400, "invalid-field", "alert id must be a number", "alert_id") from None
    note = ""
    if request.can_read_body:
        note = (await read_json(request)).get("note", "")
        if not isinstance(note, str) or len(note) > 200:
            raise ApiError(400, "invalid-field", "note must be text of at most 200", "note")
    feed = request.app[wallboard_key]
    try:
        alert = feed.acknowledge(alert_id, principal.agent_id)
    except AlertError as error:
        status = 404 if error.error_id == "unknown-alert" else 409
        raise ApiError(status, error.error_id, str(error)) from None
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "alert.ack",
            "alert",
            str(alert.id),
            request.app[options_key].clock(),
            note.strip() or alert.text,
            alert=alert.kind.value,
            subject=alert.subject,
        )
    )
    return web.json_response(alert.as_json())


def add_routes(app: web.Application, feed: WallboardFeed) -> None:
    app[wallboard_key] = feed
    app.router.add_get("/wallboard", page)
    app.router.add_get("/api/wallboard", snapshot)
    app.router.add_post("/api/alerts/{alert_id}/ack", acknowledge)
