"""Symmetric RTP: a leg answers to where its media really comes from, safely."""

from __future__ import annotations

from telephony.media import LATCH_PACKETS, RtpLeg
from telephony.rtp import RtpPacket
from telephony.sdp import PCMA
from tests.telephony.test_relay import Wire

PRIVATE = ("192.168.1.20", 4000)  # what a phone behind NAT puts in its SDP
MAPPING = ("203.0.113.9", 61000)  # where its packets really come from


def leg() -> RtpLeg:
    rtp = RtpLeg(40000, PCMA)
    rtp.transport = Wire()  # type: ignore[assignment]
    rtp.event_payload_type = 101
    rtp.set_remote(PRIVATE)
    return rtp


def datagram(payload_type: int = PCMA, sequence: int = 1) -> bytes:
    return bytes(RtpPacket(payload_type, sequence, sequence * 160, 0x5150, b"\xd5" * 160))


def test_the_first_packets_from_the_nat_mapping_latch_the_leg() -> None:
    rtp = leg()
    rtp.datagram_received(datagram(), MAPPING)
    assert rtp.remote == MAPPING
    rtp.datagram_received(datagram(sequence=2), ("198.51.100.66", 5004))  # a stray, later
    assert rtp.remote == MAPPING


def test_a_stream_of_other_payload_types_does_not_latch() -> None:
    rtp = leg()
    rtp.datagram_received(datagram(payload_type=18), MAPPING)  # G.729: not this leg's
    assert rtp.remote == PRIVATE
    rtp.datagram_received(datagram(payload_type=101), MAPPING)  # its telephone-event does
    assert rtp.remote == MAPPING


def test_after_the_first_packets_only_the_sdp_host_latches() -> None:
    rtp = leg()
    for sequence in range(LATCH_PACKETS):
        rtp.datagram_received(datagram(payload_type=18, sequence=sequence), MAPPING)
    rtp.datagram_received(datagram(sequence=99), MAPPING)
    assert rtp.remote == PRIVATE
    rtp.datagram_received(datagram(sequence=100), (PRIVATE[0], 4002))  # the SDP's host, new port
    assert rtp.remote == (PRIVATE[0], 4002)


def test_a_new_sdp_opens_the_window_again() -> None:
    rtp = leg()
    rtp.datagram_received(datagram(), MAPPING)
    rtp.set_remote(("192.168.1.21", 4000))  # re-INVITE: the phone moved
    rtp.datagram_received(datagram(sequence=2), ("203.0.113.10", 62000))
    assert rtp.remote == ("203.0.113.10", 62000)
