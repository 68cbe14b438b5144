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
