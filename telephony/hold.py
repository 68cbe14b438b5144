"""Hold and resume (RFC 3264 §8.4, RFC 6337 §5.3): a party whose re-INVITE offers `sendonly`
or `inactive` puts the call on hold. Its answer says `recvonly` or `inactive` (with a new SDP
version), nothing more is sent to it, and the party it was talking to hears music on hold
instead of it; `sendrecv` again resumes the call where it was."""

from __future__ import annotations

from dataclasses import replace

from telephony.announcements import FRAME_BYTES, SILENCE
from telephony.sdp import SessionDescription

HOLDING = frozenset({"sendonly", "inactive"})
_ANSWERS = {"sendonly": "recvonly", "recvonly": "sendonly"}


def answer_direction(offered: str) -> str:
    """What we answer to an offered direction: its mirror (inactive and sendrecv stay)."""
    return _ANSWERS.get(offered, offered)


def answer_sdp(local_sdp: bytes, offered_direction: str) -> bytes:
    """Our SDP for a re-INVITE: the same stream with the mirrored direction. The version is
    raised only when the direction changes (RFC 3264 §8: an unchanged answer keeps it)."""
    current = SessionDescription.parse(local_sdp)
    direction = answer_direction(offered_direction)
    if current.direction == direction:
        return local_sdp
    changed = replace(current, direction=direction, session_version=current.session_version + 1)
    return bytes(changed)


class Music:
    """Music on hold: a clip of 8 kHz 16-bit PCM played round and round (a FrameSource)."""

    def __init__(self, pcm: bytes) -> None:
        self._pcm = pcm
        self._position = 0

    def next_frame(self, now: float) -> bytes:
        if len(self._pcm) < FRAME_BYTES:
            return SILENCE
        frame = self._pcm[self._position : self._position + FRAME_BYTES]
        if len(frame) < FRAME_BYTES:
            self._position = 0
            frame = self._pcm[:FRAME_BYTES]
        self._position += FRAME_BYTES
        return frame
