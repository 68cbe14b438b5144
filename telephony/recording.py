"""Call recording: both directions of a bridged call into one stereo WAV (caller left, agent right).

`StereoMixer` is the pure part: it places each side's decoded 20 ms frames by RTP sequence
number through a small jitter buffer (a packet up to JITTER_FRAMES late is put back in its
place, a lost one becomes silence, a later one is dropped) and interleaves the two sides.
`CallRecorder` is the event loop's side: it only gathers raw payloads and hands them, a second
of a call at a time, to `RecordingWorker`, one thread that decodes, mixes and writes for every
call (bounded: a batch it cannot take is dropped and counted, never waited for). The WAV
header's sizes are written once, when the recording closes.
"""

from __future__ import annotations

import array
import asyncio
import logging
import queue
import struct
import sys
import threading
import wave
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from telephony import g711
from telephony.sdp import PCMA

try:  # the native relay's module also interleaves, a tenth of the array slicing's time
    from telephony._rtprelay import interleave as _native_interleave
except ImportError:
    _native_interleave = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160
CALLER = 0  # left channel
AGENT = 1  # right channel
# A gap this large in sequence numbers is a restarted stream, not loss: do not fill it.
MAX_FILLED_GAP = 50
# Frames held back waiting for a missing one (60 ms): reordering within it is undone.
JITTER_FRAMES = 3
SILENT_FRAME = b"\x00\x00" * FRAME_SAMPLES
# When one side runs this far ahead (the other is silent or on hold), the quiet side is
# padded with silence so memory stays bounded and the channels stay aligned.
MAX_SKEW_SAMPLES = SAMPLE_RATE  # 1 s
CHUNK_SAMPLES = SAMPLE_RATE  # hand the writer about one second at a time


def decode(payload: bytes, codec: int) -> bytes:
    """G.711 payload to 16-bit little-endian linear PCM."""
    return g711.alaw_to_linear(payload) if codec == PCMA else g711.ulaw_to_linear(payload)


@dataclass
class _Side:
    pcm: bytearray = field(default_factory=bytearray)
    # The sequence number whose frame goes next into `pcm`.
    expected: int | None = None
    # Frames that came before the one expected, by sequence number.
    waiting: dict[int, bytes | memoryview] = field(default_factory=dict)

    def release(self, final: bool) -> None:
        """Move frames to `pcm` in order; give a missing frame up (as silence) once more
        than JITTER_FRAMES are waiting behind it, or at the end."""
        while self.waiting and self.expected is not None:
            frame = self.waiting.pop(self.expected, None)
            if frame is None:
                if not final and len(self.waiting) <= JITTER_FRAMES:
                    return
                frame = SILENT_FRAME
            self.pcm += frame
            self.expected = (self.expected + 1) & 0xFFFF


class StereoMixer:
    """Two mono streams in (by RTP sequence), one interleaved stereo stream out."""

    def __init__(self) -> None:
        self._sides = (_Side(), _Side())
        self.samples_out = 0

    def add(self, side: int, sequence: int, pcm: bytes | memoryview) -> None:
        """A decoded frame from one side, placed by its sequence number."""
        state = self._sides[side]
        if state.expected is None:
            state.expected = sequence
        ahead = (sequence - state.expected) & 0xFFFF
        if ahead == 0 and not state.waiting:  # the usual case: the next frame, in order
            state.pcm += pcm
            state.expected = (sequence + 1) & 0xFFFF
            return
        if ahead >= 0x8000:
            return  # too late: its place has been filled already
        if ahead > MAX_FILLED_GAP + JITTER_FRAMES:
            # A restarted stream: what is waiting goes out, the new one starts here.
            state.release(final=True)
            state.expected = sequence
        state.waiting[sequence] = pcm
        state.release(final=False)

    def add_run(self, side: int, first: int, count: int, pcm: bytes | memoryview) -> bool:
        """`count` consecutive frames from sequence `first` at once, when they are simply the
        next ones (nothing waiting); False, and nothing added, otherwise."""
        state = self._sides[side]
        if state.waiting or state.expected not in (None, first):
            return False
        state.pcm += pcm
        state.expected = (first + count) & 0xFFFF
        return True

    def take(self, final: bool = False) -> bytes:
        """Interleaved stereo for every instant both sides have covered (all of it if final)."""
        if final:
            for side in self._sides:
                side.release(final=True)
        left, right = (side.pcm for side in self._sides)
        if final or abs(len(left) - len(right)) > 2 * MAX_SKEW_SAMPLES:
            longest = max(len(left), len(right))
            left += b"\x00" * (longest - len(left))
            right += b"\x00" * (longest - len(right))
        count = min(len(left), len(right)) // 2
        if count == 0:
            return b""
        stereo = interleave(bytes(left[: 2 * count]), bytes(right[: 2 * count]))
        del left[: 2 * count]
        del right[: 2 * count]
        self.samples_out += count
        return stereo

    def pending_samples(self) -> int:
        return min(len(side.pcm) for side in self._sides) // 2

    def covered(self, side: int) -> int:
        """Samples of one side placed so far, from the start of the recording."""
        return self.samples_out + len(self._sides[side].pcm) // 2

    def pad(self, side: int, until: int) -> None:
        """Silence on one side up to sample `until` (it paused); its next frame starts anew."""
        state = self._sides[side]
        state.release(final=True)
        missing = until - self.covered(side)
        if missing > 0:
            state.pcm += b"\x00\x00" * missing
        state.expected = None


