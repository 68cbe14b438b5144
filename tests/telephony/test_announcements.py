"""What a queued caller hears: spoken numbers, the schedule with `now`, the programme's frames."""

from __future__ import annotations

import pytest

from telephony.announcements import (
    FRAME_BYTES,
    PROMPT_NAMES,
    PROMPTS_DIR,
    AnnouncementSchedule,
    HoldProgramme,
    PromptLibrary,
    QueueStatus,
    announcement_words,
    spoken_number,
)


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, ["zero"]),
        (7, ["seven"]),
        (10, ["ten"]),
        (12, ["ten", "two"]),
        (40, ["four", "ten"]),
        (99, ["nine", "ten", "nine"]),
        (250, ["nine", "ten", "nine"]),
        (-3, ["zero"]),
    ],
)
def test_numbers_are_spoken_in_mandarin(number: int, words: list[str]) -> None:
    assert spoken_number(number) == words


def test_the_announcement_counts_callers_ahead_and_whole_minutes() -> None:
    words = announcement_words(QueueStatus(position=3, estimated_wait_seconds=61))
    assert words == [
        "position_before",
        "two",
        "position_after",
        "wait_before",
        "two",
        "wait_after",
    ]
    assert announcement_words(QueueStatus(1, 0))[1:2] == ["zero"]
    assert announcement_words(QueueStatus(1, 0))[-2] == "one"  # never "0 minutes"


def test_the_schedule_is_due_every_interval() -> None:
    schedule = AnnouncementSchedule(30, first_at=100)
    assert not schedule.due(99.9)
    assert schedule.due(100)
    schedule.announced(101)
    assert not schedule.due(130)
    assert schedule.due(131)
    with pytest.raises(ValueError):
        AnnouncementSchedule(0, first_at=0)


def _library() -> PromptLibrary:
    # Each clip is one frame filled with its own byte, so the frames say what is playing.
    clips = {name: bytes([index + 1]) * FRAME_BYTES for index, name in enumerate(PROMPT_NAMES)}
    clips["greeting"] = clips["greeting"] * 2
    clips["moh"] = bytes([200]) * FRAME_BYTES * 3
    return PromptLibrary(clips)


def _names(library: PromptLibrary, frames: list[bytes]) -> list[str]:
    by_frame = {library.clip(name)[:FRAME_BYTES]: name for name in PROMPT_NAMES}
    return [by_frame[frame] for frame in frames]


def test_greeting_then_announcement_then_music_until_the_next_interval() -> None:
    library = _library()
    asked: list[float] = []

    def status() -> QueueStatus:
        asked.append(0)
        return QueueStatus(position=2, estimated_wait_seconds=120)

    programme = HoldProgramme(library, status, interval_seconds=30, now=0)
    frames = [programme.next_frame(now=index * 0.02) for index in range(12)]
    announcement = ["position_before", "one", "position_after", "wait_before", "two"]
    assert _names(library, frames) == [
        "greeting",
        "greeting",
        *announcement,
        "wait_after",
        "moh",
        "moh",
        "moh",
        "moh",
    ]
    assert len(asked) == 1  # the routing engine is asked only when an announcement is due
    later = [programme.next_frame(now=30.04 + index * 0.02) for index in range(2)]
    assert _names(library, later) == ["position_before", "one"]
    assert programme.announcements == 2


def test_no_status_means_music_only() -> None:
    library = _library()
    programme = HoldProgramme(library, lambda: None, interval_seconds=10, now=0)
    frames = [programme.next_frame(now=5 + index * 0.02) for index in range(4)]
    assert _names(library, frames) == ["greeting", "greeting", "moh", "moh"]
    assert programme.announcements == 0


def test_a_missing_prompt_is_named() -> None:
    with pytest.raises(ValueError, match="moh"):
        PromptLibrary({name: b"" for name in PROMPT_NAMES if name != "moh"})


def test_the_shipped_prompts_are_complete_and_well_formed() -> None:
    library = PromptLibrary.load(PROMPTS_DIR)
    assert all(len(library.clip(name)) % FRAME_BYTES == 0 for name in PROMPT_NAMES)
    assert len(library.clip("moh")) >= 8000 * 2  # at least a second of music before it loops


def test_a_long_wait_offers_a_callback_once() -> None:
    library = _library()
    programme = HoldProgramme(
        library, lambda: QueueStatus(5, 900), interval_seconds=1, now=0, callback_above_seconds=600
    )
    frames = [programme.next_frame(now=2 + index * 0.02) for index in range(10)]
    assert _names(library, frames)[2:10] == [
        "position_before",
        "four",
        "position_after",
        "wait_before",
        "ten",
        "five",
        "wait_after",
        "callback_offer",
    ]
    assert programme.callback_offered
    again = [programme.next_frame(now=10 + index * 0.02) for index in range(8)]
    assert "callback_offer" not in _names(library, again)


def test_a_short_wait_offers_no_callback() -> None:
    library = _library()
    programme = HoldProgramme(
        library, lambda: QueueStatus(1, 30), interval_seconds=1, now=0, callback_above_seconds=600
    )
    frames = [programme.next_frame(now=2 + index * 0.02) for index in range(10)]
    assert "callback_offer" not in _names(library, frames)
    assert not programme.callback_offered
