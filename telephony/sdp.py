"""SDP (RFC 4566) for one audio stream: parse an offer, build an offer or an answer (RFC 3264)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

PCMU = 0
PCMA = 8
TELEPHONE_EVENT = 101
STATIC_NAMES = {PCMU: "PCMU/8000", PCMA: "PCMA/8000"}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSED = {"sendonly": "recvonly", "recvonly": "sendonly"}


class BadConnectionAddress(ValueError):
    """A c= line whose address is not an IP address of its type (a host name included: media
    addresses are never resolved, so a name would have to be looked up on the media path)."""


@dataclass
class SessionDescription:
    """The first audio stream of a session description, and where to send it."""

    origin_address: str
    connection_address: str
    audio_port: int
    payload_types: list[int]
    rtpmaps: dict[int, str] = field(default_factory=dict)  # e.g. {0: "PCMU/8000"}
    direction: str = "sendrecv"
    session_id: int = 0
    session_version: int = 0

    @classmethod
    def parse(cls, body: bytes) -> SessionDescription:
        """Parse an SDP body; ValueError without an audio m= line or a c= address for it."""
        text = body.decode("utf-8", errors="replace")  # only ASCII fields are read
        origin: str | None = None
        session_address: str | None = None
        media_address: str | None = None
        port: int | None = None
        payload_types: list[int] = []
        rtpmaps: dict[int, str] = {}
        session_direction: str | None = None
        media_direction: str | None = None
        session_id = session_version = 0
        section = "session"  # then "audio" for our stream, "other" for any other media
        for raw in text.splitlines():
            kind, equals, value = raw.strip().partition("=")
            if len(kind) != 1 or not equals:
                continue  # RFC 4566 §5: unknown or broken lines are ignored
            if kind == "o" and section == "session":
                origin, session_id, session_version = _origin(value)
            elif kind == "m":
                section = "other"
                if value.split()[:1] == ["audio"] and port is None:
                    section = "audio"
                    port, payload_types = _media(value)
            elif kind == "c" and section != "other":
                if section == "session":
                    session_address = _connection(value)
                else:
                    media_address = _connection(value)
            elif kind == "a" and section != "other":
                name, _, attribute = value.partition(":")
                if name == "rtpmap" and section == "audio":
                    number, _, encoding = attribute.strip().partition(" ")
                    if number.isascii() and number.isdigit():
                        rtpmaps[int(number)] = encoding.strip()
                elif name in DIRECTIONS and section == "session":
                    session_direction = name
                elif name in DIRECTIONS:
                    media_direction = name
        if port is None:
            raise ValueError("no audio stream in SDP")
        address = media_address or session_address
        if address is None:
            raise ValueError("no connection address for the audio stream")
        return cls(
            origin or address,
            address,
            port,
            payload_types,
            rtpmaps,
            media_direction or session_direction or "sendrecv",
            session_id,
            session_version,
        )

    def __bytes__(self) -> bytes:
        family = "IP6" if ":" in self.connection_address else "IP4"
        origin_family = "IP6" if ":" in self.origin_address else "IP4"
        formats = " ".join(str(p) for p in self.payload_types)
        lines = [
            "v=0",
            f"o=hotline {self.session_id} {self.session_version} IN {origin_family} "
            f"{self.origin_address}",
            "s=-",
            f"c=IN {family} {self.connection_address}",
            "t=0 0",
            f"m=audio {self.audio_port} RTP/AVP {formats}",
        ]
        for payload_type in self.payload_types:
            encoding = self.rtpmaps.get(payload_type)
            if encoding is not None:
                lines.append(f"a=rtpmap:{payload_type} {encoding}")
                if encoding.lower().startswith("telephone-event/"):
                    lines.append(f"a=fmtp:{payload_type} 0-16")  # DTMF digits and flash (RFC 4733)
        lines += ["a=ptime:20", f"a={self.direction}"]
        return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _origin(value: str) -> tuple[str | None, int, int]:
    parts = value.split()
    if len(parts) < 6:
        return None, 0, 0
    return parts[5], _number(parts[1]), _number(parts[2])


def _number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else 0


def _media(value: str) -> tuple[int, list[int]]:
    parts = value.split()
    port_text = parts[1].split("/")[0] if len(parts) > 1 else ""
    if len(parts) < 4 or not (port_text.isascii() and port_text.isdigit()):
        raise ValueError(f"malformed m= line {value[:60]!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"bad audio port {port_text}")
    payload_types: list[int] = []
    for fmt in parts[3:]:
        if not (fmt.isascii() and fmt.isdigit() and int(fmt) <= 127):
            raise ValueError(f"bad RTP payload type {fmt[:10]!r}")
        payload_types.append(int(fmt))
    return port, payload_types


_ADDRESS_TYPES = {"IP4": ipaddress.IPv4Address, "IP6": ipaddress.IPv6Address}


def _connection(value: str) -> str:
    """The address of a c= line, checked to be an IP literal of the stated type."""
    parts = value.split()
    if len(parts) < 3 or parts[0] != "IN":
        raise BadConnectionAddress(f"malformed c= line {value[:60]!r}")
    address = parts[2].split("/")[0]  # drop a multicast TTL / count
    expected = _ADDRESS_TYPES.get(parts[1])
    if expected is None:
        raise BadConnectionAddress(f"unknown c= address type {parts[1][:10]!r}")
    try:
        parsed = ipaddress.ip_address(address) if address.isascii() else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, expected) or "%" in address:
        raise BadConnectionAddress(f"c= address is not an {parts[1]} address: {address[:60]!r}")
    return address


def _codec_of(description: SessionDescription, payload_type: int) -> int | None:
    """PCMU or PCMA for a payload type of this description, whether static or dynamic."""
    name = description.rtpmaps.get(payload_type, STATIC_NAMES.get(payload_type, "")).upper()
    for codec, static_name in STATIC_NAMES.items():
        if name == static_name or name.startswith(static_name + "/"):
            return codec
    return None


def choose_codec(offer: SessionDescription, supported: Sequence[int] = (PCMU, PCMA)) -> int | None:
    """The first codec in the offer's order that we speak (PCMU or PCMA), or None."""
    for payload_type in offer.payload_types:
        codec = _codec_of(offer, payload_type)
        if codec is not None and codec in supported:
            return codec
    return None