def interleave(left: bytes, right: bytes) -> bytes:
    """Two equal-length 16-bit mono buffers to one stereo buffer (L R L R ...)."""
    if _native_interleave is not None:
        return _native_interleave(left, right)
    return interleave_python(left, right)


def interleave_python(left: bytes, right: bytes) -> bytes:
    """interleave() where the native relay is not compiled."""
    if len(left) != len(right):
        raise ValueError("both channels must have the same length")
    mono_left = array.array("h", left)
    mono_right = array.array("h", right)
    stereo = array.array("h", bytes(2 * len(left)))
    stereo[0::2] = mono_left
    stereo[1::2] = mono_right
    if sys.byteorder == "big":
        stereo.byteswap()  # WAV is little-endian; array uses the machine's order
    return stereo.tobytes()


class StereoWavFile:
    """A 8 kHz 16-bit stereo WAV opened for appending; its header is right after close()."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._wav = wave.open(str(path), "wb")
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)

    def write(self, stereo: bytes) -> None:
        # writeframesraw leaves the header alone; wave.writeframes would seek back and
        # rewrite it after every chunk. close() writes the final sizes once.
        self._wav.writeframesraw(stereo)

    def close(self) -> None:
        self._wav.close()


@dataclass(frozen=True)
class FinishedRecording:
    path: Path
    duration_seconds: float


# Packets a recorder gathers on the event loop before handing them to the worker: both sides
# of one second of a call. Per packet the loop only appends a tuple to a list.
BATCH_PACKETS = 100
# Batches waiting for the worker, all calls together: 8 s of 250 recorded calls, some 50 MiB
# of payloads at most. Past this a batch is dropped and counted: the loop never waits.
MAX_WAITING_BATCHES = 2_000

# side, RTP sequence number, G.711 payload, codec
Packet = tuple[int, int, bytes, int]


@dataclass(frozen=True)
class Frames:
    """One side's packets as the native relay keeps them, already decoded: a little-endian
    (sequence, samples) pair of 16-bit numbers per packet in `meta`, their 16-bit PCM one after
    another in `pcm`; `in_order` when each sequence number follows the one before (nearly
    always: a second of one side)."""

    side: int
    meta: bytes
    pcm: bytes
    in_order: bool

    def __len__(self) -> int:
        return len(self.meta) // 4


_FRAME_META = struct.Struct("<HH")


@dataclass
class RecordingFigures:
    """Totals since start, for /metrics."""

    batches: int = 0  # handed to the worker
    dropped_batches: int = 0  # refused because the worker was too far behind
    dropped_packets: int = 0
    write_errors: int = 0


class _Recording:
    """One call's mixer and file: touched only by the worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mixer = StereoMixer()
        self.file: StereoWavFile | None = None
        self.error: OSError | None = None

    def feed(self, packets: list[Packet] | Frames) -> None:
        if isinstance(packets, Frames):
            self._feed_frames(packets)
            return
        mixer = self.mixer
        codec = packets[0][3] if packets else 0
        if any(packet[3] != codec for packet in packets):
            for side, sequence, payload, codec in packets:
                mixer.add(side, sequence, decode(payload, codec))
        else:  # one codec (nearly always): decode the batch at once, then cut it per packet
            pcm = memoryview(decode(b"".join(packet[2] for packet in packets), codec))
            at = 0
            for side, sequence, payload, _ in packets:
                end = at + 2 * len(payload)
                mixer.add(side, sequence, pcm[at:end])
                at = end
        if mixer.pending_samples() >= CHUNK_SAMPLES:
            self._write(mixer.take())

    def _feed_frames(self, frames: Frames) -> None:
        pcm = memoryview(frames.pcm)
        mixer, side = self.mixer, frames.side
        first = _FRAME_META.unpack_from(frames.meta)[0] if frames.in_order and frames else None
        if first is None or not mixer.add_run(side, first, len(frames), pcm):
            at = 0
            for sequence, samples in _FRAME_META.iter_unpack(frames.meta):
                end = at + 2 * samples
                mixer.add(side, sequence, pcm[at:end])
                at = end
        if mixer.pending_samples() >= CHUNK_SAMPLES:
            self._write(mixer.take())

    def close(self) -> FinishedRecording:
        self._write(self.mixer.take(final=True))
        if self.file is None and self.error is None:
            self._write(b"", force=True)  # a call with no audio still leaves a valid file
        if self.file is not None:
            try:
                self.file.close()  # the header's sizes are written here, once
            except OSError as exc:
                self.error = self.error or exc
        if self.error is not None:
            raise self.error
        return FinishedRecording(self.path, self.mixer.samples_out / SAMPLE_RATE)

    def _write(self, stereo: bytes, force: bool = False) -> None:
        if self.error is not None or not (stereo or force):
            return
        try:
            if self.file is None:
                self.file = StereoWavFile(self.path)
            if stereo:
                self.file.write(stereo)
        except OSError as exc:  # reported by close(), to whoever awaits the recording
            self.error = exc


