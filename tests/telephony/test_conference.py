"""The three-way mixer: each party hears the others, never itself, clipped at full scale."""

from __future__ import annotations

import array
import math

import pytest

from telephony import g711
from telephony.conference import decode_from, encode_for, mix_for_parties
from telephony.sdp import PCMA, PCMU


def pcm(values: list[int]) -> bytes:
    return array.array("h", values).tobytes()


def values(data: bytes) -> list[int]:
    return list(array.array("h", data))


def test_each_party_hears_the_sum_of_the_other_two() -> None:
    heard = mix_for_parties(
        {"caller": pcm([100, -200]), "agent": pcm([10, 20]), "department": pcm([1, 2])}, 2
    )
    assert values(heard["caller"]) == [11, 22]
    assert values(heard["agent"]) == [101, -198]
    assert values(heard["department"]) == [110, -180]


def test_sums_are_clipped_to_sixteen_bits() -> None:
    heard = mix_for_parties(
        {"a": pcm([30000, -30000]), "b": pcm([30000, -30000]), "c": pcm([30000, -30000])}, 2
    )
    assert values(heard["a"]) == [32767, -32768]


def test_missing_or_short_frames_count_as_silence() -> None:
    heard = mix_for_parties({"a": b"", "b": pcm([5]), "c": pcm([7, 8, 9])}, 3)
    assert values(heard["a"]) == [12, 8, 9]
    assert values(heard["b"]) == [7, 8, 9]
    assert values(heard["c"]) == [5, 0, 0]


def test_a_lone_party_hears_silence() -> None:
    assert values(mix_for_parties({"a": pcm([123, 456])}, 2)["a"]) == [0, 0]


def test_odd_byte_count_is_refused() -> None:
    with pytest.raises(ValueError):
        mix_for_parties({"a": b"\x01"}, 1)


@pytest.mark.parametrize("codec", [PCMU, PCMA])
def test_mixing_through_each_codec_keeps_both_tones(codec: int) -> None:
    n = 160
    tone = [int(8000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(n)]
    other = [int(8000 * math.sin(2 * math.pi * 1000 * i / 8000)) for i in range(n)]
    frames = {
        "caller": decode_from(codec, encode_for(codec, pcm(tone))),
        "agent": decode_from(codec, encode_for(codec, pcm(other))),
        "department": decode_from(codec, encode_for(codec, pcm([0] * n))),
    }
    heard = values(decode_from(codec, encode_for(codec, mix_for_parties(frames, n)["department"])))
    expected = [a + b for a, b in zip(tone, other, strict=True)]
    error = max(abs(h - e) for h, e in zip(heard, expected, strict=True))
    assert error < 1200  # G.711 quantisation at this level, twice
    assert encode_for(codec, pcm(tone)) == (
        g711.linear_to_alaw(pcm(tone)) if codec == PCMA else g711.linear_to_ulaw(pcm(tone))
    )
