"""Recordings from the page: the WAV of an inbound call (or a voicemail) and of a click-to-call,
served with HTTP Range so an <audio> player can seek; a ticket's calls (its recording and its
回拨 attempts). Every request for a file is access-checked and audited."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, audit_key
from agent_console.case_api import visible_case
from agent_console.http import current, why
from agent_console.openapi import operation
from hotline.access import Decision, may_see
from hotline.accounts import Principal
from hotline.audit import AuditEntry
from hotline.models import Call, OutboundCall
from hotline.privacy import mask_phone
from hotline.recordings import RecordingArchive, call_guard, dial_guard
from hotline.voicemail import list_voicemails

archive_key = web.AppKey("recordings", RecordingArchive)
ROUTE = "/api/calls/{call_id}/recording"
DIAL_ROUTE = "/api/dials/{dial_id}/recording"
# What the ticket view says of each 回拨 attempt (None: still dialling).
DIAL_OUTCOMES = {
    "talked": "已通话",
    "citizen-unreached": "未接通",
    "agent-unreached": "坐席话机未接听",
    "cancelled": "已取消",
    None: "进行中",
}
PLAYBACK_RESPONSES: dict[int, tuple[str, Any]] = {
    200: ("audio/wav", None),
    206: ("audio/wav: the requested byte range (Range: bytes=…)", None),
    410: ("The file is no longer kept", schemas.ErrorSchema),
    416: ("The Range cannot be satisfied", None),
}


async def _serve(
    request: web.Request,
    principal: Principal,
    decision: Decision,
    path: Path,
    target: tuple[str, str],
) -> web.FileResponse:
    """The WAV, inline for a player (attachment with ?download=1), after the audit row."""
    if not path.is_file():
        raise ApiError(410, "recording-deleted", "the recording file is no longer kept")
    download = request.query.get("download") == "1"
    # Recorded before the data leaves. A player asks for byte ranges: each request is a row,
    # so a play from the start and a seek past what the browser kept are both on record.
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "recording.download" if download else "recording.play",
            target[0],
            target[1],
            request.app[archive_key].clock(),
            why(decision.ground, request),
            range=request.headers.get("Range", "") or "whole",
        )
    )
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": (
                f'{"attachment" if download else "inline"}; filename="{target[1]}.wav"'
            ),
            "Cache-Control": "private, no-store",
        },
    )


@operation(
    "The call's stereo WAV (caller left, agent right) for its agent, leads and admins; a "
    "voicemail's for any agent. Byte ranges are answered (206) so a player can seek; "
    "?download=1 asks for an attachment. Every request is audited (recording.play / "
    "recording.download)",
    responses=PLAYBACK_RESPONSES,
    errors=(401, 404),
)
async def download(request: web.Request) -> web.StreamResponse:
    principal = current(request)
    found = await request.app[archive_key].for_call(request.match_info["call_id"])
    if found is None:
        raise ApiError(404, "no-recording", "this call has no recording")
    recording, call = found
    # The same answer whether the call is someone else's: no hint about other agents' calls.
    decision = may_see(principal, call_guard(call, "recording"))
    if not decision:
        raise ApiError(404, "no-recording", "this call has no recording")
    return await _serve(request, principal, decision, Path(recording.path), ("call", call.id))


@operation(
    "A click-to-call's stereo WAV (citizen left, agent right) for the agent who dialled, "
    "leads and admins; byte ranges as for a call's recording; every request is audited",
    responses=PLAYBACK_RESPONSES,
    errors=(401, 404),
)
async def dial_recording(request: web.Request) -> web.StreamResponse:
    principal = current(request)
    dial = await request.app[archive_key].for_dial(request.match_info["dial_id"])
    decision = None if dial is None else may_see(principal, dial_guard(dial))
    if dial is None or not decision or not dial.recording_path:
        raise ApiError(404, "no-recording", "this call has no recording")
    return await _serve(
        request, principal, decision, Path(dial.recording_path), ("outbound-call", dial.id)
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def inbound_json(call: Call) -> dict[str, Any]:
    """The inbound call behind a ticket as the ticket view shows it: when, how it ended and
    its time on hold (no number: the ticket has the caller's)."""
    return {
        "call_id": call.id,
        "agent_id": call.agent_id,
        "arrived_at": call.arrived_at.isoformat(),
        "connected_at": _iso(call.connected_at),
        "ended_at": _iso(call.ended_at),
        "end_reason": call.end_reason,
        "hold_seconds": round(call.hold_seconds, 1),
        "hold_count": call.hold_count,
    }


def dial_json(dial: OutboundCall) -> dict[str, Any]:
    """One 回拨 attempt as the ticket view lists it (the number masked)."""
    return {
        "dial_id": dial.id,
        "task": dial.task,
        "agent_id": dial.agent_id,
        "number": mask_phone(dial.number),
        "started_at": dial.started_at.isoformat(),
        "connected_at": None if dial.connected_at is None else dial.connected_at.isoformat(),
        "ended_at": None if dial.ended_at is None else dial.ended_at.isoformat(),
        "outcome": dial.outcome,
        "outcome_label": DIAL_OUTCOMES.get(dial.outcome, dial.outcome or ""),
        "reason": dial.reason,
        "recording": None if not dial.recording_path else DIAL_ROUTE.format(dial_id=dial.id),
        "recording_seconds": (
            None if dial.recording_seconds is None else round(dial.recording_seconds, 1)
        ),
    }


@operation(
    "The calls behind a ticket: the inbound call (when, how it ended, its time on hold and "
    "number of holds) and its recording, and every 回拨 attempt (when, who, outcome, its "
    "recording), numbers masked; for whoever may see the ticket",
    responses={200: ("The ticket's calls", schemas.TicketCallsSchema)},
    errors=(401, 404),
)
async def ticket_calls(request: web.Request) -> web.Response:
    """GET /api/tickets/{number}/calls."""
    record = await visible_case(request, request.match_info["number"])
    calls = await request.app[archive_key].for_ticket(record.ticket)
    recording = calls.recording
    return web.json_response(
        {
            "number": record.ticket.number,
            "recording": None
            if recording is None
            else {
                "url": ROUTE.format(call_id=recording.call_id),
                "duration_seconds": round(recording.duration_seconds, 1),
            },
            "call": None if calls.call is None else inbound_json(calls.call),
            "outbound_calls": [dial_json(d) for d in calls.dials],
        }
    )


@operation(
    "Draft tickets left by callers nobody could answer (numbers masked)",
    responses={200: ("Voicemails", schemas.VoicemailListSchema)},
    errors=(401,),
)
async def voicemails(request: web.Request) -> web.Response:
    """GET /api/voicemails: draft tickets left by callers nobody could answer."""
    current(request)
    items = await list_voicemails(request.app[archive_key].sessions)
    return web.json_response({"voicemails": items})


def add_routes(app: web.Application, archive: RecordingArchive) -> None:
    app[archive_key] = archive
    app.router.add_get(ROUTE, download)
    app.router.add_get(DIAL_ROUTE, dial_recording)
    app.router.add_get("/api/tickets/{number}/calls", ticket_calls)
    app.router.add_get("/api/voicemails", voicemails)