class RecordingWorker:
    """One thread for every recording: decodes, mixes and writes what the loop hands it.

    Data batches are bounded (a full queue drops the batch and counts it); a recording's
    close is never refused, so every recording is finished and its file closed.
    """

    def __init__(self, max_waiting_batches: int = MAX_WAITING_BATCHES) -> None:
        self.figures = RecordingFigures()
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._room = threading.BoundedSemaphore(max_waiting_batches)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def feed(self, recording: _Recording, packets: list[Packet] | Frames) -> bool:
        """Queue a batch of packets; False (and counted) if the worker is too far behind."""
        if not self._room.acquire(blocking=False):
            self.figures.dropped_batches += 1
            self.figures.dropped_packets += len(packets)
            return False
        self.figures.batches += 1
        self._put(partial(self._feed, recording, packets))
        return True

    def _feed(self, recording: _Recording, packets: list[Packet] | Frames) -> None:
        try:
            recording.feed(packets)
        finally:
            self._room.release()

    def close(self, recording: _Recording) -> Future[FinishedRecording]:
        """Write what is left and close the file, after every batch queued before."""
        done: Future[FinishedRecording] = Future()

        def close() -> None:
            try:
                done.set_result(recording.close())
            except BaseException as exc:
                self.figures.write_errors += 1
                done.set_exception(exc)

        self._put(close)
        return done

    def _put(self, job: Callable[[], None]) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="recording-worker", daemon=True
                    )
                    self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # one call's fault must not stop every other recording
                log.exception("recording job failed")


# One worker for the process: writes stay in order per call and never block the loop.
WORKER = RecordingWorker()


class CallRecorder:
    """Records one call; the event loop only gathers payloads, the worker does the rest."""

    def __init__(self, path: Path, worker: RecordingWorker = WORKER) -> None:
        self.path = path
        self._worker = worker
        self._recording = _Recording(path)
        self._packets: list[Packet] = []
        self._closed = False
        self._finished: Future[FinishedRecording] | None = None
        # The native relay's legs keep their packets there: each is asked for them at finish.
        self._sources: dict[object, Callable[[], None]] = {}

    def add(self, side: int, sequence: int, payload: bytes, codec: int) -> None:
        """A received audio packet of one side (called from datagram_received)."""
        if self._closed:
            return
        packets = self._packets
        packets.append((side, sequence, payload, codec))
        if len(packets) >= BATCH_PACKETS:
            self._packets = []
            self._worker.feed(self._recording, packets)

    def attach(self, source: object, flush: Callable[[], None]) -> None:
        """`flush` hands `source`'s kept packets to add_frames; called at finish."""
        self._sources[source] = flush

    def detach(self, source: object) -> None:
        self._sources.pop(source, None)

    def add_frames(self, frames: Frames) -> None:
        """A side's packets kept by the native relay, after those added before."""
        if self._closed:
            return
        if self._packets:
            self._worker.feed(self._recording, self._packets)
            self._packets = []
        self._worker.feed(self._recording, frames)

    async def finish(self) -> FinishedRecording:
        """Write what is left, close the file; the path and length of the recording."""
        if self._finished is None:
            for flush in list(self._sources.values()):
                flush()
            self._sources.clear()
            self._closed = True
            if self._packets:
                self._worker.feed(self._recording, self._packets)
                self._packets = []
            self._finished = self._worker.close(self._recording)
        return await asyncio.wrap_future(self._finished)
