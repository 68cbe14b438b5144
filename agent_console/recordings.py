"""GET /api/calls/{call_id}/recording: the call's stereo WAV, for its agent and shift leads."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from agent_console.app import ApiError
from agent_console.http import current
from hotline.recordings import RecordingArchive

archive_key = web.AppKey("recordings", RecordingArchive)
ROUTE = "/api/calls/{call_id}/recording"


async def download(request: web.Request) -> web.StreamResponse:
    principal = current(request)
    found = await request.app[archive_key].for_call(request.match_info["call_id"])
    if found is None:
        raise ApiError(404, "no-recording", "this call has no recording")
    recording, agent_id = found
    # The same answer whether the call is someone else's: no hint about other agents' calls.
    if not principal.is_lead and principal.agent_id != agent_id:
        raise ApiError(404, "no-recording", "this call has no recording")
    path = Path(recording.path)
    if not path.is_file():
        raise ApiError(410, "recording-deleted", "the recording file is no longer kept")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": f'attachment; filename="{recording.call_id}.wav"',
        },
    )


def add_routes(app: web.Application, archive: RecordingArchive) -> None:
    app[archive_key] = archive
    app.router.add_get(ROUTE, download)
