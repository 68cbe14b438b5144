"""G.711: identical to the reference codec (Python 3.11's audioop) for every input."""

from __future__ import annotations

import struct
import warnings
from types import ModuleType

import pytest

from telephony import g711

ALL_SAMPLES = struct.pack("<65536h", *range(-32768, 32768))
ALL_CODES = bytes(range(256))


@pytest.fixture(scope="module")
def audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop

        return audioop


def test_ulaw_encoding_matches_the_reference_for_every_sample(audioop: ModuleType) -> None:
    assert g711.linear_to_ulaw(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES, 2)


def test_alaw_encoding_matches_the_reference_for_every_sample(audioop: ModuleType) -> None:
    assert g711.linear_to_alaw(ALL_SAMPLES) == audioop.lin2alaw(ALL_SAMPLES, 2)


def test_ulaw_decoding_matches_the_reference_for_every_code(audioop: ModuleType) -> None:
    assert g711.ulaw_to_linear(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)


def test_alaw_decoding_matches_the_reference_for_every_code(audioop: ModuleType) -> None:
    assert g711.alaw_to_linear(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_known_values() -> None:
    silence = b"\x00\x00" * 4
    assert g711.linear_to_ulaw(silence) == b"\xff" * 4
    assert g711.linear_to_alaw(silence) == b"\xd5" * 4
    assert g711.linear_to_ulaw(struct.pack("<2h", 32767, -32768)) == b"\x80\x00"
    assert g711.ulaw_to_linear(b"\x80\x00") == struct.pack("<2h", 32124, -32124)
    assert g711.alaw_to_linear(b"\xaa\x2a") == struct.pack("<2h", 32256, -32256)


def test_decoding_then_encoding_gives_the_code_back() -> None:
    # 0x7F is μ-law's "negative zero": it decodes to 0, which encodes as 0xFF.
    ulaw_codes = bytes(c for c in range(256) if c != 0x7F)
    assert g711.linear_to_ulaw(g711.ulaw_to_linear(ulaw_codes)) == ulaw_codes
    assert g711.linear_to_alaw(g711.alaw_to_linear(ALL_CODES)) == ALL_CODES


def test_empty_and_odd_inputs() -> None:
    assert g711.linear_to_ulaw(b"") == b"" and g711.ulaw_to_linear(b"") == b""
    assert g711.linear_to_alaw(b"") == b"" and g711.alaw_to_linear(b"") == b""
    with pytest.raises(ValueError):
        g711.linear_to_ulaw(b"\x00\x00\x00")
    with pytest.raises(ValueError):
        g711.linear_to_alaw(b"\x00")
