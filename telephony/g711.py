"""G.711 μ-law (PCMU) and A-law (PCMA) from and to 16-bit linear PCM (ITU-T G.711)."""

from __future__ import annotations

import array
import sys

_BIAS = 0x84


def _ulaw_encode(sample: int) -> int:
    # G.711 works on 14-bit samples; the arithmetic shift rounds negatives toward -inf.
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    value = min(-value if value < 0 else value, 8159) + (_BIAS >> 2)
    segment = max(0, value.bit_length() - 6)
    if segment >= 8:
        return 0x7F ^ mask
    return (((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask) & 0xFF


def _ulaw_decode(code: int) -> int:
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + _BIAS) << ((code >> 4) & 0x07)
    return _BIAS - magnitude if code & 0x80 else magnitude - _BIAS


def _alaw_encode(sample: int) -> int:
    # A-law works on 13-bit magnitudes; the sign bit set means positive.
    if sample >= 0:
        sign, magnitude = 0x80, sample >> 3
    else:
        sign, magnitude = 0x00, (-sample - 1) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (min(exponent, 7) << 4) | ((magnitude >> exponent) & 0x0F if exponent <= 7 else 0x0F)
    return (sign | code) ^ 0x55


def _alaw_decode(code: int) -> int:
    code ^= 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    if exponent == 0:
        magnitude = (mantissa << 4) + 8
    else:
        magnitude = ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if code & 0x80 else -magnitude


# Whole-range tables: encoding is then one lookup per sample.
_ULAW_ENCODE = bytes(_ulaw_encode(s) for s in range(-32768, 32768))
_ALAW_ENCODE = bytes(_alaw_encode(s) for s in range(-32768, 32768))
_ULAW_DECODE = array.array("h", (_ulaw_decode(c) for c in range(256)))
_ALAW_DECODE = array.array("h", (_alaw_decode(c) for c in range(256)))


def _samples(pcm: bytes) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _to_bytes(samples: array.array[int]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def linear_to_ulaw(samples: bytes) -> bytes:
    """16-bit signed little-endian PCM → μ-law bytes."""
    table = _ULAW_ENCODE
    return bytes(table[s + 32768] for s in _samples(samples))


def linear_to_alaw(samples: bytes) -> bytes:
    """16-bit signed little-endian PCM → A-law bytes."""
    table = _ALAW_ENCODE
    return bytes(table[s + 32768] for s in _samples(samples))


def ulaw_to_linear(data: bytes) -> bytes:
    return _to_bytes(array.array("h", (_ULAW_DECODE[c] for c in data)))


def alaw_to_linear(data: bytes) -> bytes:
    return _to_bytes(array.array("h", (_ALAW_DECODE[c] for c in data)))
