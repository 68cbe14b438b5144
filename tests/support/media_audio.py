"""Known audio for media tests: tones, RFC 4733 key presses as a SIPp pcap, Goertzel power."""

from __future__ import annotations

import math
import socket
import struct
from pathlib import Path

from telephony import g711
from telephony.dtmf import press_payloads
from telephony.rtp import RtpPacket
from telephony.sdp import PCMA
from tests.support.rtp_audio import _checksum, write_rtp_pcap

TELEPHONE_EVENT = 101


def tone_pcm(frequency: float, seconds: float, amplitude: int = 8000) -> bytes:
    count = int(8000 * seconds)
    return struct.pack(
        f"<{count}h",
        *(int(amplitude * math.sin(2 * math.pi * frequency * n / 8000)) for n in range(count)),
    )


def encode(pcm: bytes, codec: int) -> bytes:
    return g711.linear_to_alaw(pcm) if codec == PCMA else g711.linear_to_ulaw(pcm)


def decode(data: bytes, codec: int) -> list[int]:
    pcm = g711.alaw_to_linear(data) if codec == PCMA else g711.ulaw_to_linear(data)
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm))


def frames(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data) - size + 1, size)]


def goertzel(samples: list[int], frequency: float) -> float:
    """Power of one frequency in 8 kHz samples (normalised by length)."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / 8000)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    return power / max(1, len(samples)) ** 2


def write_tone_pcap(path: Path, frequency: float, seconds: float, codec: int) -> None:
    """SIPp plays this: a G.711 tone, one 20 ms packet at a time."""
    write_rtp_pcap(path, frames(encode(tone_pcm(frequency, seconds), codec), 160), codec)


def write_keys_pcap(
    path: Path, digits: str, codec: int, lead_in_seconds: float = 1.0, lead_in_tone: float = 0
) -> None:
    """Silence (or a tone), then each key as RFC 4733 events (payload type 101), 0.4 s apart."""
    silence = encode(b"\x00\x00" * 160, codec)
    lead_in = frames(encode(tone_pcm(lead_in_tone, lead_in_seconds), codec), 160)
    packets: list[RtpPacket] = []

    def add(payload_type: int, payload: bytes, timestamp: int) -> None:
        packets.append(
            RtpPacket(payload_type, len(packets), timestamp, 0x2833, payload, not packets)
        )

    for frame in lead_in:
        add(codec, frame if lead_in_tone else silence, len(packets) * 160)
    for digit in digits:
        start = len(packets) * 160  # every packet of one press carries its start time
        for payload in press_payloads(digit):
            add(TELEPHONE_EVENT, payload, start)
        for _ in range(20):
            add(codec, silence, len(packets) * 160)
    write_packets_pcap(path, packets)


def write_packets_pcap(path: Path, packets: list[RtpPacket]) -> None:
    """A classic pcap of the packets, 20 ms apart, in the layout SIPp's play_pcap_audio reads."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, packet in enumerate(packets):
        rtp = bytes(packet)
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
