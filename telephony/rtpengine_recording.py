"""Recordings of calls whose media ran through rtpengine: its pcap turned into our stereo WAV.

rtpengine's userspace build records with `recording-method = pcap`: every packet it receives
for a recorded call goes into `<recording-dir>/pcaps/<call-id>-<random>.pcap`, and when the
call is deleted a metadata file naming that pcap appears in `<recording-dir>/metadata/`
(the `proc` method needs the kernel module). Both sides' packets are in one file; what the
caller sent is addressed to rtpengine's caller-facing port, what the agent's phone sent to
its callee-facing port, the two ports the relay handed out in the SDP.

`TimedStereo` is the pure part: it places each side's frames by RTP sequence number (the
embedded recorder's `StereoMixer`, with its jitter buffer and loss filling) and also by the
time rtpengine received them, so a side that starts late or pauses (on hold, silence
suppression) stays in step with the other instead of sliding earlier. `convert_pcap` reads
the capture (dpkt for the file's records, `struct` for the headers in them) and writes the
WAV; `RtpengineRecordings` waits for rtpengine to close the capture, converts it in a worker
thread and removes rtpengine's files.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dpkt

from telephony.recording import (
    AGENT,
    CALLER,
    CHUNK_SAMPLES,
    SAMPLE_RATE,
    FinishedRecording,
    StereoMixer,
    StereoWavFile,
    decode,
)
from telephony.rtp import RtpPacket
from telephony.sdp import PCMA, PCMU

log = logging.getLogger(__name__)

# A side whose frames lag the capture clock by more than this paused (or lost a burst past
# the sequence-number filling): silence is put in until it is back in step.
LATE_SAMPLES = SAMPLE_RATE // 5  # 200 ms, well past the jitter buffer's 60 ms
# How long after `delete` rtpengine may take to close the capture and write its metadata.
CLOSE_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.1
_LINK_ETHERNET = 1
_LINK_RAW = (12, 14, 101)  # DLT_RAW as BSDs and Linux number it, and LINKTYPE_RAW
_ETHERTYPE = struct.Struct("!H")
_ETHERTYPE_IPV4, _ETHERTYPE_IPV6 = 0x0800, 0x86DD
_VLAN_TAGS = (0x8100, 0x88A8)
_IPV4_FRAGMENT = struct.Struct("!H")  # flags and fragment offset
_UDP = 17
_UDP_PORT_LENGTH = struct.Struct("!HH")  # destination port, length
_RTP_FIELDS = struct.Struct("!xBH")  # marker and payload type, sequence


@dataclass(frozen=True)
class CapturedRtp:
    time: float  # when rtpengine received it, seconds
    port: int  # the rtpengine port it was sent to
    payload_type: int
    sequence: int
    payload: bytes


def captured_rtp(path: Path) -> Iterator[CapturedRtp]:
    """The RTP packets of a pcap rtpengine wrote (raw IP or Ethernet frames), in order.

    dpkt reads the capture's records; the IP, UDP and RTP headers inside are read with
    `struct` (a dpkt object per header made this four times slower: a 30 s call is 3,000
    packets)."""
    with path.open("rb") as file:
        reader = dpkt.pcap.Reader(file)
        link = reader.datalink()
        if link != _LINK_ETHERNET and link not in _LINK_RAW:
            raise ValueError(f"{path.name}: link type {link} is neither raw IP nor Ethernet")
        try:
            for time, frame in reader:
                datagram = udp_payload(frame, link == _LINK_ETHERNET)
                if datagram is None:
                    continue
                port, data = datagram
                if len(data) >= 12 and data[0] == 0x80:  # a bare header, as nearly all are
                    second, sequence = _RTP_FIELDS.unpack_from(data)
                    yield CapturedRtp(float(time), port, second & 0x7F, sequence, data[12:])
                    continue
                try:
                    packet = RtpPacket.parse(data)
                except ValueError:
                    continue  # not RTP (an RTCP port is a different port, but be sure)
                yield CapturedRtp(
                    float(time), port, packet.payload_type, packet.sequence, packet.payload
                )
        except dpkt.NeedData:
            # The last record cut short (rtpengine stopped mid-write): keep what came before.
            log.warning("recording capture truncated", extra={"file": path.name})


def udp_payload(frame: bytes, ethernet: bool) -> tuple[int, bytes] | None:
    """A captured frame's UDP destination port and payload; None if it is not UDP over IPv4
    or IPv6 (with no extension headers, as rtpengine writes them), or is cut short."""
    offset = 0
    if ethernet:
        if len(frame) < 14:
            return None
        kind = _ETHERTYPE.unpack_from(frame, 12)[0]
        offset = 14
        while kind in _VLAN_TAGS and len(frame) >= offset + 4:
            kind = _ETHERTYPE.unpack_from(frame, offset + 2)[0]
            offset += 4
        if kind not in (_ETHERTYPE_IPV4, _ETHERTYPE_IPV6):
            return None
    if len(frame) <= offset:
        return None
    version = frame[offset] >> 4
    if version == 4:
        header = (frame[offset] & 0x0F) * 4
        if header < 20 or len(frame) < offset + header or frame[offset + 9] != _UDP:
            return None
        if _IPV4_FRAGMENT.unpack_from(frame, offset + 6)[0] & 0x3FFF:
            return None  # a fragment: RTP of G.711 never is
    elif version == 6:
        header = 40
        if len(frame) < offset + header or frame[offset + 6] != _UDP:
            return None
    else:
        return None
    udp = offset + header
    if len(frame) < udp + 8:
        return None
    port, length = _UDP_PORT_LENGTH.unpack_from(frame, udp + 2)
    end = min(len(frame), udp + length) if length >= 8 else len(frame)
    return port, frame[udp + 8 : end]


class TimedStereo:
    """Both sides' G.711 frames, placed by sequence number and by capture time, as stereo."""

    def __init__(self) -> None:
        self.mixer = StereoMixer()
        self._start: float | None = None
        self._seen = [False, False]

    def add(self, side: int, time: float, sequence: int, pcm: bytes) -> None:
        if self._start is None:
            self._start = time
        due = round((time - self._start) * SAMPLE_RATE)
        behind = due - self.mixer.covered(side)
        # A side's first frame goes exactly where it was heard; later ones only when the
        # side fell clearly behind (a pause), not for every bit of network jitter.
        if behind > 0 and (not self._seen[side] or behind > LATE_SAMPLES):
            self.mixer.pad(side, due)
        self._seen[side] = True
        self.mixer.add(side, sequence, pcm)

    def take(self, final: bool = False) -> bytes:
        return self.mixer.take(final)