def build_offer(
    address: str, port: int, codecs: Sequence[int], session_id: int
) -> SessionDescription:
    """An offer of the given G.711 codecs, in order, plus telephone-event."""
    rtpmaps = {codec: STATIC_NAMES[codec] for codec in codecs}
    rtpmaps[TELEPHONE_EVENT] = "telephone-event/8000"
    return SessionDescription(
        address,
        address,
        port,
        [*codecs, TELEPHONE_EVENT],
        rtpmaps,
        "sendrecv",
        session_id,
        session_id,
    )


_ORIGIN_LINE = re.compile(rb"^o=(\S+) (\S+) (\d+) ([^\r\n]*)", re.MULTILINE)


def next_in_session(previous: bytes, offer: bytes) -> bytes:
    """`offer` as the next offer of the session `previous` (the last SDP the other end got
    from us) belongs to: RFC 3264 §8 keeps the o= line and raises its version by one."""
    before = _ORIGIN_LINE.search(previous)
    if before is None:
        return offer
    user, session, version, rest = before.groups()
    origin = b"o=%s %s %d %s" % (user, session, int(version) + 1, rest)
    return _ORIGIN_LINE.sub(lambda _: origin, offer, count=1)


def build_answer(
    offer: SessionDescription, address: str, port: int, codec: int, session_id: int
) -> SessionDescription:
    """An answer with one codec and, if offered, telephone-event, on the offer's payload types."""
    # RFC 3264 §6.1: the answer uses the offer's payload type numbers, so a PCMU the offer
    # carries only as a dynamic type is answered with that type.
    payload_type = codec
    if codec not in offer.payload_types:
        payload_type = next((p for p in offer.payload_types if _codec_of(offer, p) == codec), codec)
    payload_types = [payload_type]
    rtpmaps = {payload_type: STATIC_NAMES[codec]}
    events = [
        p
        for p in offer.payload_types
        if offer.rtpmaps.get(p, "").lower().startswith("telephone-event/8000")
    ]
    if events:
        payload_types.append(events[0])
        rtpmaps[events[0]] = "telephone-event/8000"
    direction = _REVERSED.get(offer.direction, offer.direction)
    return SessionDescription(
        address, address, port, payload_types, rtpmaps, direction, session_id, session_id
    )
