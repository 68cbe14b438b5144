"""What a queued caller hears: the greeting, then music on hold with position and wait announced.

Pure: the schedule takes `now`, the programme hands out 20 ms frames of linear PCM and asks a
status provider for the queue position only when an announcement is due.
"""

from __future__ import annotations

import math
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

FRAME_SAMPLES = 160
FRAME_BYTES = 2 * FRAME_SAMPLES
SILENCE = b"\x00" * FRAME_BYTES
PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Every prompt the programme can play; tools/make_prompts.sh makes them.
PROMPT_NAMES = (
    "greeting",
    "moh",
    "position_before",
    "position_after",
    "wait_before",
    "wait_after",
    "ten",
    *DIGITS,
    "callback_offer",
    "callback_confirmed",
    "queue_full",
    "nobody_on_duty",
    "after_hours",
    "menu",
    "survey",
    "survey_thanks",
)
LARGEST_SPOKEN = 99  # above this the caller hears "99"; an exact figure no longer helps


@dataclass(frozen=True)
class QueueStatus:
    """Where a waiting call stands: 1 = next to be answered."""

    position: int
    estimated_wait_seconds: float


StatusProvider = Callable[[], QueueStatus | None]


class FrameSource(Protocol):
    def next_frame(self, now: float) -> bytes:
        """The next 20 ms of 8 kHz 16-bit linear PCM."""
        ...


class OneMessage:
    """A message played once, then silence (before a refusal or a voicemail beep)."""

    def __init__(self, pcm: bytes) -> None:
        self._pcm = pcm
        self._position = 0

    @property
    def seconds(self) -> float:
        return len(self._pcm) / 16000

    def next_frame(self, now: float) -> bytes:
        frame = self._pcm[self._position : self._position + FRAME_BYTES]
        self._position += FRAME_BYTES
        return frame if len(frame) == FRAME_BYTES else SILENCE


def spoken_number(number: int) -> list[str]:
    """Prompt names that say a number in Mandarin: 0 → 零, 12 → 十二, 40 → 四十, 99 → 九十九."""
    number = max(0, min(number, LARGEST_SPOKEN))
    if number < 10:
        return [DIGITS[number]]
    tens, units = divmod(number, 10)
    words = [] if tens == 1 else [DIGITS[tens]]
    words.append("ten")
    if units:
        words.append(DIGITS[units])
    return words


def announcement_words(status: QueueStatus) -> list[str]:
    """ "您前面还有 N 位，预计等待 M 分钟" as prompt names (N callers ahead, M whole minutes)."""
    ahead = max(0, status.position - 1)
    minutes = max(1, math.ceil(status.estimated_wait_seconds / 60))
    return [
        "position_before",
        *spoken_number(ahead),
        "position_after",
        "wait_before",
        *spoken_number(minutes),
        "wait_after",
    ]


class AnnouncementSchedule:
    """When the next position announcement is due: every `interval` seconds after the first."""

    def __init__(self, interval_seconds: float, first_at: float) -> None:
        if interval_seconds <= 0:
            raise ValueError("announcement interval must be positive")
        self.interval = interval_seconds
        self.next_at = first_at

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def announced(self, now: float) -> None:
        self.next_at = now + self.interval


class PromptLibrary:
    """Linear 8 kHz PCM of every prompt, loaded once from a directory of WAV files."""

    def __init__(self, clips: dict[str, bytes]) -> None:
        missing = [name for name in PROMPT_NAMES if name not in clips]
        if missing:
            raise ValueError(f"prompts missing: {', '.join(missing)}")
        self._clips = clips

    @classmethod
    def load(cls, directory: Path, greeting: Path | None = None) -> PromptLibrary:
        clips: dict[str, bytes] = {}
        for name in PROMPT_NAMES:
            path = greeting if name == "greeting" and greeting is not None else directory / name
            path = path if path.suffix == ".wav" else path.with_suffix(".wav")
            if path.exists():
                clips[name] = read_prompt(path)
        return cls(clips)

    def clip(self, name: str) -> bytes:
        return self._clips[name]

    def say(self, words: list[str]) -> bytes:
        return b"".join(self._clips[word] for word in words)


def read_prompt(path: Path) -> bytes:
    """An 8 kHz mono 16-bit WAV's samples, padded to whole 20 ms frames; ValueError otherwise."""
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() != 8000 or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path.name}: prompts must be 8 kHz mono 16-bit WAV")
        pcm = wav.readframes(wav.getnframes())
    return pcm + b"\x00" * (-len(pcm) % FRAME_BYTES)


class HoldProgramme:
    """One queued caller's audio: greeting, then music with announcements at each interval."""

    def __init__(
        self,
        library: PromptLibrary,
        status: StatusProvider,
        interval_seconds: float,
        now: float,
        callback_above_seconds: float | None = None,
        greet: bool = True,
    ) -> None:
        self._library = library
        self._status = status
        self._current = library.clip("greeting") if greet else b""
        self._position = 0
        self._music = library.clip("moh")
        self._music_position = 0
        self._in_music = False
        # The first announcement comes right after the greeting (it is due at once).
        self.schedule = AnnouncementSchedule(interval_seconds, now)
        self.announcements = 0
        # Offer a callback (press 1) once, when the estimated wait exceeds this.
        self._callback_above = callback_above_seconds
        self.callback_offered = False

    def play(self, clip: bytes) -> None:
        """Interrupt with a message (e.g. the callback offer); music resumes after it."""
        self._current = clip
        self._position = 0
        self._in_music = False

    def next_frame(self, now: float) -> bytes:
        """The next 20 ms of linear PCM."""
        if not self._in_music and self._position < len(self._current):
            frame = self._current[self._position : self._position + FRAME_BYTES]
            self._position += FRAME_BYTES
            return frame
        if self.schedule.due(now):
            self.schedule.announced(now)
            status = self._status()
            if status is not None:
                self.announcements += 1
                words = announcement_words(status)
                if (
                    self._callback_above is not None
                    and status.estimated_wait_seconds > self._callback_above
                    and not self.callback_offered
                ):
                    self.callback_offered = True
                    words.append("callback_offer")
                self.play(self._library.say(words))
                return self.next_frame(now)
        self._in_music = True
        if not self._music:
            return SILENCE
        frame = self._music[self._music_position : self._music_position + FRAME_BYTES]
        self._music_position = (self._music_position + FRAME_BYTES) % len(self._music)
        return frame
