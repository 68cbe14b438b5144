"""The event loop's side of the native relay (telephony/_rtprelay.c).

The native thread reads every leg's socket. A leg whose packets simply go to its partner (a
bridged call: latched, not muted, no prompt, no conference) is relayed there without the
interpreter, recorded there, and only its key presses come up to be decoded. Every packet of
any other leg comes up whole and goes to `RtpLeg.datagram_received` as before.

Whether a leg is relayed natively is decided again whenever something that matters changes on
it or on its partner (`RtpLeg` tells `review`): the native side then stops, hands back the
partner's stream state (sequence, timestamp, offsets) and its counts, and Python carries the
stream on; or it starts from Python's state. One writer of a stream at a time, always.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.recording import Frames, decode
from telephony.rtp import RtpPacket
from telephony.sdp import PCMA, PCMU

if TYPE_CHECKING:
    from telephony.media import RtpLeg
    from telephony.recording import CallRecorder

try:
    import telephony._rtprelay as _rtprelay
except ImportError:  # not compiled here (no C compiler at install): Python relays
    _rtprelay = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


# What the thread decodes recorded audio by: every G.711 code's sample, by the recording's own
# decoder.
DECODING = {codec: decode(bytes(range(256)), codec) for codec in (PCMU, PCMA)}


def available() -> bool:
    return _rtprelay is not None


@dataclass(frozen=True)
class StreamState:
    """A leg's outgoing RTP stream between two packets: the last sequence number and the
    timestamp its next own frame takes; how relayed timestamps and sequence numbers map into it
    (offset None: not anchored, the next relayed packet anchors it); whether the next packet
    carries the marker."""

    sequence: int
    timestamp: int
    offset: int | None
    sequence_offset: int
    marker: bool


@dataclass(frozen=True)
class _Route:
    """Where a leg's packets go and what is kept of them: any change means stop and start."""

    target: RtpLeg
    host: str
    port: int
    payload_type: int
    event_payload_type: int
    codec: int
    recorder: CallRecorder | None
    side: int