def convert_pcap(capture: Path, wav: Path, caller_port: int, agent_port: int) -> FinishedRecording:
    """rtpengine's capture of one call as our stereo WAV: caller left, agent right, 8 kHz.

    Blocking (file I/O and decoding): run it in a worker thread."""
    sides = {caller_port: CALLER, agent_port: AGENT}
    stereo = TimedStereo()
    output = StereoWavFile(wav)
    try:
        for captured in captured_rtp(capture):
            side = sides.get(captured.port)
            if side is None or captured.payload_type not in (PCMU, PCMA):
                continue  # telephone-event, comfort noise, or not this call's audio port
            pcm = decode(captured.payload, captured.payload_type)
            stereo.add(side, captured.time, captured.sequence, pcm)
            if stereo.mixer.pending_samples() >= CHUNK_SAMPLES:
                output.write(stereo.take())
        output.write(stereo.take(final=True))
    finally:
        output.close()
    return FinishedRecording(wav, stereo.mixer.samples_out / SAMPLE_RATE)


@dataclass(frozen=True)
class RecordedPorts:
    """rtpengine's two ports of a recorded call: where the caller and the phone send to."""

    caller: int
    agent: int


class RtpengineRecordings:
    """rtpengine's recording directory (its `recording-dir`, as this node sees it)."""

    def __init__(self, directory: Path, close_timeout: float = CLOSE_TIMEOUT_SECONDS) -> None:
        self.directory = directory
        self._close_timeout = close_timeout

    def _metadata(self, call_id: str) -> Path | None:
        found = sorted((self.directory / "metadata").glob(f"rtpengine-meta-{call_id}-*"))
        return found[0] if found else None

    async def _closed(self, call_id: str) -> Path | None:
        """The call's metadata file once rtpengine has closed the capture, or None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._close_timeout
        while True:
            metadata = await asyncio.to_thread(self._metadata, call_id)
            if metadata is not None or loop.time() >= deadline:
                return metadata
            await asyncio.sleep(POLL_SECONDS)

    async def finish(
        self, call_id: str, wav: Path, ports: RecordedPorts
    ) -> FinishedRecording | None:
        """Turn the deleted call's capture into `wav`; None (logged) if there is none."""
        metadata = await self._closed(call_id)
        if metadata is None:
            log.error("rtpengine left no recording", extra={"call": call_id})
            return None
        try:
            return await asyncio.to_thread(self._convert, metadata, wav, ports)
        except (OSError, ValueError, dpkt.Error):
            log.exception("rtpengine recording could not be converted", extra={"call": call_id})
            return None

    def _convert(self, metadata: Path, wav: Path, ports: RecordedPorts) -> FinishedRecording:
        # Its first line is the capture's path on rtpengine's host; the file is in pcaps/
        # whichever path this node mounts the directory under.
        named = metadata.read_text(encoding="utf-8", errors="replace").partition("\n")[0]
        capture = self.directory / "pcaps" / Path(named.strip()).name
        finished = convert_pcap(capture, wav, ports.caller, ports.agent)
        capture.unlink(missing_ok=True)
        metadata.unlink(missing_ok=True)
        return finished
