"""The RTP engine on asyncio: one UDP socket per call leg, one shared 20 ms clock for prompts.

No thread per stream: relaying happens in `datagram_received`, prompt playback in a single
ticker task that serves every leg that is listening to a prompt.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import wave
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from telephony import g711
from telephony.announcements import FrameSource
from telephony.conference import Conference
from telephony.dtmf import DtmfDecoder
from telephony.native_relay import NativeRelay, StreamState
from telephony.recording import CallRecorder
from telephony.rtp import RtpPacket
from telephony.sdp import PCMA

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_SECONDS = 0.02
DEFAULT_GREETING = Path(__file__).resolve().parent / "prompts" / "greeting.wav"
# Pause between repeats of the prompt while the caller waits.
PROMPT_GAP_SECONDS = 2.0
# Packets after an SDP within which the media may latch to another host than the SDP named.
LATCH_PACKETS = 10


_FIXED_FIELDS = struct.Struct("!BHI")  # marker and payload type, sequence, timestamp
_FIXED_HEADER = struct.Struct("!BBHII")

# The largest datagram a leg reads (an RTP packet of G.711 at 20 ms is 172 bytes). asyncio
# reads each datagram into a 256 KiB buffer of its own, which the C library maps and unmaps
# for every packet (three system calls); a buffer this small comes from the heap.
MAX_DATAGRAM_BYTES = 4096

# A leg's errors get one log line each this often at most; the counters take every one.
ERROR_LOG_SECONDS = 60.0


@dataclass
class MediaErrors:
    """Totals since start, for /metrics: errors kept to the leg they happened on."""

    send: int = 0  # an RTP datagram that could not be sent (the far end's address, the socket)
    frame: int = 0  # a prompt, programme or mix frame that failed to be made for one leg
    clock_restarts: int = 0  # the shared clock task died and was started again


@dataclass(frozen=True)
class Prompt:
    """Audio pre-encoded for each codec, padded to whole 20 ms frames."""

    pcmu: bytes
    pcma: bytes

    @classmethod
    def from_wav(cls, path: Path, gap_seconds: float = PROMPT_GAP_SECONDS) -> Prompt:
        with wave.open(str(path), "rb") as wav:
            if wav.getframerate() != 8000 or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise ValueError(f"{path}: prompts must be 8 kHz mono 16-bit WAV")
            pcm = wav.readframes(wav.getnframes())
        silence = b"\x00\x00" * int(8000 * gap_seconds)
        pcm += silence
        pcm += b"\x00\x00" * (-(len(pcm) // 2) % FRAME_SAMPLES)
        return cls(pcmu=g711.linear_to_ulaw(pcm), pcma=g711.linear_to_alaw(pcm))

    def for_codec(self, payload_type: int) -> bytes:
        return self.pcma if payload_type == PCMA else self.pcmu


class _Watched:
    """An attribute of RtpLeg whose change may move the leg's relaying between the native
    relay and Python. Reading it is a plain instance attribute read (the descriptor has no
    __get__); setting it tells the native relay, if the leg has one."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __set__(self, leg: RtpLeg, value: object) -> None:
        leg.__dict__[self.name] = value
        native = leg.__dict__.get("_native")
        if native is not None:
            native.review(leg)


