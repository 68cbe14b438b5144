"""Hold and resume, the pure part: what we answer to each direction, and the music."""

from __future__ import annotations

import pytest

from telephony.announcements import FRAME_BYTES, SILENCE
from telephony.hold import HOLDING, Music, answer_direction, answer_sdp
from telephony.sdp import PCMA, SessionDescription, build_offer


@pytest.mark.parametrize(
    "offered, answered",
    [
        ("sendonly", "recvonly"),
        ("inactive", "inactive"),
        ("recvonly", "sendonly"),
        ("sendrecv", "sendrecv"),
    ],
)
def test_the_answer_mirrors_the_offered_direction(offered: str, answered: str) -> None:
    assert answer_direction(offered) == answered
    assert (offered in HOLDING) == (offered in {"sendonly", "inactive"})


def test_the_sdp_version_rises_only_when_the_direction_changes() -> None:
    ours = bytes(build_offer("192.0.2.1", 40000, [PCMA], 7))
    first = SessionDescription.parse(ours)
    held = answer_sdp(ours, "sendonly")
    parsed = SessionDescription.parse(held)
    assert parsed.direction == "recvonly"
    assert parsed.session_version == first.session_version + 1
    assert (parsed.audio_port, parsed.payload_types) == (first.audio_port, first.payload_types)
    assert answer_sdp(held, "sendonly") == held  # a refresh while held: unchanged
    resumed = SessionDescription.parse(answer_sdp(held, "sendrecv"))
    assert resumed.direction == "sendrecv"
    assert resumed.session_version == first.session_version + 2


def test_music_goes_round_and_a_clip_too_short_is_silence() -> None:
    clip = bytes(range(256)) * 5  # 1280 bytes: four frames
    music = Music(clip)
    frames = [music.next_frame(0.0) for _ in range(9)]
    assert frames[0] == clip[:FRAME_BYTES] and frames[4] == frames[0] and frames[8] == frames[0]
    assert all(len(frame) == FRAME_BYTES for frame in frames)
    assert Music(b"\x01" * 10).next_frame(0.0) == SILENCE
