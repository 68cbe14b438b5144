"""GET /api/calls/{call_id}/recording: the call's stereo WAV, for its agent and shift leads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from agent_console import schemas
from agent_console.app import ApiError, audit_key
from agent_console.http import current, why
from agent_console.openapi import operation
from hotline.access import may_see
from hotline.audit import AuditEntry
from hotline.recordings import RecordingArchive, call_guard
from hotline.voicemail import list_voicemails

archive_key = web.AppKey("recordings", RecordingArchive)
ROUTE = "/api/calls/{call_id}/recording"


@operation(
    "The call's stereo WAV (caller left, agent right) for its agent, leads and admins; "
    "a voicemail's for any agent",
    responses={200: ("audio/wav", None), 410: ("The file is no longer kept", schemas.ErrorSchema)},
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
    path = Path(recording.path)
    if not path.is_file():
        raise ApiError(410, "recording-deleted", "the recording file is no longer kept")
    await request.app[audit_key].record(
        AuditEntry.of(
            principal,
            "recording.download",
            "call",
            call.id,
            datetime.now(UTC),
            why(decision.ground, request),
        )
    )
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": f'attachment; filename="{recording.call_id}.wav"',
        },
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
    app.router.add_get("/api/voicemails", voicemails)
