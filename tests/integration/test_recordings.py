"""Recordings and voicemails in the database: linking, retention, draft tickets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import create_engine, session_factory
from hotline.models import Call, Recording, Ticket
from hotline.recordings import RecordingArchive, record_call
from hotline.voicemail import draft_from_voicemail, list_voicemails
from telephony.events import RecordingFinished, VoicemailLeft

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def _call(sessions: async_sessionmaker[AsyncSession], call_id: str) -> None:
    async with sessions.begin() as db:
        db.add(
            Call(
                id=call_id,
                sip_call_id=f"sip-{call_id}",
                dialled="12319",
                queue="12319",
                caller="13800138000",
                state="ended",
                codec="PCMA",
                arrived_at=NOW,
                rtp_from_caller=0,
                rtp_to_caller=0,
            )
        )


async def test_retention_deletes_old_recordings_and_their_files_only(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    paths = {}
    for call_id, age_days in (("old", 40), ("new", 5)):
        await _call(sessions, call_id)
        path = tmp_path / f"{call_id}.wav"
        path.write_bytes(b"RIFF")
        paths[call_id] = path
        job = record_call(
            RecordingFinished(NOW - timedelta(days=age_days), call_id, str(path), 1.5)
        )
        async with sessions.begin() as db:
            await job(db)
    archive = RecordingArchive(sessions, retention_days=30, clock=lambda: NOW)
    assert await archive.purge(NOW) == 1
    assert not paths["old"].exists() and paths["new"].exists()
    assert await archive.for_call("old") is None
    found = await archive.for_call("new")
    assert found is not None and found[0].path == str(paths["new"]) and found[1].id == "new"
    assert await archive.purge(NOW) == 0


async def test_the_storage_check_counts_the_newest_recordings_missing_on_this_disk(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Newest first: "c" was written on another machine, "b" here, "a" (oldest) elsewhere too.
    for call_id, age_minutes, here in (("a", 30, False), ("b", 20, True), ("c", 10, False)):
        await _call(sessions, call_id)
        path = tmp_path / f"{call_id}.wav"
        if here:
            path.write_bytes(b"RIFF")
        async with sessions.begin() as db:
            await record_call(
                RecordingFinished(NOW - timedelta(minutes=age_minutes), call_id, str(path), 9.0)
            )(db)
    archive = RecordingArchive(sessions, retention_days=30, clock=lambda: NOW)
    assert archive.storage is None
    newest_two = await archive.check_storage(newest=2)
    assert (newest_two.checked, newest_two.missing, newest_two.at) == (2, 1, NOW)
    every = await archive.check_storage()
    assert (every.checked, every.missing) == (3, 2) and archive.storage == every
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors and "recordings_dir" in errors[-1].getMessage()
    assert str(tmp_path) not in caplog.text  # counts in the log, not paths
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "c.wav").write_bytes(b"RIFF")
    caplog.clear()
    assert (await archive.check_storage()).missing == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_recording_of_an_unknown_call_is_not_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as db:
        await record_call(RecordingFinished(NOW, "nobody", "/nowhere.wav", 1.0))(db)
    async with sessions() as db:
        assert (await db.scalars(select(Recording))).all() == []


async def test_a_voicemail_becomes_a_numbered_draft_ticket(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for n in range(2):
        event = VoicemailLeft(
            NOW + timedelta(minutes=n),
            f"vm-{n}",
            "13912345678",
            "12319",
            "12319",
            "after-hours",
            f"/var/voicemail/vm-{n}.wav",
            12.34,
        )
        async with sessions.begin() as db:
            await draft_from_voicemail(event, "Asia/Shanghai")(db)
    async with sessions() as db:
        tickets = (await db.scalars(select(Ticket).order_by(Ticket.id))).all()
    assert [t.number for t in tickets] == ["12319-20261123-0001", "12319-20261123-0002"]
    assert all(t.status == "draft" and t.created_by is None for t in tickets)
    listed = await list_voicemails(sessions)
    assert [v["call_id"] for v in listed] == ["vm-1", "vm-0"]  # newest first
    assert listed[0]["phone"] == "139****5678" and listed[0]["duration_seconds"] == 12.3
