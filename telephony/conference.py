"""Three-way mixing: every party hears the sum of the others (or of those a supervised call
lets it hear: telephony/supervision.py), clipped, in its own codec.

`mix_for_parties` is the pure core: 20 ms of 16-bit linear PCM per party in, what each party
should hear out. `encode_for` and `decode_from` wrap the G.711 codecs so the media ticker can
feed it the frames it received and send each leg the mix in the leg's own codec.
"""

from __future__ import annotations

import array
import sys
from collections.abc import Hashable, Mapping
from collections.abc import Set as AbstractSet
from typing import Generic, Protocol, TypeVar

from telephony import g711
from telephony.sdp import PCMA

Party = TypeVar("Party", bound=Hashable)
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
# Audio held per party beyond this is dropped: jitter smoothing without growing delay.
MAX_BUFFERED_BYTES = 2 * FRAME_SAMPLES * 3

SAMPLE_MAX = 32767
SAMPLE_MIN = -32768


def _samples(pcm: bytes, length: int) -> array.array[int]:
    """Signed 16-bit samples of little-endian PCM, padded with silence to `length`."""
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    samples = array.array("h", pcm)
    if sys.byteorder != "little":
        samples.byteswap()
    if len(samples) < length:
        samples.extend([0] * (length - len(samples)))
    return samples[:length]


def _pcm(samples: list[int]) -> bytes:
    out = array.array("h", samples)
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def _clipped(samples: list[int]) -> bytes:
    return _pcm(
        [SAMPLE_MAX if s > SAMPLE_MAX else SAMPLE_MIN if s < SAMPLE_MIN else s for s in samples]
    )


def mix_for_parties(
    frames: Mapping[Party, bytes],
    length: int,
    hears: Mapping[Party, AbstractSet[Party]] | None = None,
) -> dict[Party, bytes]:
    """What each party hears: the clipped sum of every other party's frame, or, with `hears`,
    of the other parties `hears[party]` names (a party it does not name hears silence).

    `frames` maps each party to the linear PCM it sent in this period (b"" for silence or a
    lost packet); every output frame has exactly `length` samples.
    """
    if length < 0:
        raise ValueError("frame length must not be negative")
    decoded = {party: _samples(pcm, length) for party, pcm in frames.items()}
    heard: dict[Party, bytes] = {}
    if hears is None:
        total = [0] * length
        for samples in decoded.values():
            total = [a + b for a, b in zip(total, samples, strict=True)]
        for party, own in decoded.items():
            heard[party] = _clipped([t - o for t, o in zip(total, own, strict=True)])
        return heard
    for party in decoded:
        mixed = [0] * length
        for source in hears.get(party, ()):
            if source != party and source in decoded:
                mixed = [a + b for a, b in zip(mixed, decoded[source], strict=True)]
        heard[party] = _clipped(mixed)
    return heard


def decode_from(codec: int, payload: bytes) -> bytes:
    """G.711 payload of the leg's codec to linear PCM."""
    return g711.alaw_to_linear(payload) if codec == PCMA else g711.ulaw_to_linear(payload)


def encode_for(codec: int, pcm: bytes) -> bytes:
    """Linear PCM to the leg's G.711 codec."""
    return g711.linear_to_alaw(pcm) if codec == PCMA else g711.linear_to_ulaw(pcm)


class CodecLeg(Hashable, Protocol):
    codec: int


LegT = TypeVar("LegT", bound=CodecLeg)


class Conference(Generic[LegT]):
    """Several legs mixed: received audio is buffered per leg, `tick` makes the next 20 ms."""

    def __init__(
        self, legs: list[LegT], hears: Mapping[LegT, AbstractSet[LegT]] | None = None
    ) -> None:
        self.legs = list(legs)
        self._buffered: dict[LegT, bytearray] = {leg: bytearray() for leg in legs}
        # None: everyone hears everyone else; else who hears whom (a supervised call).
        self.hears = hears

    def receive(self, leg: LegT, payload: bytes) -> None:
        buffer = self._buffered.get(leg)
        if buffer is None:
            return
        buffer += decode_from(leg.codec, payload)
        if len(buffer) > MAX_BUFFERED_BYTES:
            del buffer[: len(buffer) - MAX_BUFFERED_BYTES]

    def leave(self, leg: LegT) -> None:
        if leg in self._buffered:
            self.legs.remove(leg)
            del self._buffered[leg]

    def tick(self) -> dict[LegT, bytes]:
        """The next frame each leg should hear, encoded in the leg's codec."""
        frames: dict[LegT, bytes] = {}
        for leg, buffer in self._buffered.items():
            frames[leg] = bytes(buffer[: 2 * FRAME_SAMPLES])
            del buffer[: 2 * FRAME_SAMPLES]
        heard = mix_for_parties(frames, FRAME_SAMPLES, self.hears)
        return {leg: encode_for(leg.codec, pcm) for leg, pcm in heard.items()}
