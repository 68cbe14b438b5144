"""SDP (RFC 4566) for one audio stream: parse an offer, build an offer or an answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PCMU = 0
PCMA = 8
TELEPHONE_EVENT = 101
STATIC_NAMES = {PCMU: "PCMU/8000", PCMA: "PCMA/8000"}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


@dataclass
class SessionDescription:
    origin_address: str
    connection_address: str
    audio_port: int
    payload_types: list[int]
    rtpmaps: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"
    session_id: int = 0
    session_version: int = 0

    @classmethod
    def parse(cls, body: bytes) -> SessionDescription:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("SDP is not UTF-8") from None
        origin: str | None = None
        session_c: str | None = None
        media_c: str | None = None
        port: int | None = None
        payloads: list[int] = []
        rtpmaps: dict[int, str] = {}
        direction = "sendrecv"
        session_id = version = 0
        in_audio = seen_media = False
        for raw in text.splitlines():
            line = raw.strip()
            if len(line) < 2 or line[1] != "=":
                continue
            kind, value = line[0], line[2:].strip()
            if kind == "o":
                parts = value.split()
                if len(parts) >= 6:
                    origin = parts[5]
                    session_id = int(parts[1]) if parts[1].isdigit() else 0
                    version = int(parts[2]) if parts[2].isdigit() else 0
            elif kind == "m":
                parts = value.split()
                seen_media = True
                in_audio = bool(parts) and parts[0] == "audio" and port is None
                if in_audio:
                    if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
                        raise ValueError("malformed audio m= line")
                    port = int(parts[1].split("/")[0])
                    payloads = [int(p) for p in parts[3:] if p.isdigit()]
            elif kind == "c":
                parts = value.split()
                if len(parts) < 3:
                    raise ValueError("malformed c= line")
                if not seen_media:
                    session_c = parts[2].split("/")[0]
                elif in_audio:
                    media_c = parts[2].split("/")[0]
            elif kind == "a" and (in_audio or not seen_media):
                name, _, attr = value.partition(":")
                if name == "rtpmap" and in_audio:
                    number, _, encoding = attr.partition(" ")
                    if number.isdigit():
                        rtpmaps[int(number)] = encoding.strip()
                elif name in DIRECTIONS:
                    direction = name
        address = media_c or session_c
        if port is None or not 0 <= port < 65536:
            raise ValueError("no audio stream in SDP")
        if address is None:
            raise ValueError("no connection address in SDP")
        return cls(
            origin or address, address, port, payloads, rtpmaps, direction, session_id, version
        )

    def __bytes__(self) -> bytes:
        lines = [
            "v=0",
            f"o=hotline {self.session_id} {self.session_version} IN IP4 {self.origin_address}",
            "s=-",
            f"c=IN IP4 {self.connection_address}",
            "t=0 0",
            f"m=audio {self.audio_port} RTP/AVP {' '.join(str(p) for p in self.payload_types)}",
        ]
        lines += [
            f"a=rtpmap:{p} {self.rtpmaps[p]}" for p in self.payload_types if p in self.rtpmaps
        ]
        if TELEPHONE_EVENT in self.payload_types:
            lines.append(f"a=fmtp:{TELEPHONE_EVENT} 0-15")
        lines += ["a=ptime:20", f"a={self.direction}"]
        return ("\r\n".join(lines) + "\r\n").encode()


def _codec_of(offer: SessionDescription, payload_type: int) -> int | None:
    name = offer.rtpmaps.get(payload_type, STATIC_NAMES.get(payload_type, "")).upper()
    if name.startswith("PCMU/8000"):
        return PCMU
    if name.startswith("PCMA/8000"):
        return PCMA
    return None


def choose_codec(offer: SessionDescription, supported: Sequence[int] = (PCMU, PCMA)) -> int | None:
    """The first codec in the offer's order that we speak."""
    for payload_type in offer.payload_types:
        codec = _codec_of(offer, payload_type)
        if codec is not None and codec in supported:
            return codec
    return None


def build_offer(
    address: str, port: int, codecs: Sequence[int], session_id: int
) -> SessionDescription:
    payloads = [*codecs, TELEPHONE_EVENT]
    rtpmaps = {c: STATIC_NAMES[c] for c in codecs} | {TELEPHONE_EVENT: "telephone-event/8000"}
    return SessionDescription(
        address, address, port, payloads, rtpmaps, "sendrecv", session_id, session_id
    )


def build_answer(
    offer: SessionDescription, address: str, port: int, codec: int, session_id: int
) -> SessionDescription:
    payloads = [codec]
    rtpmaps = {codec: STATIC_NAMES[codec]}
    events = [
        p for p, name in offer.rtpmaps.items() if name.lower().startswith("telephone-event/8000")
    ]
    if events:
        payloads.append(events[0])
        rtpmaps[events[0]] = "telephone-event/8000"
    direction = {"sendonly": "recvonly", "recvonly": "sendonly"}.get(
        offer.direction, offer.direction
    )
    return SessionDescription(
        address, address, port, payloads, rtpmaps, direction, session_id, session_id
    )
