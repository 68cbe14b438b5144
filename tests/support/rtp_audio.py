"""Caller audio for SIPp (a pcap of G.711 RTP) and a loopback tap counting RTP at SIPp's ports."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from telephony import g711
from telephony.rtp import RtpPacket

ETH_P_ALL = 0x0003
PACKET_HOST = 0  # AF_PACKET pkttype of a frame as received (loopback also shows it outgoing)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def caller_payloads(seconds: float, payload_type: int, seed: int = 12319) -> list[bytes]:
    """Distinct 20 ms frames of quiet noise, so each echoed frame can be recognised."""
    rng = random.Random(seed)
    frames = []
    for _ in range(int(seconds * 50)):
        pcm = struct.pack("<160h", *(rng.randint(-3000, 3000) for _ in range(160)))
        encode = g711.linear_to_alaw if payload_type == 8 else g711.linear_to_ulaw
        frames.append(encode(pcm))
    return frames


def write_rtp_pcap(path: Path, payloads: list[bytes], payload_type: int) -> None:
    """A classic pcap (Ethernet/IPv4/UDP/RTP, one frame per 20 ms) that SIPp can play."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    ssrc = 0x12319
    for index, payload in enumerate(payloads):
        rtp = bytes(
            RtpPacket(
                payload_type=payload_type,
                sequence=index,
                timestamp=index * 160,
                ssrc=ssrc,
                payload=payload,
                marker=index == 0,
            )
        )
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip_header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp),
            index & 0xFFFF,
            0,
            64,
            17,
            0,
            socket.inet_aton("127.0.0.1"),
            socket.inet_aton("127.0.0.1"),
        )
        ip_header = ip_header[:10] + struct.pack("!H", _checksum(ip_header)) + ip_header[12:]
        frame = b"\x00" * 12 + b"\x08\x00" + ip_header + udp
        seconds, micros = divmod(index * 20000, 1_000_000)
        out.append(struct.pack("<IIII", 1_700_000_000 + seconds, micros, len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))


@dataclass
class RtpTap:
    """Counts RTP datagrams delivered on loopback to chosen ports (needs CAP_NET_RAW)."""

    ports: set[int]
    received: Counter[int] = field(default_factory=Counter)
    payloads: dict[int, list[bytes]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RtpTap:
        self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._socket.bind(("lo", 0))
        self._socket.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, name="rtp-tap", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def _run(self) -> None:
        deadline = time.monotonic() + 600  # bounded even if a test forgets to stop it
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                frame, address = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if address[2] != PACKET_HOST or len(frame) < 42 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            header_len = (ip[0] & 0x0F) * 4
            if ip[9] != 17:
                continue
            udp = ip[header_len:]
            destination = struct.unpack("!H", udp[2:4])[0]
            if destination not in self.ports:
                continue
            try:
                packet = RtpPacket.parse(udp[8:])
            except ValueError:
                continue
            self.received[destination] += 1
            self.payloads.setdefault(destination, []).append(packet.payload)

    def matching(self, port: int, known: set[bytes]) -> int:
        """How many packets delivered to `port` carried one of the `known` payloads."""
        return sum(1 for payload in self.payloads.get(port, []) if payload in known)
