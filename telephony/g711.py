"""G.711 μ-law (PCMU) and A-law (PCMA) from and to 16-bit little-endian linear PCM."""

from __future__ import annotations

import array
import sys

_ULAW_BIAS = 0x84 >> 2  # the 33 added to 14-bit magnitudes before finding the segment
_ULAW_CLIP = 8159  # largest 14-bit magnitude μ-law can represent


def _ulaw_from_14bit(value: int) -> int:
    """μ-law code of a 14-bit two's complement sample (ITU-T G.711 table 2)."""
    mask = 0x7F if value < 0 else 0xFF  # μ-law sends every bit inverted; sign set = positive
    magnitude = min(abs(value), _ULAW_CLIP) + _ULAW_BIAS
    segment = magnitude.bit_length() - 6  # magnitude is at least 33, so this is 0..8
    if segment > 7:
        return 0x7F ^ mask  # the clipped maximum lands just past segment 7
    mantissa = (magnitude >> (segment + 1)) & 0x0F
    return ((segment << 4) | mantissa) ^ mask


def _alaw_from_13bit(value: int) -> int:
    """A-law code of a 13-bit two's complement sample (ITU-T G.711 table 1)."""
    if value >= 0:
        mask, magnitude = 0xD5, value  # even bits inverted, sign bit set for positive
    else:
        mask, magnitude = 0x55, -value - 1
    segment = max(0, magnitude.bit_length() - 5)
    if segment > 7:
        return 0x7F ^ mask
    mantissa = (magnitude >> (segment if segment else 1)) & 0x0F
    return ((segment << 4) | mantissa) ^ mask


def _ulaw_to_16bit(code: int) -> int:
    inverted = ~code & 0xFF
    magnitude = ((((inverted & 0x0F) << 3) + 0x84) << ((inverted >> 4) & 0x07)) - 0x84
    return -magnitude if inverted & 0x80 else magnitude


def _alaw_to_16bit(code: int) -> int:
    code ^= 0x55
    segment = (code >> 4) & 0x07
    magnitude = ((code & 0x0F) << 4) + (8 if segment == 0 else 0x108)
    if segment > 1:
        magnitude <<= segment - 1
    return magnitude if code & 0x80 else -magnitude


def _spread(table: bytes, shift: int) -> bytes:
    """A table indexed by the unsigned 16-bit sample, from one indexed by its top bits."""
    # Index u (0..65535) is the sample's two's complement bits, so u >> shift is exactly the
    # unsigned form of the arithmetic shift the codec applies; every entry repeats 2**shift times.
    spread = bytearray(len(table) << shift)
    for low in range(1 << shift):
        spread[low :: 1 << shift] = table
    return bytes(spread)


def _signed(unsigned: int, bits: int) -> int:
    return unsigned - (1 << bits) if unsigned >> (bits - 1) else unsigned


_ULAW_ENCODE = _spread(bytes(_ulaw_from_14bit(_signed(u, 14)) for u in range(1 << 14)), 2)
_ALAW_ENCODE = _spread(bytes(_alaw_from_13bit(_signed(u, 13)) for u in range(1 << 13)), 3)
# Decoding is two byte-to-byte translations, low and high byte of each sample: C speed.
_ULAW_LOW = bytes(_ulaw_to_16bit(code) & 0xFF for code in range(256))
_ULAW_HIGH = bytes((_ulaw_to_16bit(code) >> 8) & 0xFF for code in range(256))
_ALAW_LOW = bytes(_alaw_to_16bit(code) & 0xFF for code in range(256))
_ALAW_HIGH = bytes((_alaw_to_16bit(code) >> 8) & 0xFF for code in range(256))


def _unsigned_samples(pcm: bytes) -> memoryview | array.array[int]:
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    if sys.byteorder == "little":
        return memoryview(pcm).cast("H")
    samples = array.array("H", pcm)
    samples.byteswap()
    return samples


def _decode(data: bytes, low: bytes, high: bytes) -> bytes:
    pcm = bytearray(2 * len(data))
    pcm[0::2] = data.translate(low)
    pcm[1::2] = data.translate(high)
    return bytes(pcm)


def linear_to_ulaw(samples: bytes) -> bytes:
    """16-bit signed little-endian PCM to μ-law, one byte per sample."""
    return bytes(map(_ULAW_ENCODE.__getitem__, _unsigned_samples(samples)))


def linear_to_alaw(samples: bytes) -> bytes:
    """16-bit signed little-endian PCM to A-law, one byte per sample."""
    return bytes(map(_ALAW_ENCODE.__getitem__, _unsigned_samples(samples)))


def ulaw_to_linear(data: bytes) -> bytes:
    """μ-law to 16-bit signed little-endian PCM."""
    return _decode(data, _ULAW_LOW, _ULAW_HIGH)


def alaw_to_linear(data: bytes) -> bytes:
    """A-law to 16-bit signed little-endian PCM."""
    return _decode(data, _ALAW_LOW, _ALAW_HIGH)
