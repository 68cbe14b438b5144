"""Console API for the roster editor (leads): the week's grid, assigning and unassigning an
agent on a shift of a day with role and seats (audited), and the day's staffing gap."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from agent_console import schemas
from agent_console.app import STATIC, ApiError, audit_key, read_json
from agent_console.http import current
from agent_console.openapi import operation
from hotline.accounts import Accounts, Principal
from hotline.audit import AuditEntry
from hotline.duty import DutyRoster
from hotline.staffing_board import StaffingBoard
from hotline.switchboard import Switchboard
from routing.holidays import holiday_name
from routing.roster import Role, RosterEntry

# A seat is a queue name, optionally with a proficiency: 投诉, 96198:3.
SEAT = re.compile(r"^[^;:,\s]{1,16}(:[1-9])?$")


@dataclass(frozen=True)
class RosterEditor:
    duty: DutyRoster
    staffing: StaffingBoard
    accounts: Accounts
    switchboard: Switchboard
    clock: Callable[[], datetime]


editor_key = web.AppKey("roster_editor", RosterEditor)


def _lead(request: web.Request) -> Principal:
    principal = current(request)
    if not principal.is_lead:
        raise ApiError(403, "forbidden", "only shift leads may do this")
    return principal


def _day(value: object, name: str) -> date:
    if not isinstance(value, str):
        raise ApiError(400, "missing-field", f"{name} is required (YYYY-MM-DD)", name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid-field", f"{name} must be a date YYYY-MM-DD", name) from None


def _entry_json(e: RosterEntry) -> dict[str, Any]:
    return {
        "day": e.day.isoformat(),
        "shift": e.shift,
        "agent_id": e.agent_id,
        "role": e.role.value,
        "skills": list(e.skills),
        "dialects": list(e.dialects),
    }


def _seats(data: dict[str, Any], name: str, queues: list[str]) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ApiError(400, "invalid-field", f"{name} must be a list of seat names", name)
    seats = tuple(s.strip() for s in value if s.strip())
    for seat in seats:
        if not SEAT.match(seat):
            raise ApiError(400, "invalid-seat", f"{seat!r} is not a seat (queue[:1-9])", name)
        if name == "dialects" and seat.partition(":")[0] not in queues:
            raise ApiError(
                400, "unknown-queue", f"dialect seat {seat} names no configured queue", name
            )
    if len(";".join(seats)) > 200:
        raise ApiError(400, "invalid-field", f"{name}: too many seats", name)
    return seats


@operation("The roster editor page (HTML)", public=True, errors=(), responses={200: ("Page", None)})
async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "roster.html")


@operation(
    "Leads: the roster of the seven days from ?start= (default: this week's Monday), with "
    "the shifts of the pattern, the agents to place and the queues a dialect seat may name",
    responses={200: ("The week", schemas.RosterWeekSchema)},
    parameters=[{"in": "query", "name": "start", "schema": {"type": "string", "format": "date"}}],
)
async def show_week(request: web.Request) -> web.Response:
    _lead(request)
    editor = request.app[editor_key]
    duty, now = editor.duty, editor.clock()
    await duty.reload(now)
    if "start" in request.query:
        start = _day(request.query["start"], "start")
    else:
        today = now.astimezone(duty.roster.zone).date()
        start = today - timedelta(days=today.weekday())
    days = [start + timedelta(days=n) for n in range(7)]
    agents = [
        {"id": a.id, "name": a.name, "role": a.role}
        for a in await editor.accounts.list_agents()
        if a.active and a.role in (Role.AGENT.value, Role.LEAD.value)
    ]
    return web.json_response(
        {
            "start": start.isoformat(),
            "today": now.astimezone(duty.roster.zone).date().isoformat(),
            "days": [{"day": d.isoformat(), "holiday": holiday_name(d)} for d in days],
            "shifts": [
                {"name": s.name, "starts": s.starts.strftime("%H:%M"), "hours": s.hours}
                for s in duty.roster.shifts
            ],
            "entries": [_entry_json(e) for e in duty.week(start)],
            "agents": agents,
            "queues": editor.switchboard.routing.queues(),
        }
    )


@operation(
    "Leads: put an agent on a shift of a day, or change their role and seats there "
    "(roster.assign, audited); the seats apply to routing at once",
    body=schemas.RosterAssignSchema,
    responses={
        200: ("Changed", schemas.RosterEntrySchema),
        201: ("Assigned", schemas.RosterEntrySchema),
    },
    errors=(400, 401, 403, 404, 415),
)
async def assign(request: web.Request) -> web.Response:
    lead = _lead(request)
    editor = request.app[editor_key]
    data = await read_json(request)
    day = _day(data.get("day"), "day")
    shift, agent_id = data.get("shift"), data.get("agent_id")
    if not isinstance(shift, str) or not shift.strip():
        raise ApiError(400, "missing-field", "shift is required", "shift")
    if shift not in {s.name for s in editor.duty.roster.shifts}:
        raise ApiError(400, "unknown-shift", f"no shift named {shift}", "shift")
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise ApiError(400, "missing-field", "agent_id is required", "agent_id")
    known = {a.id: a for a in await editor.accounts.list_agents() if a.active}
    account = known.get(agent_id)
    if account is None or account.role not in (Role.AGENT.value, Role.LEAD.value):
        raise ApiError(404, "unknown-agent", f"no agent {agent_id}", "agent_id")
    role_value = data.get("role", account.role)
    try:
        role = Role(role_value)
    except ValueError:
        raise ApiError(400, "invalid-field", "role must be agent or lead", "role") from None
    queues = editor.switchboard.routing.queues()
    entry = RosterEntry(
        day,
        shift,
        agent_id,
        role,
        _seats(data, "skills", queues),
        _seats(data, "dialects", queues),
    )
    now = editor.clock()
    added = await editor.duty.assign(entry, now)
    editor.switchboard.refresh_seats()
    await request.app[audit_key].record(
        AuditEntry.of(
            lead,
            "roster.assign",
            "agent",
            agent_id,
            now,
            day=day.isoformat(),
            shift=shift,
            role=role.value,
            seats=";".join(entry.skills + entry.dialects),
        )
    )
    return web.json_response(_entry_json(entry), status=201 if added else 200)


@operation(
    "Leads: take an agent off a shift of a day (roster.unassign, audited)",
    responses={200: ("Unassigned", schemas.RosterUnassignedSchema)},
    errors=(400, 401, 403, 404),
)
async def unassign(request: web.Request) -> web.Response:
    lead = _lead(request)
    editor = request.app[editor_key]
    day = _day(request.match_info["day"], "day")
    shift, agent_id = request.match_info["shift"], request.match_info["agent_id"]
    now = editor.clock()
    if not await editor.duty.unassign(day, shift, agent_id, now):
        raise ApiError(404, "not-assigned", f"{agent_id} is not on {day} {shift}")
    editor.switchboard.refresh_seats()
    await request.app[audit_key].record(
        AuditEntry.of(
            lead, "roster.unassign", "agent", agent_id, now, day=day.isoformat(), shift=shift
        )
    )
    return web.json_response({"day": day.isoformat(), "shift": shift, "agent_id": agent_id})


@operation(
    "Leads: the staffing gap of ?day= (default today): per hour, agents rostered against "
    "agents needed by Erlang C for the same weekday's arrivals of the last weeks, and open "
    "cases due",
    responses={200: ("The gap", schemas.StaffingGapSchema)},
    parameters=[{"in": "query", "name": "day", "schema": {"type": "string", "format": "date"}}],
)
async def staffing_gap(request: web.Request) -> web.Response:
    _lead(request)
    editor = request.app[editor_key]
    now = editor.clock()
    if "day" in request.query:
        day = _day(request.query["day"], "day")
    else:
        day = now.astimezone(editor.duty.roster.zone).date()
    gap = await editor.staffing.gap(day, now)
    target = editor.staffing.target
    body = gap.to_json_dict()
    body["target"] = {
        "aht_seconds": target.aht_seconds,
        "service_level": target.service_level,
        "answer_seconds": target.answer_seconds,
        "weeks": target.weeks,
    }
    return web.json_response(body)


def add_routes(app: web.Application, editor: RosterEditor) -> None:
    app[editor_key] = editor
    app.router.add_get("/roster", page)
    app.router.add_get("/api/roster/week", show_week)
    app.router.add_post("/api/roster/assignments", assign)
    app.router.add_delete("/api/roster/assignments/{day}/{shift}/{agent_id}", unassign)
    app.router.add_get("/api/staffing/gap", staffing_gap)
