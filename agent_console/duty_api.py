"""Console API for the duty roster (leads), lead overrides, the missed-call list and callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, audit_key, read_json
from agent_console.http import current
from agent_console.openapi import operation
from hotline.accounts import Principal
from hotline.audit import AuditEntry
from hotline.duty import DutyRoster
from hotline.missed_calls import MissedCallError, MissedCalls
from hotline.switchboard import Switchboard
from routing import RoutingError
from routing.holidays import holiday_name
from routing.roster import ReadyOverride, RosterError, parse_csv, to_csv

log = logging.getLogger(__name__)
duty_key = web.AppKey("duty", DutyRoster)
missed_key = web.AppKey("missed_calls", MissedCalls)
switchboard_key = web.AppKey("duty_switchboard", Switchboard)
clock_key: web.AppKey[Callable[[], datetime]] = web.AppKey("duty_clock")
# The roster may also change from the CLI (another process): re-read it this often.
RELOAD_SECONDS = 30.0


def _lead(request: web.Request) -> Principal:
    principal = current(request)
    if not principal.is_lead:
        raise ApiError(403, "forbidden", "only shift leads may do this")
    return principal


def _override_json(o: ReadyOverride) -> dict[str, Any]:
    return {
        "agent_id": o.agent_id,
        "lead_id": o.lead_id,
        "at": o.at.isoformat(),
        "until": o.until.isoformat(),
        "reason": o.reason,
    }


@operation(
    "Who is on duty now (or at ?at=ISO time): shift, lead, seats, overrides",
    responses={200: ("The shift", schemas.RosterSchema)},
    parameters=[{"in": "query", "name": "at", "schema": {"type": "string", "format": "date-time"}}],
)
async def show_roster(request: web.Request) -> web.Response:
    current(request)
    duty = request.app[duty_key]
    now = request.app[clock_key]()
    if "at" in request.query:
        try:
            now = datetime.fromisoformat(request.query["at"])
        except ValueError:
            raise ApiError(400, "invalid-field", "at must be an ISO time", "at") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=duty.roster.zone)
    else:
        await duty.reload(now)
    day, shift = duty.roster.current(now)
    return web.json_response(
        {
            "day": day.isoformat(),
            "shift": shift.name,
            "holiday": holiday_name(day),
            "lead": duty.roster.lead(now),
            "enforced": duty.enforced,
            "on_duty": [
                {**asdict(e), "day": e.day.isoformat(), "role": e.role.value}
                for e in duty.roster.on_duty(now)
            ],
            "seats": duty.roster.seats(now),
            "overrides": [_override_json(o) for o in duty.overrides if o.until > now],
        }
    )


@operation(
    "Leads: replace the roster's days with a CSV (date,shift,agent_id,role,skills,dialects)",
    responses={200: ("Rows imported", schemas.RosterImportedSchema)},
)
async def import_roster(request: web.Request) -> web.Response:
    lead = _lead(request)
    duty = request.app[duty_key]
    now = request.app[clock_key]()
    try:
        entries = parse_csv(await request.text())
        count = await duty.replace_days(entries, now)
    except RosterError as error:
        raise ApiError(400, error.error_id, str(error)) from None
    days = sorted({entry.day.isoformat() for entry in entries})
    await request.app[audit_key].record(
        AuditEntry.of(lead, "roster.import", "roster", ",".join(days)[:64], now, rows=count)
    )
    return web.json_response({"imported": count})


@operation("Leads: the roster as CSV", responses={200: ("text/csv", None)})
async def export_roster(request: web.Request) -> web.Response:
    _lead(request)
    duty = request.app[duty_key]
    await duty.reload(request.app[clock_key]())
    return web.Response(text=to_csv(duty.roster.entries), content_type="text/csv", charset="utf-8")


@operation(
    "Leads: let an agent off the roster go ready until the shift ends",
    body=schemas.OverrideRequestSchema,
    responses={201: ("Granted", schemas.OverrideSchema)},
    errors=(400, 401, 403, 409, 415),
)
async def add_override(request: web.Request) -> web.Response:
    lead = _lead(request)
    data = await read_json(request)
    agent_id, reason = data.get("agent_id"), data.get("reason", "")
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise ApiError(400, "missing-field", "agent_id is required", "agent_id")
    if not isinstance(reason, str) or len(reason) > 200:
        raise ApiError(400, "invalid-field", "reason must be text of at most 200 characters")
    try:
        granted = await request.app[duty_key].override(
            agent_id.strip(), lead.agent_id, request.app[clock_key](), reason
        )
    except RosterError as error:
        raise ApiError(409, error.error_id, str(error)) from None
    log.info("roster override", extra={"agent_id": granted.agent_id, "lead_id": lead.agent_id})
    await request.app[audit_key].record(
        AuditEntry.of(
            lead,
            "roster.override",
            "agent",
            granted.agent_id,
            granted.at,
            granted.reason,
            until=granted.until.isoformat(),
        )
    )
    return web.json_response(_override_json(granted), status=201)


@operation(
    "Leads: every override granted (audit)",
    responses={200: ("Overrides", schemas.OverrideListSchema)},
)
async def list_overrides(request: web.Request) -> web.Response:
    _lead(request)
    audit = await request.app[duty_key].audit()
    return web.json_response({"overrides": [_override_json(o) for o in audit]})


@operation(
    "Missed calls (漏话): abandoned, callback requests and refused calls",
    responses={200: ("Missed calls", schemas.MissedCallListSchema)},
    parameters=[
        {
            "in": "query",
            "name": "status",
            "schema": {"enum": ["open", "offered", "unreached", "done"]},
        }
    ],
    errors=(400, 401),
)
async def list_missed(request: web.Request) -> web.Response:
    me = current(request).agent_id
    status = request.query.get("status")
    try:
        missed = await request.app[missed_key].list(status)
    except MissedCallError as error:
        raise ApiError(400, error.error_id, str(error), "status") from None
    # The number is shown only to the agent holding the call-back: they dial it.
    rows = [
        m.to_json(reveal=m.status in ("offered", "unreached") and m.agent_id == me) for m in missed
    ]
    return web.json_response({"missed_calls": rows})


@operation(
    "Take a missed call to call back (status offered: 认领; the taker alone then sees the "
    "number; 409 already-taken to a second taker), or mark it done; every console is told "
    "of the change as missed.changed",
    body=schemas.MissedCallMarkSchema,
    responses={200: ("Marked", schemas.MissedCallMarkedSchema)},
    errors=(400, 401, 404, 409, 415),
)
async def mark_missed(request: web.Request) -> web.Response:
    principal = current(request)
    data = await read_json(request)
    status = data.get("status")
    if not isinstance(status, str):
        raise ApiError(400, "missing-field", "status is required", "status")
    call_id, now = request.match_info["call_id"], request.app[clock_key]()
    try:
        if status == "offered" and principal.agent_id:
            await _take(request, call_id, principal, now)
        else:
            await request.app[missed_key].mark(call_id, status, principal, now)
    except MissedCallError as error:
        code = _MISSED_STATUS.get(error.error_id, 400)
        raise ApiError(code, error.error_id, str(error)) from None
    return web.json_response({"call_id": call_id, "status": status})


# Taking an entry someone holds, or one already called back, is a conflict.
_MISSED_STATUS = {"unknown-call": 404, "already-taken": 409, "already-done": 409}


async def _take(request: web.Request, call_id: str, principal: Principal, now: datetime) -> None:
    """Take an entry from the list (认领): withdrawn from the line, then claimed in one
    conditional update, so of two agents pressing at once one gets 409."""
    missed = request.app[missed_key]
    if await missed.get(call_id) is None:
        raise MissedCallError("unknown-call", f"no missed call {call_id}")
    try:
        request.app[switchboard_key].take_callback(call_id, principal.agent_id)
    except RoutingError as error:
        raise MissedCallError(error.error_id, str(error)) from None
    await missed.take(call_id, principal.agent_id, now)
    await request.app[audit_key].record(
        AuditEntry.of(principal, "missed-call.take", "missed-call", call_id, now)
    )


@operation(
    "The agent finished a callback the queue offered them",
    body=schemas.CallbackFinishSchema,
    responses={200: ("Finished", schemas.CallbackFinishedSchema)},
    errors=(400, 401, 409, 415),
)
async def finish_callback(request: web.Request) -> web.Response:
    principal = current(request)
    data = await read_json(request)
    reached = data.get("reached")
    if not isinstance(reached, bool):
        raise ApiError(400, "missing-field", "reached must be true or false", "reached")
    switchboard = request.app[switchboard_key]
    try:
        switchboard.finish_callback(request.match_info["call_id"], principal.agent_id, reached)
    except RoutingError as error:
        raise ApiError(409, error.error_id, str(error)) from None
    await switchboard.synced()
    return web.json_response({"call_id": request.match_info["call_id"], "reached": reached})


def add_duty_routes(
    app: web.Application,
    duty: DutyRoster,
    missed: MissedCalls,
    switchboard: Switchboard,
    clock: Callable[[], datetime],
) -> None:
    app[duty_key], app[missed_key] = duty, missed
    app[switchboard_key], app[clock_key] = switchboard, clock
    app.router.add_get("/api/roster", show_roster)
    app.router.add_put("/api/roster", import_roster)
    app.router.add_get("/api/roster.csv", export_roster)
    app.router.add_get("/api/roster/overrides", list_overrides)
    app.router.add_post("/api/roster/overrides", add_override)
    app.router.add_get("/api/missed-calls", list_missed)
    app.router.add_post("/api/missed-calls/{call_id}", mark_missed)
    app.router.add_post("/api/callbacks/{call_id}/finish", finish_callback)
    app.cleanup_ctx.append(_reloader)


async def _reloader(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(RELOAD_SECONDS)
            try:
                await app[duty_key].reload(app[clock_key]())
            except Exception:
                log.exception("could not re-read the duty roster")

    task = asyncio.create_task(loop(), name="roster-reload")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
