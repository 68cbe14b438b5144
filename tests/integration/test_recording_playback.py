"""Recordings played from the page: a call's and a click-to-call's WAV answer byte ranges (206)
so a player can seek; only whoever may see them gets them (404 to anyone else, 410 when the
file is gone); every request is an audit row; a ticket lists its recording and its 回拨
attempts."""

from __future__ import annotations

import math
import struct
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from hotline.models import AuditRecord, Call, OutboundCall, Recording
from tests.conftest import RunningHotline
from tests.integration.test_console_api import call
from tests.integration.test_ticket_access import FORM

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def write_wav(path: Path, seconds: float = 2.0) -> bytes:
    """A stereo 8 kHz 16-bit WAV as the gateway writes it (a tone left, silence right)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack("<hh", int(8000 * math.sin(2 * math.pi * 440 * n / 8000)), 0)
        for n in range(int(8000 * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(frames)
    return path.read_bytes()


async def recorded_call(hotline: RunningHotline, call_id: str, agent_id: str, wav: Path) -> None:
    """An answered inbound call by `agent_id` with its recording."""
    async with hotline.system.sessions.begin() as db:
        db.add(
            Call(
                id=call_id,
                sip_call_id=f"sip-{call_id}",
                dialled="12319",
                queue="12319",
                caller="13912345678",
                state="ended",
                agent_id=agent_id,
                codec="PCMA",
                arrived_at=NOW,
                end_reason="caller-hangup",
                rtp_from_caller=0,
                rtp_to_caller=0,
                hold_seconds=12.34,
                hold_count=2,
            )
        )
        await db.flush()
        db.add(Recording(call_id=call_id, path=str(wav), duration_seconds=2.0, recorded_at=NOW))


async def dialled(
    hotline: RunningHotline,
    dial_id: str,
    task: tuple[str, str],
    agent_id: str,
    minutes: int,
    wav: Path | None = None,
    outcome: str = "talked",
) -> None:
    async with hotline.system.sessions.begin() as db:
        db.add(
            OutboundCall(
                id=dial_id,
                task=task[0],
                task_ref=task[1],
                agent_id=agent_id,
                number="13912345678",
                started_at=NOW + timedelta(minutes=minutes),
                connected_at=NOW + timedelta(minutes=minutes, seconds=8) if wav else None,
                ended_at=NOW + timedelta(minutes=minutes, seconds=40),
                outcome=outcome,
                reason="bye" if wav else "rejected-486",
                recording_path=None if wav is None else str(wav),
                recording_seconds=None if wav is None else 2.0,
            )
        )


async def fetch(
    http: aiohttp.ClientSession, hotline: RunningHotline, path: str, token: str, **headers: str
) -> tuple[int, Any, bytes]:
    async with http.get(
        hotline.url(path), headers={"Authorization": f"Bearer {token}", **headers}
    ) as response:
        return response.status, response.headers, await response.read()


async def audit_rows(hotline: RunningHotline, kind: str, object_id: str) -> list[AuditRecord]:
    async with hotline.system.sessions() as db:
        rows = await db.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_kind == kind, AuditRecord.object_id == object_id)
            .order_by(AuditRecord.id)
        )
        return list(rows.all())


async def test_a_recording_answers_ranges_and_each_request_is_audited(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    for agent_id, role in [("1001", "agent"), ("1002", "agent"), ("9001", "lead")]:
        await hotline.add_agent(agent_id, role)
    data = write_wav(tmp_path / "talk.wav")
    await recorded_call(hotline, "talk", "1001", tmp_path / "talk.wav")
    url = "/api/calls/talk/recording"
    async with aiohttp.ClientSession() as http:
        agent = await hotline.login(http, "1001")
        other = await hotline.login(http, "1002")
        lead = await hotline.login(http, "9001")
        whole = await fetch(http, hotline, url, agent)
        head = await fetch(http, hotline, url, agent, Range="bytes=0-99")
        tail = await fetch(http, hotline, url, agent, Range="bytes=30000-")
        beyond = await fetch(http, hotline, url, agent, Range=f"bytes={len(data) + 10}-")
        saved = await fetch(http, hotline, url + "?download=1", lead)
        foreign = await fetch(http, hotline, url, other, Range="bytes=0-99")
        nothing = await fetch(http, hotline, "/api/calls/nothing/recording", other)
    status, headers, body = whole
    assert (status, body) == (200, data)
    assert headers["Content-Type"] == "audio/wav" and headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Disposition"].startswith("inline")
    status, headers, body = head
    assert (status, body) == (206, data[:100])
    assert headers["Content-Range"] == f"bytes 0-99/{len(data)}"
    assert headers["Content-Type"] == "audio/wav"
    status, headers, body = tail
    assert (status, body) == (206, data[30000:])
    assert beyond[0] == 416
    assert saved[0] == 200 and saved[1]["Content-Disposition"].startswith("attachment")
    # Someone else's recording and no recording at all get the same answer.
    assert foreign[0] == nothing[0] == 404
    assert foreign[2] == nothing[2] and b'"no-recording"' in foreign[2]
    rows = await audit_rows(hotline, "call", "talk")
    assert [(r.actor_id, r.action, r.detail["range"]) for r in rows] == [
        ("1001", "recording.play", "whole"),
        ("1001", "recording.play", "bytes=0-99"),
        ("1001", "recording.play", "bytes=30000-"),
        ("1001", "recording.play", f"bytes={len(data) + 10}-"),
        ("9001", "recording.download", "whole"),
    ]
    assert rows[0].why.startswith("taking-agent") and rows[-1].why.startswith("shift-lead")


async def test_a_click_to_call_recording_is_the_dialling_agents_and_leads(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    for agent_id, role in [("1001", "agent"), ("1002", "agent"), ("9001", "lead")]:
        await hotline.add_agent(agent_id, role)
    data = write_wav(tmp_path / "dial.wav")
    write_wav(tmp_path / "gone.wav")
    await dialled(
        hotline, "d-rec", ("visit", "12319-20261123-0001"), "1001", 0, tmp_path / "dial.wav"
    )
    await dialled(hotline, "d-none", ("visit", "12319-20261123-0001"), "1001", 1, None, "cancelled")
    await dialled(
        hotline, "d-gone", ("visit", "12319-20261123-0001"), "1001", 2, tmp_path / "gone.wav"
    )
    (tmp_path / "gone.wav").unlink()
    statuses = {}
    async with aiohttp.ClientSession() as http:
        tokens = {a: await hotline.login(http, a) for a in ("1001", "1002", "9001")}
        for agent_id, token in tokens.items():
            for dial_id in ("d-rec", "d-none", "d-gone", "d-unknown"):
                status, _, body = await fetch(
                    http, hotline, f"/api/dials/{dial_id}/recording", token, Range="bytes=44-"
                )
                statuses[agent_id, dial_id] = status
                if status == 206:
                    assert body == data[44:]
    assert statuses == {
        ("1001", "d-rec"): 206,
        ("1001", "d-none"): 404,
        ("1001", "d-gone"): 410,
        ("1001", "d-unknown"): 404,
        ("1002", "d-rec"): 404,
        ("1002", "d-none"): 404,
        ("1002", "d-gone"): 404,
        ("1002", "d-unknown"): 404,
        ("9001", "d-rec"): 206,
        ("9001", "d-none"): 404,
        ("9001", "d-gone"): 410,
        ("9001", "d-unknown"): 404,
    }
    played = await audit_rows(hotline, "outbound-call", "d-rec")
    assert [(r.actor_id, r.action) for r in played] == [
        ("1001", "recording.play"),
        ("9001", "recording.play"),
    ]
    # A refused request leaves no play on record; a missing file is refused before the row.
    assert await audit_rows(hotline, "outbound-call", "d-gone") == []


async def test_a_ticket_lists_its_recording_and_its_call_back_attempts(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    for agent_id, role in [("1001", "agent"), ("1002", "agent"), ("9001", "lead")]:
        await hotline.add_agent(agent_id, role)
    write_wav(tmp_path / "talk.wav")
    await recorded_call(hotline, "talk", "1001", tmp_path / "talk.wav")
    async with aiohttp.ClientSession() as http:
        agent = await hotline.login(http, "1001")
        other = await hotline.login(http, "1002")
        lead = await hotline.login(http, "9001")
        status, saved = await call(
            http, hotline, "POST", "/api/tickets", agent, {**FORM, "call_id": "talk"}
        )
        assert status == 201, saved
        number = str(saved["number"])
        write_wav(tmp_path / "visit.wav")
        await dialled(hotline, "visit-2", ("visit", number), "1001", 30, tmp_path / "visit.wav")
        await dialled(hotline, "cb-1", ("callback", "talk"), "1001", 5, None, "citizen-unreached")
        await dialled(hotline, "elsewhere", ("visit", "12319-20261123-0099"), "1001", 1)
        path = f"/api/tickets/{number}/calls"
        own = await call(http, hotline, "GET", path, agent)
        by_lead = await call(http, hotline, "GET", path, lead)
        foreign = await call(http, hotline, "GET", path, other)
    assert own[0] == 200 and by_lead == own
    body = own[1]
    assert body["recording"] == {"url": "/api/calls/talk/recording", "duration_seconds": 2.0}
    inbound = body["call"]
    assert (inbound["call_id"], inbound["end_reason"]) == ("talk", "caller-hangup")
    assert (inbound["hold_seconds"], inbound["hold_count"]) == (12.3, 2)
    assert [(d["dial_id"], d["outcome"], d["outcome_label"]) for d in body["outbound_calls"]] == [
        ("cb-1", "citizen-unreached", "未接通"),
        ("visit-2", "talked", "已通话"),
    ]
    first, second = body["outbound_calls"]
    assert first["recording"] is None and first["agent_id"] == "1001"
    assert second["recording"] == "/api/dials/visit-2/recording"
    assert second["number"] == "139****5678" and "13912345678" not in str(body)
    assert foreign[0] == 404 and foreign[1]["error_id"] == "unknown-ticket"
