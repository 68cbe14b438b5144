"""RTP packets: exact wire format, round trips, and refusal of malformed packets."""

from __future__ import annotations

import random
import struct

import pytest

from telephony.rtp import RtpPacket


def test_packet_is_written_exactly() -> None:
    packet = RtpPacket(8, 0x1234, 0x01020304, 0xDEADBEEF, b"\xd5\xd5", marker=True)
    assert bytes(packet) == bytes.fromhex("80 88 1234 01020304 deadbeef d5d5")


def test_round_trip_with_csrcs_extension_and_marker() -> None:
    packet = RtpPacket(
        0,
        65535,
        2**32 - 1,
        0x12345678,
        b"\xff" * 160,
        marker=True,
        csrcs=(1, 2, 3),
        extension=bytes.fromhex("bede 0001 10ff0000"),
    )
    data = bytes(packet)
    assert data[0] == 0x80 | 0x10 | 3 and len(data) == 12 + 12 + 8 + 160
    assert RtpPacket.parse(data) == packet


def test_padding_is_removed() -> None:
    padded = bytearray(bytes(RtpPacket(0, 1, 2, 3, b"abc")) + b"\x00\x00\x03")
    padded[0] |= 0x20
    packet = RtpPacket.parse(bytes(padded))
    assert packet.payload == b"abc"
    assert bytes(packet) == bytes(RtpPacket(0, 1, 2, 3, b"abc"))


def test_sequence_and_timestamp_wrap_around_on_output() -> None:
    packet = RtpPacket.parse(bytes(RtpPacket(0, 65536 + 5, 2**32 + 7, 1, b"")))
    assert (packet.sequence, packet.timestamp) == (5, 7)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"\x80" * 5, "shorter"),
        (b"\x40" + b"\x00" * 11, "version"),
        (b"\x00" * 12, "version"),
        (bytes([0x8F]) + b"\x00" * 11, "CSRC"),
        (bytes([0x90]) + b"\x00" * 11 + b"\xbe\xde", "extension header"),
        (bytes([0x90]) + b"\x00" * 11 + b"\xbe\xde\x00\x02\x00\x00\x00\x00", "extension runs"),
        (bytes([0xA0]) + b"\x00" * 11 + b"ab\x00", "padding"),
        (bytes([0xA0]) + b"\x00" * 11 + b"ab\x04", "padding"),
    ],
)
def test_malformed_packets_raise_value_error(data: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        RtpPacket.parse(data)


def test_unwritable_packets_raise_value_error() -> None:
    with pytest.raises(ValueError):
        bytes(RtpPacket(0, 1, 2, 3, b"", csrcs=tuple(range(16))))
    with pytest.raises(ValueError):
        bytes(RtpPacket(0, 1, 2, 3, b"", extension=b"\xbe\xde\x00"))


def test_random_bytes_parse_or_raise_value_error_only() -> None:
    rng = random.Random(3550)
    for _ in range(5000):
        data = bytes([0x80 | rng.randrange(64)]) + rng.randbytes(rng.randrange(40))
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            continue
        assert RtpPacket.parse(bytes(packet)) == packet


def test_header_fields_are_read_from_the_right_bits() -> None:
    data = struct.pack("!BBHII", 0x80, 0x80 | 101, 7, 8, 9) + b"\x01\x00\x0a\x00"
    packet = RtpPacket.parse(data)
    assert (packet.payload_type, packet.marker, packet.sequence, packet.timestamp, packet.ssrc) == (
        101,
        True,
        7,
        8,
        9,
    )
    assert packet.payload == b"\x01\x00\x0a\x00" and packet.csrcs == () and packet.extension is None
