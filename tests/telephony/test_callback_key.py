"""The callback key: only after the offer, only once, and it plays the confirmation."""

from __future__ import annotations

from telephony.announcements import (
    FRAME_BYTES,
    PROMPT_NAMES,
    HoldProgramme,
    PromptLibrary,
    QueueStatus,
)
from telephony.caller_media import CallerMedia, CallerMediaOptions


def _media(wait_seconds: float) -> CallerMedia:
    clips = {name: bytes([index + 1]) * FRAME_BYTES for index, name in enumerate(PROMPT_NAMES)}
    clips["callback_confirmed"] = clips["callback_confirmed"] * 50  # one second
    library = PromptLibrary(clips)
    options = CallerMediaOptions(prompts=library, callback_above_seconds=600)
    media = CallerMedia("call-1", options)
    media.programme = HoldProgramme(
        library, lambda: QueueStatus(3, wait_seconds), 30, now=0, callback_above_seconds=600
    )
    return media


def _play(media: CallerMedia, frames: int) -> list[bytes]:
    assert media.programme is not None
    return [media.programme.next_frame(now=1 + i * 0.02) for i in range(frames)]


def test_key_1_before_the_offer_books_nothing() -> None:
    media = _media(wait_seconds=900)
    assert media.digit("1") is None  # nothing offered yet
    _play(media, 3)  # greeting, then the announcement with the offer starts
    assert media.digit("2") is None
    assert media.digit("1") == 1.0  # seconds of confirmation before the hang-up
    assert media.callback_confirmed and media.digit("1") is None  # once only
    assert set(_play(media, 50)) == {bytes([PROMPT_NAMES.index("callback_confirmed") + 1]) * 320}


def test_no_offer_when_the_wait_is_short() -> None:
    media = _media(wait_seconds=60)
    _play(media, 10)
    assert media.digit("1") is None
    assert not media.callback_confirmed
