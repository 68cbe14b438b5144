"""rtpengine's capture of a call (pcap, as `recording-method = pcap` writes it) turned into the
stereo WAV the embedded engine writes: sides by rtpengine's port, placed by sequence number
and by capture time, telephone-events and other ports left out; the files rtpengine left are
found by call and removed once converted."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

import dpkt
import pytest

from telephony import g711
from telephony.media_relay import MAX_MUSIC_BYTES, music_wav
from telephony.recording import FRAME_SAMPLES, StereoMixer
from telephony.rtp import RtpPacket
from telephony.rtpengine_recording import (
    RecordedPorts,
    RtpengineRecordings,
    captured_rtp,
    convert_pcap,
    udp_payload,
)
from telephony.sdp import PCMA, PCMU
from tests.support.media_audio import goertzel

CALLER_PORT, AGENT_PORT, RTCP_PORT = 30000, 30002, 30001
START = 1_700_000_000.0


def _tone(frequency: float, index: int, codec: int) -> bytes:
    """Frame `index` of a continuous tone, G.711-encoded."""
    pcm = struct.pack(
        f"<{FRAME_SAMPLES}h",
        *(
            int(8000 * math.sin(2 * math.pi * frequency * (index * FRAME_SAMPLES + n) / 8000))
            for n in range(FRAME_SAMPLES)
        ),
    )
    return g711.linear_to_alaw(pcm) if codec == PCMA else g711.linear_to_ulaw(pcm)


def _datagram(port: int, payload: bytes, link: int) -> bytes:
    udp = dpkt.udp.UDP(sport=40000, dport=port, data=payload)
    udp.ulen = len(bytes(udp))
    ip = dpkt.ip.IP(
        src=bytes([127, 0, 0, 1]), dst=bytes([127, 0, 0, 1]), p=dpkt.ip.IP_PROTO_UDP, data=udp
    )
    ip.len = len(bytes(ip))
    if link == dpkt.pcap.DLT_EN10MB:
        return bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP, data=ip))
    return bytes(ip)


def _write(path: Path, packets: list[tuple[float, int, bytes]], link: int = 101) -> None:
    with path.open("wb") as file:
        writer = dpkt.pcap.Writer(file, linktype=link)
        for time, port, payload in packets:
            writer.writepkt(_datagram(port, payload, link), ts=time)


def _call(codec: int = PCMA) -> list[tuple[float, int, bytes]]:
    """Caller: 440 Hz for 3 s from 0. Agent: 1000 Hz from 0.5 s, silent (held) from 1.5 s to
    2.5 s with its sequence numbers going on, then 0.5 s more. Also a key and an RTCP packet."""
    packets = []
    for n in range(150):
        rtp = RtpPacket(codec, 1000 + n, n * 160, 1, _tone(440, n, codec))
        packets.append((START + n * 0.02, CALLER_PORT, bytes(rtp)))
    for n in [*range(25, 75), *range(125, 150)]:
        rtp = RtpPacket(codec, 60000 + n, n * 160, 2, _tone(1000, n, codec))
        packets.append((START + n * 0.02 + 0.001, AGENT_PORT, bytes(rtp)))
    key = RtpPacket(101, 1200, 0, 1, b"\x01\x0a\x00\xa0")
    packets.append((START + 1.0, CALLER_PORT, bytes(key)))
    packets.append((START + 1.0, RTCP_PORT, b"\x80\xc8\x00\x06" + b"\x00" * 24))
    return sorted(packets)


def _channels(path: Path) -> tuple[list[int], list[int]]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        stereo = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(stereo) // 2}h", stereo)
    return list(samples[0::2]), list(samples[1::2])


def _loud(samples: list[int]) -> bool:
    return max(abs(x) for x in samples) > 4000


@pytest.mark.parametrize("codec", [PCMA, PCMU], ids=["alaw", "ulaw"])
def test_a_capture_becomes_a_stereo_wav_with_each_side_where_it_was_heard(
    tmp_path: Path, codec: int
) -> None:
    _write(tmp_path / "call.pcap", _call(codec))
    finished = convert_pcap(
        tmp_path / "call.pcap", tmp_path / "out" / "call.wav", CALLER_PORT, AGENT_PORT
    )
    left, right = _channels(finished.path)
    assert finished.path == tmp_path / "out" / "call.wav"
    # From the first packet to the end of the last: the agent's, 1 ms after the caller's.
    assert len(left) == 150 * FRAME_SAMPLES + 8
    assert finished.duration_seconds == pytest.approx(3.001)
    assert goertzel(left, 440) > 50 * goertzel(left, 1000)
    assert goertzel(right, 1000) > 50 * goertzel(right, 440)

    def second(channel: list[int], start: float, end: float) -> list[int]:
        return channel[int(start * 8000) : int(end * 8000)]

    # The agent starts half a second in, pauses a second, and comes back on time.
    assert not _loud(second(right, 0.0, 0.49))
    assert _loud(second(right, 0.52, 1.48))
    assert not _loud(second(right, 1.52, 2.48))
    assert _loud(second(right, 2.52, 3.0))
    assert _loud(second(left, 0.0, 3.0))


def test_ethernet_frames_are_read_too(tmp_path: Path) -> None:
    _write(tmp_path / "eth.pcap", _call(), link=dpkt.pcap.DLT_EN10MB)
    ports = {packet.port for packet in captured_rtp(tmp_path / "eth.pcap")}
    # RTCP looks like RTP version 2 too: its port, not the parser, leaves it out.
    assert ports == {CALLER_PORT, AGENT_PORT, RTCP_PORT}
    finished = convert_pcap(tmp_path / "eth.pcap", tmp_path / "eth.wav", CALLER_PORT, AGENT_PORT)
    assert finished.duration_seconds == pytest.approx(3.001)


def test_a_capture_cut_short_keeps_what_came_before(tmp_path: Path) -> None:
    _write(tmp_path / "call.pcap", _call())
    data = (tmp_path / "call.pcap").read_bytes()
    (tmp_path / "call.pcap").write_bytes(data[:-50])  # rtpengine stopped mid-record
    finished = convert_pcap(tmp_path / "call.pcap", tmp_path / "c.wav", CALLER_PORT, AGENT_PORT)
    assert 2.9 <= finished.duration_seconds < 3.001


def test_a_pause_pads_one_side_and_its_next_frame_starts_anew() -> None:
    mixer = StereoMixer()
    frame = b"\x01\x00" * FRAME_SAMPLES
    mixer.add(0, 7, frame)
    assert mixer.covered(0) == FRAME_SAMPLES and mixer.covered(1) == 0
    mixer.pad(0, 3 * FRAME_SAMPLES)
    mixer.add(0, 500, frame)  # far from 8: placed right after the silence, not dropped
    assert mixer.covered(0) == 4 * FRAME_SAMPLES
    mixer.pad(0, FRAME_SAMPLES)  # already past: nothing added
    assert mixer.covered(0) == 4 * FRAME_SAMPLES


async def test_the_deleted_calls_capture_is_found_converted_and_removed(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    (spool / "pcaps").mkdir(parents=True)
    (spool / "metadata").mkdir()
    _write(spool / "pcaps" / "abc-1234.pcap", _call())
    # rtpengine names the capture by its own path: another host mounts it elsewhere.
    metadata = spool / "metadata" / "rtpengine-meta-abc-1234.txt"
    metadata.write_text("/var/spool/rtpengine/pcaps/abc-1234.pcap\n\n\nSDP mode: offer\n")
    recordings = RtpengineRecordings(spool, close_timeout=1.0)
    wav = tmp_path / "recordings" / "abc.wav"
    finished = await recordings.finish("abc", wav, RecordedPorts(CALLER_PORT, AGENT_PORT))
    assert finished is not None and finished.path == wav
    assert _channels(wav)[0]
    assert not list((spool / "pcaps").iterdir()) and not list((spool / "metadata").iterdir())


async def test_no_capture_leaves_no_recording(tmp_path: Path) -> None:
    (tmp_path / "metadata").mkdir()
    recordings = RtpengineRecordings(tmp_path, close_timeout=0.2)
    wav = tmp_path / "x.wav"
    assert await recordings.finish("gone", wav, RecordedPorts(1, 2)) is None
    assert not wav.exists()


def test_music_for_rtpengine_fits_one_request() -> None:
    short = music_wav(b"\x01\x00" * 100)
    with wave.open(io.BytesIO(short)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        assert wav.getnframes() == 100
    assert len(music_wav(b"\x01\x00" * 100_000)) <= MAX_MUSIC_BYTES


def test_udp_payloads_are_read_from_ipv4_ipv6_and_tagged_ethernet_frames() -> None:
    payload = bytes(RtpPacket(PCMA, 7, 160, 1, b"\xd5" * 160))
    ipv4 = _datagram(CALLER_PORT, payload, 101)
    assert udp_payload(ipv4, ethernet=False) == (CALLER_PORT, payload)
    udp = dpkt.udp.UDP(sport=40000, dport=AGENT_PORT, data=payload)
    udp.ulen = len(bytes(udp))
    ipv6 = bytes(
        dpkt.ip6.IP6(src=b"\x00" * 15 + b"\x01", dst=b"\x00" * 15 + b"\x01", nxt=17, data=udp)
    )
    assert udp_payload(ipv6, ethernet=False) == (AGENT_PORT, payload)
    ethernet = _datagram(CALLER_PORT, payload, dpkt.pcap.DLT_EN10MB)
    assert udp_payload(ethernet, ethernet=True) == (CALLER_PORT, payload)
    tagged = ethernet[:12] + b"\x81\x00\x00\x05" + ethernet[12:]  # VLAN 5
    assert udp_payload(tagged, ethernet=True) == (CALLER_PORT, payload)
    # A UDP length shorter than the frame (Ethernet padding) ends the payload.
    assert udp_payload(ipv4 + b"\x00" * 6, ethernet=False) == (CALLER_PORT, payload)


def test_frames_that_are_not_whole_udp_are_left_out() -> None:
    ipv4 = _datagram(CALLER_PORT, b"\x80" * 20, 101)
    tcp = ipv4[:9] + b"\x06" + ipv4[10:]
    fragment = ipv4[:6] + b"\x20\x00" + ipv4[8:]  # more fragments follow
    arp = b"\xff" * 12 + b"\x08\x06" + b"\x00" * 28
    for frame, ethernet in [
        (tcp, False),
        (fragment, False),
        (ipv4[:24], False),  # cut inside the UDP header
        (b"", False),
        (b"\x50" + ipv4[1:], False),  # IP version 5
        (arp, True),
        (b"\x00" * 10, True),
    ]:
        assert udp_payload(frame, ethernet) is None