def _numeric(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except OSError:
            pass
    return False


class NativeRelay:
    """Owns the native engine of one media engine: its legs by socket, the legs it forwards."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        if _rtprelay is None:
            raise RuntimeError("the native relay is not compiled in this installation")
        self._engine = _rtprelay.Engine()
        self._loop = loop
        self._legs: dict[int, RtpLeg] = {}  # by file descriptor
        self._routes: dict[RtpLeg, _Route] = {}  # a forwarded leg → where it goes
        self._writers: dict[RtpLeg, RtpLeg] = {}  # a partner → the leg forwarded to it
        loop.add_reader(self._engine.fileno(), self.drain)

    @property
    def upcalls_dropped(self) -> int:
        """Packets the thread dropped because the loop had not taken the earlier ones."""
        return int(self._engine.upcalls_dropped)

    def add(self, leg: RtpLeg, sock: socket.socket) -> None:
        self._engine.add(sock.fileno())
        self._legs[sock.fileno()] = leg

    def remove(self, leg: RtpLeg, sock: socket.socket) -> None:
        self._stop(leg)
        writer = self._writers.get(leg)
        if writer is not None:
            self._stop(writer)
        self._engine.remove(sock.fileno())
        self._legs.pop(sock.fileno(), None)

    def close(self) -> None:
        self._loop.remove_reader(self._engine.fileno())
        self._engine.close()
        self._legs.clear()
        self._routes.clear()
        self._writers.clear()

    def forwarding(self, leg: RtpLeg) -> bool:
        return leg in self._routes

    def counts(self, leg: RtpLeg) -> tuple[int, int, int]:
        """(received, dropped, sent) of a leg not yet folded into its own counters."""
        received = dropped = sent = 0
        if leg in self._routes:
            received, dropped, _, _ = self._engine.counts(leg.fileno())
        writer = self._writers.get(leg)
        if writer is not None:
            sent = self._engine.counts(writer.fileno())[2]
        return received, dropped, sent

    def review(self, leg: RtpLeg) -> None:
        """Something changed on `leg`: its own route, and the route of whoever relays to it."""
        self._review(leg)
        writer = self._writers.get(leg)
        if writer is not None:
            self._review(writer)
        partner = leg.partner
        if partner is not None and partner is not writer:
            self._review(partner)

    def _review(self, leg: RtpLeg) -> None:
        wanted = self._wanted(leg)
        if self._routes.get(leg) == wanted:
            return
        self._stop(leg)
        if wanted is not None:
            self._start(leg, wanted)

    def _wanted(self, leg: RtpLeg) -> _Route | None:
        target = leg.partner
        if (
            target is None
            or leg.fileno() not in self._legs
            or leg.conference is not None
            or leg.silenced
            or not leg.latched
        ):
            return None
        remote = target.remote
        if (
            target.fileno() not in self._legs
            or remote is None
            or target.muted
            or target.prompt is not None
            or target.programme is not None
            or target.conference is not None
            or self._writers.get(target, leg) is not leg
            or not _numeric(remote[0])
        ):
            return None
        return _Route(
            target,
            remote[0],
            remote[1],
            leg.payload_type,
            -1 if leg.event_payload_type is None else leg.event_payload_type,
            leg.codec,
            leg.recorder,
            leg.record_side,
        )

    def _start(self, leg: RtpLeg, route: _Route) -> None:
        target = route.target
        stream = target.stream()
        self._engine.forward(
            leg.fileno(),
            target.fileno(),
            route.host,
            route.port,
            route.payload_type,
            route.event_payload_type,
            DECODING[route.codec] if route.recorder is not None else b"",
            target.ssrc,
            stream.sequence,
            stream.timestamp,
            stream.offset is not None,
            stream.offset or 0,
            stream.sequence_offset,
            stream.marker,
        )
        self._routes[leg] = route
        self._writers[target] = leg
        if route.recorder is not None:
            route.recorder.attach(leg, lambda: self._take_recorded(leg))

    def _stop(self, leg: RtpLeg) -> None:
        route = self._routes.pop(leg, None)
        if route is None:
            return
        self._writers.pop(route.target, None)
        state = self._engine.stop_forward(leg.fileno())
        if state is not None:
            sequence, timestamp, valid, offset, sequence_offset, marker, *counts = state
            route.target.resume_stream(
                StreamState(
                    sequence, timestamp, offset if valid else None, sequence_offset, bool(marker)
                )
            )
            received, dropped, sent, send_errors = counts
            leg.fold_counts(received=received, dropped=dropped)
            route.target.fold_counts(sent=sent, send_errors=send_errors)
        if route.recorder is not None:
            self._take_recorded(leg, route)
            route.recorder.detach(leg)

    def _take_recorded(self, leg: RtpLeg, route: _Route | None = None) -> None:
        route = route or self._routes.get(leg)
        if route is None or route.recorder is None:
            return
        meta, pcm, in_order = self._engine.take_recorded(leg.fileno())
        if meta:
            route.recorder.add_frames(Frames(route.side, meta, pcm, in_order))

    def drain(self) -> None:
        """What the thread handed up: whole packets, key presses, recorded audio."""
        for kind, fd, data, address in self._engine.drain():
            leg = self._legs.get(fd)
            if leg is None:
                continue
            try:
                if kind == _rtprelay.PACKET:
                    if leg in self._routes:  # taken just before the leg began forwarding
                        self._engine.inject(fd, data)
                    elif address is not None:  # a received datagram always has one
                        leg.datagram_received(data, address)
                elif kind == _rtprelay.DIGIT:
                    packet = RtpPacket.parse(data)
                    leg.feed_digits(packet.payload, packet.timestamp)
                else:
                    self._take_recorded(leg)
            except Exception:  # one leg's fault stays with that leg
                log.exception("rtp packet from the native relay failed", extra={"port": leg.port})
