"""Call recording: both directions of a bridged call into one stereo WAV (caller left, agent right).

`StereoMixer` is the pure part: it places each side's decoded 20 ms frames by RTP sequence
number through a small jitter buffer (a packet up to JITTER_FRAMES late is put back in its
place, a lost one becomes silence, a later one is dropped) and interleaves the two sides.
`CallRecorder` is the adapter: it hands mixed audio to one writer thread in chunks, so the
event loop never waits on the disk.
"""

from __future__ import annotations

import array
import asyncio
import logging
import sys
import wave
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from telephony import g711
from telephony.sdp import PCMA

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
    waiting: dict[int, bytes] = field(default_factory=dict)

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

    def add(self, side: int, sequence: int, pcm: bytes) -> None:
        """A decoded frame from one side, placed by its sequence number."""
        state = self._sides[side]
        if state.expected is None:
            state.expected = sequence
        ahead = (sequence - state.expected) & 0xFFFF
        if ahead >= 0x8000:
            return  # too late: its place has been filled already
        if ahead > MAX_FILLED_GAP + JITTER_FRAMES:
            # A restarted stream: what is waiting goes out, the new one starts here.
            state.release(final=True)
            state.expected = sequence
        state.waiting[sequence] = pcm
        state.release(final=False)

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


def interleave(left: bytes, right: bytes) -> bytes:
    """Two equal-length 16-bit mono buffers to one stereo buffer (L R L R ...)."""
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
        self._wav.writeframes(stereo)

    def close(self) -> None:
        self._wav.close()


@dataclass(frozen=True)
class FinishedRecording:
    path: Path
    duration_seconds: float


# One writer thread for every recording: writes stay in order and never block the loop.
_WRITER: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-writer")


class CallRecorder:
    """Records one bridged call; fed from the RTP legs, flushed to disk in one-second chunks."""

    def __init__(self, path: Path, writer: Executor = _WRITER) -> None:
        self.path = path
        self._mixer = StereoMixer()
        self._writer = writer
        self._file: StereoWavFile | None = None
        self._last_write: asyncio.Future[None] | None = None
        self._closed = False

    def add(self, side: int, sequence: int, payload: bytes, codec: int) -> None:
        """A received audio packet of one side (called from datagram_received)."""
        if self._closed:
            return
        self._mixer.add(side, sequence, decode(payload, codec))
        if self._mixer.pending_samples() >= CHUNK_SAMPLES:
            self._submit(self._mixer.take())

    def _submit(self, stereo: bytes, close: bool = False) -> None:
        if not stereo and not close:
            return
        loop = asyncio.get_running_loop()
        self._last_write = loop.run_in_executor(self._writer, self._write, stereo, close)

    def _write(self, stereo: bytes, close: bool) -> None:
        # Runs on the writer thread only.
        if self._file is None:
            self._file = StereoWavFile(self.path)
        if stereo:
            self._file.write(stereo)
        if close:
            self._file.close()

    async def finish(self) -> FinishedRecording:
        """Write what is left, close the file; the path and length of the recording."""
        if not self._closed:
            self._closed = True
            self._submit(self._mixer.take(final=True), close=True)
        if self._last_write is not None:
            await self._last_write
        return FinishedRecording(self.path, self._mixer.samples_out / SAMPLE_RATE)