class RtpLeg(asyncio.DatagramProtocol):
    """One call leg's media socket: counts, relays to its bridged partner, or plays a prompt."""

    # What decides whether the native relay may carry this leg's packets to its partner.
    WATCHED = (
        "codec",
        "payload_type",
        "event_payload_type",
        "remote",
        "partner",
        "prompt",
        "programme",
        "recorder",
        "record_side",
        "conference",
        "muted",
        "silenced",
    )

    def __init__(self, port: int, codec: int, errors: MediaErrors | None = None) -> None:
        self._native: NativeRelay | None = None  # set by the engine when the thread reads it
        self.port = port
        self.errors = errors if errors is not None else MediaErrors()
        self._error_logged_at = -ERROR_LOG_SECONDS
        self.codec = codec  # PCMU or PCMA
        # The number on the wire: the codec's static type, or the caller's dynamic one.
        self.payload_type = codec
        self.remote: tuple[str, int] | None = None
        self.partner: RtpLeg | None = None
        self._received = 0
        self._sent = 0
        self.dropped = 0
        self.transport: asyncio.DatagramTransport | None = None
        # The leg's own socket when the engine opened it: packets are sent on it directly
        # (asyncio's `sendto` wrapper costs as much Python again as the relay itself).
        self._socket: socket.socket | None = None
        self._direct = False  # off while the transport holds packets the socket refused
        self._ssrc = random.getrandbits(32)
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)
        self._offset: int | None = None  # relayed timestamp → our timestamp
        self._sequence_offset = 0  # relayed sequence number → ours, set with _offset
        self._marker = True
        self._latched = False
        self._unlatched_packets = 0  # received since the remote address was last set
        self.prompt: bytes | None = None
        self._prompt_position = 0
        self.programme: FrameSource | None = None  # takes precedence over `prompt`
        # RFC 4733: the negotiated telephone-event payload type, and who hears the digits.
        self.event_payload_type: int | None = None
        self.on_digit: Callable[[str], None] | None = None
        self._dtmf = DtmfDecoder()
        self.recorder: CallRecorder | None = None
        self.record_side = 0
        self.conference: Conference[RtpLeg] | None = None
        self.muted = False  # the far end holds (sendonly/inactive): nothing is sent to it
        self.silenced = False  # muted from the console: what it receives goes nowhere

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        if hasattr(transport, "max_size"):  # asyncio's own transport (uvloop's reads in place)
            transport.max_size = MAX_DATAGRAM_BYTES

    @property
    def received(self) -> int:
        if self._native is None:
            return self._received
        return self._received + self._native.counts(self)[0]

    @property
    def sent(self) -> int:
        if self._native is None:
            return self._sent
        return self._sent + self._native.counts(self)[2]

    @property
    def latched(self) -> bool:
        return self._latched

    @property
    def ssrc(self) -> int:
        return self._ssrc

    def stream(self) -> StreamState:
        """Where this leg's outgoing stream stands, for the native relay to carry it on."""
        return StreamState(
            self._sequence, self._timestamp, self._offset, self._sequence_offset, self._marker
        )

    def resume_stream(self, state: StreamState) -> None:
        """Carry on the stream where the native relay left it."""
        self._sequence, self._timestamp = state.sequence, state.timestamp
        self._offset, self._sequence_offset = state.offset, state.sequence_offset
        self._marker = state.marker

    def fold_counts(
        self, received: int = 0, dropped: int = 0, sent: int = 0, send_errors: int = 0
    ) -> None:
        """Counts the native relay kept while it carried this leg's packets."""
        self._received += received
        self.dropped += dropped
        self._sent += sent
        self.errors.send += send_errors

    def fileno(self) -> int:
        return self._socket.fileno() if self._socket is not None else -1

    def attach_native(self, native: NativeRelay, sock: socket.socket) -> None:
        """The native relay reads this leg's socket from now on; the leg sends on it."""
        self.use_socket(sock)
        self._native = native
        native.add(self, sock)

    def close(self) -> None:
        """Release the socket (the engine's close_leg, after it has unbridged the leg)."""
        if self._native is not None and self._socket is not None:
            self._native.remove(self, self._socket)
            self._native = None
            self._socket.close()
            self._socket, self._direct = None, False
        elif self.transport is not None:
            self.transport.close()

    def restart_digits(self) -> None:
        """Key presses are counted afresh from here (a new question is being asked): a phone
        that numbers its presses by RTP timestamp alone is heard again for the same one."""
        self._dtmf = DtmfDecoder()

    def set_remote(self, address: tuple[str, int]) -> None:
        self._latched = False
        self._unlatched_packets = 0
        self.remote = address

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # Nearly every packet is a bare 12-byte header and its payload (no CSRC, extension or
        # padding: first byte 0x80): read the three fields needed without building a packet.
        if len(data) >= 12 and data[0] == 0x80:
            second, sequence, timestamp = _FIXED_FIELDS.unpack_from(data, 1)
            payload = data[12:]
        else:
            try:
                packet = RtpPacket.parse(data)
            except ValueError:
                self.dropped += 1
                return
            second = packet.payload_type | (0x80 if packet.marker else 0)
            sequence, timestamp, payload = packet.sequence, packet.timestamp, packet.payload
        self._received += 1
        if not self._latched:
            self._latch(addr, second & 0x7F)
            if self._latched and self._native is not None:
                # Latched now: this packet is still Python's to relay, the next ones may be
                # the native relay's.
                self._take(second, sequence, timestamp, payload)
                self._native.review(self)
                return
        self._take(second, sequence, timestamp, payload)

    def _take(self, second: int, sequence: int, timestamp: int, payload: bytes) -> None:
        """A received packet's payload: key presses, recording, relaying or mixing."""
        payload_type = second & 0x7F
        if payload_type == self.event_payload_type:
            self.feed_digits(payload, timestamp)
        elif self.recorder is not None and payload_type == self.payload_type:
            self.recorder.add(self.record_side, sequence, payload, self.codec)
        if self.silenced:
            return  # the agent still hears the caller; the caller no longer hears the agent
        if self.conference is not None:
            if payload_type == self.payload_type:
                self.conference.receive(self, payload)
            return
        partner = self.partner
        if partner is not None:
            partner._relay(payload_type, sequence, timestamp, bool(second & 0x80), payload)

    def feed_digits(self, payload: bytes, timestamp: int) -> None:
        """An RFC 4733 telephone-event packet: whoever listens hears each new key press."""
        on_digit = self.on_digit
        for digit in self._dtmf.feed(payload, timestamp):
            if on_digit is not None:
                on_digit(digit)

    def _latch(self, addr: tuple[str, int], payload_type: int) -> None:
        """Symmetric RTP (what phones behind NAT expect, as rtpengine does): answer to where
        the media really comes from. From the SDP's own host at once; from elsewhere (the
        NAT's public mapping of a private SDP address) only within the first packets and only
        a stream of this leg's negotiated payload types, so a stray sender later in the call
        cannot take the leg's audio."""
        self._unlatched_packets += 1
        expected = payload_type in (self.payload_type, self.event_payload_type)
        if (
            self.remote is None
            or addr[0] == self.remote[0]
            or (expected and self._unlatched_packets <= LATCH_PACKETS)
        ):
            self._latched = True
            # Not through the watched attribute: the native relay is told by the caller,
            # once the packet that latched has been relayed.
            self.__dict__["remote"] = addr

    def relay(self, packet: RtpPacket) -> None:
        """Send a packet from the other leg as part of this leg's own stream.

        Sequence numbers and timestamps are shifted, not renumbered, so a loss or a reordering
        on the way in stays visible to the far end's jitter buffer instead of being hidden
        as a clean stream with broken timing.
        """
        self._relay(
            packet.payload_type, packet.sequence, packet.timestamp, packet.marker, packet.payload
        )

    def _relay(
        self, payload_type: int, sequence: int, timestamp: int, marker: bool, payload: bytes
    ) -> None:
        if self._offset is None:
            self._offset = (self._timestamp - timestamp) & 0xFFFFFFFF
            self._sequence_offset = (self._sequence + 1 - sequence) & 0xFFFF
            self._marker = True
        timestamp = (timestamp + self._offset) & 0xFFFFFFFF
        sequence = (sequence + self._sequence_offset) & 0xFFFF
        self._emit(payload_type, payload, timestamp, marker or self._marker, sequence)
        if (sequence - self._sequence) & 0xFFFF < 0x8000:  # newest so far: our own frames follow it
            self._sequence = sequence
            self._timestamp = (timestamp + len(payload)) & 0xFFFFFFFF

    def play_frame(self, now: float = 0.0) -> None:
        """Send the next 20 ms of the prompt (called by the shared clock)."""
        if self.programme is not None and self.remote is not None:
            pcm = self.programme.next_frame(now)
            encode = g711.linear_to_alaw if self.codec == PCMA else g711.linear_to_ulaw
            self._emit(self.payload_type, encode(pcm), self._timestamp, self._marker)
            self._timestamp = (self._timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
            return
        prompt = self.prompt
        if prompt is None or self.remote is None:
            return
        frame = prompt[self._prompt_position : self._prompt_position + FRAME_SAMPLES]
        self._prompt_position = (self._prompt_position + FRAME_SAMPLES) % len(prompt)
        self._emit(self.payload_type, frame, self._timestamp, self._marker)
        self._timestamp = (self._timestamp + FRAME_SAMPLES) & 0xFFFFFFFF

    def send_frame(self, frame: bytes) -> None:
        """Send 20 ms of mixed audio as part of this leg's own stream."""
        self._emit(self.payload_type, frame, self._timestamp, self._marker)
        self._timestamp = (self._timestamp + len(frame)) & 0xFFFFFFFF

    def _emit(
        self,
        payload_type: int,
        payload: bytes,
        timestamp: int,
        marker: bool,
        sequence: int | None = None,
    ) -> None:
        if (self.transport is None and self._socket is None) or self.remote is None or self.muted:
            return
        if sequence is None:
            self._sequence = sequence = (self._sequence + 1) & 0xFFFF
        # What RtpPacket would serialise (version 2, no CSRC, extension or padding), without
        # building one for every packet.
        header = _FIXED_HEADER.pack(
            0x80,
            (0x80 if marker else 0) | (payload_type & 0x7F),
            sequence,
            timestamp,
            self._ssrc,
        )
        self._marker = False
        try:
            if self._direct:
                try:
                    self._socket.sendto(header + payload, self.remote)  # type: ignore[union-attr]
                except OSError:
                    if self.transport is None:  # the native relay's leg: no queue to keep it
                        raise
                    self._send_through_transport(header + payload)
            else:
                self._send_through_transport(header + payload)
        except Exception as exc:  # whatever one leg's send raises stays its own
            self.errors.send += 1
            self.log_error("rtp send failed", exc)
            return
        self._sent += 1

    def use_socket(self, sock: socket.socket) -> None:
        """Send on `sock` (the transport's own) directly from now on."""
        self._socket = sock
        self._direct = True

    def _send_through_transport(self, data: bytes) -> None:
        """asyncio's path: what the socket refuses (full) is kept and sent in order later, an
        error goes to error_received. Direct sending resumes once nothing is kept."""
        transport = cast(asyncio.DatagramTransport, self.transport)
        transport.sendto(data, self.remote)
        if self._socket is not None:
            kept = getattr(transport, "get_write_buffer_size", None)
            self._direct = kept is not None and kept() == 0

    def log_error(self, what: str, exc: BaseException) -> None:
        """A warning about this leg, at most once a minute per leg."""
        now = asyncio.get_running_loop().time()
        if now - self._error_logged_at >= ERROR_LOG_SECONDS:
            self._error_logged_at = now
            log.warning(what, extra={"port": self.port, "error": repr(exc)[:200]})

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while the far end sets up is normal; keep the socket.
        log.debug("rtp socket error on port %s: %s", self.port, exc)


for _name in RtpLeg.WATCHED:
    setattr(RtpLeg, _name, _Watched(_name))


class MediaEngine:
    """Allocates RTP ports, runs the shared prompt clock, bridges legs."""

    def __init__(
        self, host: str, port_min: int, port_max: int, prompt: Prompt, native: bool = False
    ) -> None:
        """`native`: the legs' sockets are read, and bridged legs relayed, by the native relay
        thread (telephony/_rtprelay.c) rather than by the event loop."""
        if port_min > port_max:
            raise ValueError("rtp_port_min must not exceed rtp_port_max")
        self._host = host
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # RTP on even ports, RTCP would take the odd one above (RFC 3550 §11).
        self._free = list(range(port_min + port_min % 2, port_max, 2))
        random.shuffle(self._free)
        self._prompt = prompt
        self._legs: set[RtpLeg] = set()
        self._playing: set[RtpLeg] = set()
        self._conferences: list[Conference[RtpLeg]] = []
        self._ticker: asyncio.Task[None] | None = None
        self.errors = MediaErrors()
        self._use_native = native
        self._native: NativeRelay | None = None

    @property
    def active_legs(self) -> int:
        return len(self._legs)

    @property
    def relay_backlog_dropped(self) -> int:
        """Packets the native relay dropped waiting for the loop (0 when Python relays)."""
        return self._native.upcalls_dropped if self._native is not None else 0

    async def open_leg(self, codec: int) -> RtpLeg:
        """Bind a socket for a new leg on a free even port."""
        loop = asyncio.get_running_loop()
        for _ in range(len(self._free)):
            port = self._free.pop(0)
            # The engine opens the socket itself so that the leg can send on it directly.
            sock = socket.socket(self._family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.bind((self._host, port))
                if self._use_native:
                    if self._native is None:
                        self._native = NativeRelay(loop)
                    leg = RtpLeg(port, codec, self.errors)
                    leg.attach_native(self._native, sock)
                else:
                    _, leg = await loop.create_datagram_endpoint(
                        lambda port=port: RtpLeg(port, codec, self.errors),  # type: ignore[misc]
                        sock=sock,
                    )
                    leg.use_socket(sock)
            except OSError:
                sock.close()
                self._free.append(port)  # taken by someone else; try it again later
                continue
            self._legs.add(leg)
            return leg
        raise RuntimeError("no free RTP port")

    def close_leg(self, leg: RtpLeg) -> None:
        self.stop_prompt(leg)
        leg.recorder = None
        leg.on_digit = None
        self.leave_conference(leg)
        if leg.partner is not None and leg.partner.partner is leg:
            leg.partner.partner = None
        leg.partner = None
        if leg in self._legs:
            self._legs.discard(leg)
            leg.close()
            self._free.append(leg.port)

    def play_prompt(self, leg: RtpLeg) -> None:
        leg.prompt = self._prompt.for_codec(leg.codec)
        self._playing.add(leg)
        self._start_clock()

    def _start_clock(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="rtp-clock")
            self._ticker.add_done_callback(self._clock_ended)

    def _clock_ended(self, task: asyncio.Task[None]) -> None:
        """Supervision: a clock that died of an error is started again at once (a clock that
        ran out of legs, or was cancelled at shutdown, is not)."""
        if task.cancelled() or task.exception() is None:
            return
        self.errors.clock_restarts += 1
        log.error("rtp clock died; restarting", exc_info=task.exception())
        if task is self._ticker and (self._playing or self._conferences):
            self._ticker = None
            self._start_clock()

    def play_programme(self, leg: RtpLeg, programme: FrameSource) -> None:
        """The caller hears greeting, music and announcements from `programme`."""
        leg.programme = programme
        self.play_prompt(leg)

    def conference(
        self, legs: list[RtpLeg], hears: Mapping[RtpLeg, AbstractSet[RtpLeg]] | None = None
    ) -> None:
        """Every leg hears the mix of the others from now on (three-way call), or of those
        `hears` names for it (a lead supervising a call)."""
        mixed: Conference[RtpLeg] = Conference(legs, hears)
        for leg in legs:
            self.stop_prompt(leg)
            self.leave_conference(leg)
            leg.partner = None
            leg.conference = mixed
        self._conferences.append(mixed)
        self._start_clock()

    def leave_conference(self, leg: RtpLeg) -> None:
        mixed = leg.conference
        if mixed is None:
            return
        leg.conference = None
        mixed.leave(leg)
        if len(mixed.legs) < 2:
            for other in mixed.legs:
                other.conference = None
            if mixed in self._conferences:
                self._conferences.remove(mixed)

    def stop_prompt(self, leg: RtpLeg) -> None:
        leg.prompt = None
        leg.programme = None
        self._playing.discard(leg)

    def record(self, caller: RtpLeg, agent: RtpLeg, recorder: CallRecorder) -> None:
        """Both directions of a bridged call go to `recorder` (caller left, agent right)."""
        caller.recorder, caller.record_side = recorder, 0
        agent.recorder, agent.record_side = recorder, 1

    def bridge(self, caller: RtpLeg, agent: RtpLeg) -> None:
        """Caller and agent hear each other from now on."""
        self.stop_prompt(caller)
        self.stop_prompt(agent)
        self.leave_conference(caller)
        self.leave_conference(agent)
        # A new partner's timestamps start afresh: re-anchor both streams.
        caller._offset = agent._offset = None
        caller.partner = agent
        agent.partner = caller

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while self._playing or self._conferences:
            now = loop.time()
            for leg in list(self._playing):
                try:
                    leg.play_frame(now)
                except Exception as exc:  # one leg's fault stays with that leg
                    self._leg_failed(leg, exc)
            for mixed in list(self._conferences):
                try:
                    frames = mixed.tick()
                except Exception as exc:
                    self.errors.frame += 1
                    log.warning("conference mix failed", extra={"error": repr(exc)[:200]})
                    continue
                for member, frame in frames.items():
                    try:
                        member.send_frame(frame)
                    except Exception as exc:
                        self._leg_failed(member, exc)
            next_at += FRAME_SECONDS
            delay = next_at - loop.time()
            if delay < -0.2:
                # Far behind (machine stalled): resynchronise instead of bursting.
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))

    def _leg_failed(self, leg: RtpLeg, exc: Exception) -> None:
        """Count and log a leg's failed frame; the leg goes on (the next frame may work), the
        clock and every other leg are untouched."""
        self.errors.frame += 1
        leg.log_error("rtp frame failed", exc)

    async def close(self) -> None:
        for leg in list(self._legs):
            self.close_leg(leg)
        if self._native is not None:
            self._native.close()
            self._native = None
        if self._ticker is not None:
            self._ticker.cancel()
