"""The recording worker: the loop hands it batches; it decodes, mixes and writes in order."""

from __future__ import annotations

import asyncio
import struct
import threading
import wave
from pathlib import Path

import pytest

from telephony.recording import (
    AGENT,
    BATCH_PACKETS,
    CALLER,
    FRAME_SAMPLES,
    CallRecorder,
    RecordingWorker,
)
from telephony.sdp import PCMA, PCMU
from tests.support.tones import pcm_frames_with_tone, tone_payloads


def _stereo_frames(path: Path) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], int]:
    """Each channel of a stereo WAV as 160-sample frames, and its frame count."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        count = wav.getnframes()
        samples = struct.unpack(f"<{2 * count}h", wav.readframes(count))
    left, right = samples[0::2], samples[1::2]

    def cut(channel: tuple[int, ...]) -> list[tuple[int, ...]]:
        return [
            channel[at : at + FRAME_SAMPLES] for at in range(0, len(channel) - 159, FRAME_SAMPLES)
        ]

    return cut(left), cut(right), count


@pytest.mark.parametrize("agent_codec", [PCMU, PCMA])  # a batch of two codecs, or of one
async def test_each_side_lands_on_its_channel_in_order(tmp_path: Path, agent_codec: int) -> None:
    worker = RecordingWorker()
    path = tmp_path / "day" / "call.wav"
    recorder = CallRecorder(path, worker)
    caller = tone_payloads(400, 3.1, PCMA)  # 155 frames: three batches and a remainder
    agent = tone_payloads(1000, 3.1, agent_codec)
    for sequence, (mine, theirs) in enumerate(zip(caller, agent, strict=True)):
        recorder.add(CALLER, 60_000 + sequence, mine, PCMA)  # wraps past 65535
        recorder.add(AGENT, sequence, theirs, agent_codec)
    finished = await recorder.finish()
    assert finished.path == path
    assert finished.duration_seconds == pytest.approx(3.1)
    left, right, count = _stereo_frames(path)
    assert count == 155 * FRAME_SAMPLES  # the header's size was fixed at close
    assert pcm_frames_with_tone(left, 400, 1000) == 155
    assert pcm_frames_with_tone(right, 1000, 400) == 155
    assert pcm_frames_with_tone(left, 1000, 400) == 0
    assert worker.figures.dropped_packets == 0
    assert worker.figures.batches == 4  # 310 packets: three full batches and the rest


async def test_finish_twice_and_packets_after_finish(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path / "x.wav", RecordingWorker())
    recorder.add(CALLER, 1, tone_payloads(400, 0.02)[0], PCMA)
    first = await recorder.finish()
    recorder.add(CALLER, 2, tone_payloads(400, 0.02)[0], PCMA)  # ignored: the call has ended
    assert await recorder.finish() == first
    assert first.duration_seconds == pytest.approx(0.02)


async def test_a_call_with_no_audio_leaves_an_empty_valid_file(tmp_path: Path) -> None:
    finished = await CallRecorder(tmp_path / "empty.wav", RecordingWorker()).finish()
    assert finished.duration_seconds == 0
    with wave.open(str(finished.path), "rb") as wav:
        assert wav.getnframes() == 0


async def test_a_worker_behind_drops_batches_counts_them_and_still_closes(tmp_path: Path) -> None:
    worker = RecordingWorker(max_waiting_batches=2)
    gate = threading.Event()
    # The worker is stuck on a slow disk: it holds the first batch until the gate opens.
    blocker = CallRecorder(tmp_path / "slow.wav", worker)
    original_feed = blocker._recording.feed

    def slow_feed(packets: list[tuple[int, int, bytes, int]]) -> None:
        assert gate.wait(10)
        original_feed(packets)

    blocker._recording.feed = slow_feed  # type: ignore[method-assign]
    payload = tone_payloads(400, 0.02)[0]
    for sequence in range(BATCH_PACKETS):
        blocker.add(CALLER, sequence, payload, PCMA)  # batch 1: taken, stuck in the worker
    recorder = CallRecorder(tmp_path / "late.wav", worker)
    for sequence in range(3 * BATCH_PACKETS):  # batch 2 fits; batches 3 and 4 do not
        recorder.add(CALLER, sequence, payload, PCMA)
    assert worker.figures.dropped_batches == 2
    assert worker.figures.dropped_packets == 2 * BATCH_PACKETS
    gate.set()
    finished, held = await asyncio.gather(recorder.finish(), blocker.finish())
    # What was kept is written (one side's 100 frames: 2 s); the dropped batches are missing
    # from the file, not waited for by the loop.
    assert finished.duration_seconds == pytest.approx(2.0)
    assert held.duration_seconds == pytest.approx(2.0)
    assert worker.figures.batches == 2


async def test_a_file_that_cannot_be_written_fails_finish_not_the_worker(tmp_path: Path) -> None:
    worker = RecordingWorker()
    (tmp_path / "taken").write_text("a file where the folder should be")
    broken = CallRecorder(tmp_path / "taken" / "call.wav", worker)
    good = CallRecorder(tmp_path / "ok" / "call.wav", worker)
    payload = tone_payloads(400, 0.02)[0]
    for sequence in range(2 * BATCH_PACKETS):
        broken.add(CALLER, sequence, payload, PCMA)
        good.add(CALLER, sequence, payload, PCMA)
    with pytest.raises(OSError):
        await broken.finish()
    assert (await good.finish()).duration_seconds == pytest.approx(4.0)
    assert worker.figures.write_errors == 1
