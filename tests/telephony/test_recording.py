"""Recording: the stereo mixer (pure) and the WAV the recorder writes off the event loop."""

from __future__ import annotations

import asyncio
import math
import struct
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from telephony import g711
from telephony.recording import (
    AGENT,
    CALLER,
    FRAME_SAMPLES,
    JITTER_FRAMES,
    CallRecorder,
    StereoMixer,
    interleave,
    interleave_python,
)
from telephony.sdp import PCMA, PCMU


def _frame(value: int) -> bytes:
    return struct.pack(f"<{FRAME_SAMPLES}h", *([value] * FRAME_SAMPLES))


def _channels(stereo: bytes) -> tuple[list[int], list[int]]:
    samples = struct.unpack(f"<{len(stereo) // 2}h", stereo)
    return list(samples[0::2]), list(samples[1::2])


@pytest.mark.parametrize("join", [interleave, interleave_python])
def test_interleave_puts_the_caller_left_and_the_agent_right(join: Callable) -> None:
    # interleave is the native relay's where it is compiled; both must agree
    stereo = join(struct.pack("<3h", 1, 2, -32768), struct.pack("<3h", -1, -2, 32767))
    assert struct.unpack("<6h", stereo) == (1, -1, 2, -2, -32768, 32767)
    with pytest.raises(ValueError):
        join(b"\x00\x00", b"")


def test_a_reordered_packet_is_put_back_and_a_lost_one_becomes_silence() -> None:
    mixer = StereoMixer()
    mixer.add(CALLER, 10, _frame(100))
    mixer.add(CALLER, 12, _frame(300))  # 11 is late ...
    mixer.add(CALLER, 11, _frame(200))  # ... and arrives within the jitter buffer
    mixer.add(CALLER, 12, _frame(300))  # duplicate
    for sequence in range(14, 14 + JITTER_FRAMES + 1):  # 13 never comes
        mixer.add(CALLER, sequence, _frame(sequence))
    mixer.add(CALLER, 13, _frame(999))  # too late: its place is silence already
    for sequence in range(3 + 1 + JITTER_FRAMES + 1):
        mixer.add(AGENT, 60000 + sequence, _frame(-7))
    left, right = _channels(mixer.take())
    after = [s for q in range(14, 14 + JITTER_FRAMES + 1) for s in [q] * FRAME_SAMPLES]
    assert (
        left
        == [100] * FRAME_SAMPLES
        + [200] * FRAME_SAMPLES
        + [300] * FRAME_SAMPLES
        + [0] * FRAME_SAMPLES
        + after
    )
    assert right == [-7] * len(left)
    assert mixer.take() == b""


def test_frames_held_for_a_missing_one_come_out_at_the_end() -> None:
    mixer = StereoMixer()
    mixer.add(CALLER, 1, _frame(1))
    mixer.add(CALLER, 3, _frame(3))  # 2 missing: 3 waits
    mixer.add(AGENT, 1, _frame(-1))
    left, _ = _channels(mixer.take(final=True))
    assert left == [1] * FRAME_SAMPLES + [0] * FRAME_SAMPLES + [3] * FRAME_SAMPLES


def test_sequence_wrap_is_not_a_gap() -> None:
    mixer = StereoMixer()
    mixer.add(CALLER, 65535, _frame(1))
    mixer.add(CALLER, 0, _frame(2))
    mixer.add(AGENT, 5, _frame(3))
    mixer.add(AGENT, 6, _frame(4))
    left, _ = _channels(mixer.take())
    assert left == [1] * FRAME_SAMPLES + [2] * FRAME_SAMPLES


def test_mixing_waits_for_the_slower_side_until_the_end() -> None:
    mixer = StereoMixer()
    mixer.add(CALLER, 1, _frame(5))
    assert mixer.take() == b""
    left, right = _channels(mixer.take(final=True))
    assert left == [5] * FRAME_SAMPLES
    assert right == [0] * FRAME_SAMPLES
    assert mixer.samples_out == FRAME_SAMPLES


def test_a_silent_side_does_not_hold_back_audio_for_ever() -> None:
    mixer = StereoMixer()
    for sequence in range(120):  # 2.4 s of caller, nothing from the agent (on mute)
        mixer.add(CALLER, sequence, _frame(9))
    left, right = _channels(mixer.take())
    assert len(left) == 120 * FRAME_SAMPLES
    assert set(right) == {0}


def _tone(frequency: float, frames: int, encode: object) -> list[bytes]:
    out = []
    for index in range(frames):
        pcm = struct.pack(
            f"<{FRAME_SAMPLES}h",
            *(
                int(8000 * math.sin(2 * math.pi * frequency * (index * FRAME_SAMPLES + n) / 8000))
                for n in range(FRAME_SAMPLES)
            ),
        )
        out.append(encode(pcm))  # type: ignore[operator]
    return out


def _energy(samples: list[int]) -> float:
    return sum(s * s for s in samples) / max(1, len(samples))


def test_the_recorder_writes_a_stereo_wav_with_each_side_on_its_channel(tmp_path: Path) -> None:
    path = tmp_path / "calls" / "one.wav"

    async def record() -> float:
        recorder = CallRecorder(path)
        caller = _tone(440, 150, g711.linear_to_alaw)
        for sequence, payload in enumerate(caller):  # 3 s, more than one written chunk
            recorder.add(CALLER, sequence, payload, PCMA)
            if sequence % 2 == 0:  # the agent only talks in every other frame
                recorder.add(AGENT, sequence, g711.linear_to_ulaw(_frame(0)), PCMU)
        finished = await recorder.finish()
        assert finished.path == path
        return finished.duration_seconds

    duration = asyncio.run(record())
    assert duration == pytest.approx(3.0, abs=0.03)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        assert wav.getnframes() == round(duration * 8000)
        left, right = _channels(wav.readframes(wav.getnframes()))
    assert _energy(left) > 1_000_000  # the 8000-amplitude tone: about 3.2e7
    assert _energy(right) < 100


def test_a_run_of_frames_in_order_is_placed_as_one_and_anything_else_frame_by_frame() -> None:
    frames = [bytes([n]) * 320 for n in range(6)]
    one_by_one, at_once = StereoMixer(), StereoMixer()
    for sequence, frame in zip(range(65533, 65539), frames, strict=True):
        one_by_one.add(CALLER, sequence & 0xFFFF, frame)
    assert at_once.add_run(CALLER, 65533, 3, b"".join(frames[:3]))
    assert at_once.add_run(CALLER, 0, 3, b"".join(frames[3:]))  # across the wrap
    assert at_once.take(final=True) == one_by_one.take(final=True)

    waiting = StereoMixer()
    waiting.add(AGENT, 10, frames[0])
    waiting.add(AGENT, 12, frames[2])  # 11 is missing: 12 waits for it
    assert not waiting.add_run(AGENT, 13, 1, frames[3])
    assert waiting.add_run(CALLER, 5, 1, frames[0])  # the other side: nothing waits there
    assert not waiting.add_run(CALLER, 9, 1, frames[1])  # not the next one (6)
