"""The relay between bridged legs keeps the far end's view of loss and reordering."""

from __future__ import annotations

from typing import Any

from telephony.media import RtpLeg
from telephony.rtp import RtpPacket
from telephony.sdp import PCMU


class Wire:
    """Stands in for the leg's UDP socket: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []

    def sendto(self, data: bytes, address: Any) -> None:
        self.sent.append(RtpPacket.parse(data))

    def is_closing(self) -> bool:
        return False


def leg() -> tuple[RtpLeg, Wire]:
    wire = Wire()
    rtp = RtpLeg(40000, PCMU)
    rtp.transport = wire  # type: ignore[assignment]
    rtp.remote = ("127.0.0.1", 40002)
    return rtp, wire


def packet(sequence: int, timestamp: int) -> RtpPacket:
    return RtpPacket(PCMU, sequence, timestamp, 0x1234, b"\xff" * 160)


def test_a_gap_and_a_reordering_reach_the_far_end_as_they_came() -> None:
    agent, wire = leg()
    agent.send_frame(b"\xff" * 160)  # the leg's own audio before the bridge (a prompt)
    own = wire.sent[-1]
    arrivals = [(65534, 1000), (0, 1320), (65535, 1160), (2, 1640)]  # 1 lost, 65535 late
    for sequence, timestamp in arrivals:
        agent.relay(packet(sequence, timestamp))
    relayed = wire.sent[1:]
    first = relayed[0]
    assert first.sequence == (own.sequence + 1) & 0xFFFF and first.marker
    steps = [
        ((p.sequence - first.sequence) & 0xFFFF, p.timestamp - first.timestamp) for p in relayed
    ]
    assert steps == [(0, 0), (2, 320), (1, 160), (4, 640)]
    agent.send_frame(b"\xff" * 160)  # back to its own audio: continues after the newest
    assert wire.sent[-1].sequence == (relayed[-1].sequence + 1) & 0xFFFF
    assert wire.sent[-1].timestamp == (relayed[-1].timestamp + 160) & 0xFFFFFFFF


def test_a_datagram_is_relayed_the_same_with_or_without_csrcs_extension_and_padding() -> None:
    caller, _ = leg()
    agent, wire = leg()
    caller.partner = agent
    payload = bytes(range(160))
    plain = RtpPacket(PCMU, 7, 5000, 0x1234, payload, marker=True)
    dressed = RtpPacket(PCMU, 8, 5160, 0x1234, payload, csrcs=(1, 2), extension=b"\xbe\xde\0\0")
    padded = bytes(RtpPacket(PCMU, 9, 5320, 0x1234, payload))
    padded = bytes([padded[0] | 0x20]) + padded[1:] + b"\0\0\0\x04"  # 4 bytes of padding
    caller.datagram_received(bytes(plain), ("127.0.0.1", 40010))
    caller.datagram_received(bytes(dressed), ("127.0.0.1", 40010))
    caller.datagram_received(padded, ("127.0.0.1", 40010))
    caller.datagram_received(b"\x80\x00\x01", ("127.0.0.1", 40010))  # too short: dropped
    caller.datagram_received(b"\x40" + bytes(20), ("127.0.0.1", 40010))  # not version 2
    assert (caller.received, caller.dropped) == (3, 2)
    first, second, third = wire.sent
    assert first.marker and not second.marker and not third.marker
    assert [p.payload for p in wire.sent] == [payload] * 3
    assert [(p.csrcs, p.extension) for p in wire.sent] == [((), None)] * 3
    assert {p.ssrc for p in wire.sent} == {agent._ssrc}
    assert [(p.sequence - first.sequence) & 0xFFFF for p in wire.sent] == [0, 1, 2]
    assert [p.timestamp - first.timestamp for p in wire.sent] == [0, 160, 320]
