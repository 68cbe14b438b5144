"""RFC 4733 telephone-events: the payload format and a decoder that reports each key press once.

A key press is sent as a run of packets sharing one RTP timestamp; the last three carry the
end bit (they are repeated because RTP is lossy). The decoder reports the digit on the first
end packet, or, if every end packet was lost, when the next event starts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

EVENT_CODES = "0123456789*#ABCD"
FLASH = 16  # hook flash, part of the offered "0-16" range; not a digit
_EVENT = struct.Struct("!BBH")


@dataclass(frozen=True)
class TelephoneEvent:
    """One RFC 4733 §2.3 event payload."""

    event: int
    end: bool
    volume: int  # 0..63, in -dBm0
    duration: int  # in timestamp units (1/8000 s)

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """Parse the first event of a payload; ValueError if it is shorter than 4 bytes."""
        if len(payload) < 4:
            raise ValueError("telephone-event payload shorter than 4 bytes")
        event, flags, duration = _EVENT.unpack_from(payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def __bytes__(self) -> bytes:
        return _EVENT.pack(
            self.event & 0xFF, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration
        )

    @property
    def digit(self) -> str | None:
        """The key this event stands for, or None for flash and anything unknown."""
        return EVENT_CODES[self.event] if self.event < len(EVENT_CODES) else None


class DtmfDecoder:
    """Turns the telephone-event packets of one stream into digits, each press exactly once."""

    def __init__(self) -> None:
        self._timestamp: int | None = None  # the press being received
        self._event: int | None = None
        self._reported = False

    def feed(self, payload: bytes, timestamp: int) -> list[str]:
        """One packet in; the digits it completes (usually none or one), each press once."""
        try:
            event = TelephoneEvent.parse(payload)
        except ValueError:
            return []
        digits: list[str] = []
        if timestamp != self._timestamp:
            # A new press. If the previous one never showed its end (all end packets lost),
            # it was still pressed: report it now.
            digits += self.flush()
            self._timestamp = timestamp
            self._event = event.event
            self._reported = False
        if event.end and not self._reported:
            self._reported = True
            digit = event.digit
            if digit is not None:
                digits.append(digit)
        return digits

    def flush(self) -> list[str]:
        """At the end of the stream: a press whose end packets were all lost."""
        if self._timestamp is None or self._reported or self._event is None:
            return []
        self._reported = True
        digit = _digit(self._event)
        return [digit] if digit is not None else []


def _digit(event: int) -> str | None:
    return EVENT_CODES[event] if event < len(EVENT_CODES) else None


def press_payloads(digit: str, packets: int = 5, end_repeats: int = 3) -> list[bytes]:
    """The payloads a phone sends for one press: growing durations, then repeated end packets."""
    code = EVENT_CODES.index(digit)
    payloads = [
        bytes(TelephoneEvent(code, False, 10, 160 * (index + 1))) for index in range(packets)
    ]
    end = bytes(TelephoneEvent(code, True, 10, 160 * packets))
    return payloads + [end] * end_repeats


def digit_from_info(content_type: str, body: bytes) -> str | None:
    """The key a SIP INFO carries, or None: `application/dtmf-relay` ("Signal=1" and
    "Duration=160" lines, as Cisco and most phones send) or `application/dtmf` (the key
    alone). Neither is an RFC 6086 Info Package; phones send them without one."""
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if kind == "application/dtmf-relay":
        for line in text.splitlines():
            name, equals, value = line.partition("=")
            if equals and name.strip().lower() == "signal":
                return _info_key(value.strip(), event_codes=True)
        return None
    if kind == "application/dtmf":
        return _info_key(text, event_codes=False)
    return None


def _info_key(value: str, event_codes: bool) -> str | None:
    """A key as INFO bodies write it: 0-9 * # A-D; dtmf-relay also has the RFC 4733 event
    codes 10 (*) to 15 (D)."""
    if len(value) == 1 and value.upper() in EVENT_CODES:
        return value.upper()
    if event_codes and value.isdigit() and int(value) < len(EVENT_CODES):
        return EVENT_CODES[int(value)]
    return None
