"""A leg sends on its own socket; what the socket refuses goes through asyncio, in order."""

from __future__ import annotations

import socket
from typing import Any

from telephony.media import MediaEngine, Prompt, RtpLeg
from telephony.rtp import RtpPacket
from telephony.sdp import PCMA


class FullOnce:
    """The leg's socket as the kernel's full send buffer leaves it: refuses one write."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.refuse = 1

    def sendto(self, data: bytes, address: Any) -> int:
        if self.refuse:
            self.refuse -= 1
            raise BlockingIOError
        return self.real.sendto(data, address)


async def test_a_refused_packet_is_kept_by_the_transport_and_order_is_kept() -> None:
    engine = MediaEngine("127.0.0.1", 42400, 42500, Prompt(b"", b""))
    far = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    far.bind(("127.0.0.1", 0))
    far.settimeout(5)
    try:
        leg: RtpLeg = await engine.open_leg(PCMA)
        assert leg._direct  # the engine's legs send on their socket
        leg.set_remote(far.getsockname())
        real = leg._socket
        assert real is not None
        leg.use_socket(FullOnce(real))  # type: ignore[arg-type]
        for frame in range(5):
            leg.send_frame(bytes([frame]) * 160)
        # The transport took the packets over: asyncio's own sendto sent them (its socket
        # was not full), so direct sending resumed with nothing kept, in the same order.
        received = [RtpPacket.parse(far.recv(2048)) for _ in range(5)]
        assert [p.payload[0] for p in received] == [0, 1, 2, 3, 4]
        assert leg.sent == 5 and leg._direct
        assert engine.errors.send == 0
    finally:
        await engine.close()
        far.close()


async def test_while_the_transport_keeps_packets_the_leg_does_not_send_around_them() -> None:
    engine = MediaEngine("127.0.0.1", 42500, 42600, Prompt(b"", b""))
    leg = await engine.open_leg(PCMA)
    transport = leg.transport
    try:
        leg.set_remote(("127.0.0.1", 9))
        kept: list[bytes] = []
        through: list[bytes] = []

        class Keeping:
            """asyncio's transport: keeps what it is given while its socket is full."""

            full = True

            def sendto(self, data: bytes, address: Any) -> None:
                if self.full or kept:
                    kept.append(data)
                else:
                    through.append(data)

            def get_write_buffer_size(self) -> int:
                return sum(len(data) for data in kept)

        keeping = Keeping()
        leg.transport = keeping  # type: ignore[assignment]
        real = leg._socket
        assert real is not None
        leg.use_socket(FullOnce(real))  # type: ignore[arg-type]
        leg.send_frame(b"\x00" * 160)  # refused by the socket: the transport keeps it
        leg.send_frame(b"\x01" * 160)  # must queue behind it, not overtake it on the socket
        assert [p[12] for p in kept] == [0, 1] and not leg._direct
        kept.clear()  # the socket drained: asyncio sent what it kept
        keeping.full = False
        leg.send_frame(b"\x02" * 160)  # through the transport once more, which had nothing left
        assert [p[12] for p in through] == [2] and leg._direct  # then the socket again
    finally:
        leg.transport = transport
        await engine.close()
