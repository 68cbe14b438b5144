"""Cutting a SIP byte stream (TCP) into messages by Content-Length (RFC 3261 §18.3).

Pure: bytes go in with `feed`, whole messages come out of `next_frame`; no sockets, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from telephony.sip import MAX_MESSAGE

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(
    rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE
)
_REQUEST_LINE = re.compile(rb"[!-~]+ [^ \r\n]+ SIP/[0-9]+\.[0-9]+\r?", re.I)
_STATUS_LINE = re.compile(rb"SIP/[0-9]+\.[0-9]+ [0-9]{3}( [^\r\n]*)?\r?", re.I)
_PING = b"\r\n\r\n"
MAX_START_LINE = 8192


class FramingError(ValueError):
    """The stream cannot be framed any further: answer `status` (if any) and close it."""

    def __init__(self, why: str, status: int | None = None, head: bytes = b"") -> None:
        super().__init__(why)
        self.status = status
        self.head = head  # the header section, to build the answer from


@dataclass(frozen=True)
class KeepAlive:
    """A CRLF CRLF ping between messages (RFC 5626 §3.5.1); answered with a CRLF pong."""


PONG = b"\r\n"
Frame = bytes | KeepAlive


@dataclass
class StreamFramer:
    """One connection's receive buffer; a message is the header section plus its body."""

    max_message: int = MAX_MESSAGE
    _buffer: bytearray = field(default_factory=bytearray)
    _checked_start: bool = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_frame(self) -> Frame | None:
        """The next whole message or keep-alive; None until more bytes are fed.

        Raises FramingError for a stream that cannot go on: no SIP start line, no or a bad
        Content-Length, or a message over `max_message` bytes.
        """
        if self._buffer.startswith(_PING):
            del self._buffer[: len(_PING)]
            return KeepAlive()
        # CRLFs before a start line are ignored (RFC 3261 §7.5), unless they may be a ping.
        blank = len(self._buffer) - len(self._buffer.lstrip(b"\r\n"))
        if blank == len(self._buffer):
            if not _PING.startswith(bytes(self._buffer)):
                self._buffer.clear()
            return None
        del self._buffer[:blank]
        self._check_start_line()
        end = _HEAD_END.search(self._buffer)
        if end is None:
            if len(self._buffer) > self.max_message:
                raise FramingError("header section too large", 513, bytes(self._buffer[:4096]))
            return None
        head = bytes(self._buffer[: end.start()])
        length = _content_length(head)
        total = end.end() + length
        if total > self.max_message:
            raise FramingError("message too large", 513, head)
        if len(self._buffer) < total:
            return None
        message = bytes(self._buffer[:total])
        del self._buffer[:total]
        self._checked_start = False
        return message

    def _check_start_line(self) -> None:
        """Fail at once on a stream that does not start like SIP (TLS, HTTP, noise)."""
        if self._checked_start:
            return
        newline = self._buffer.find(b"\n")
        line = bytes(self._buffer[:newline] if newline >= 0 else self._buffer)
        if newline < 0:
            if len(line) > MAX_START_LINE or not _could_start_sip(line):
                raise FramingError("not a SIP start line")
            return
        if not (_REQUEST_LINE.fullmatch(line) or _STATUS_LINE.fullmatch(line)):
            raise FramingError("not a SIP start line")
        self._checked_start = True


def _could_start_sip(partial: bytes) -> bool:
    """A start line still arriving: printable ASCII so far."""
    return all(32 <= byte < 127 or byte == 13 for byte in partial)


def _content_length(head: bytes) -> int:
    """The one Content-Length of a header section; over a stream it is mandatory."""
    values = {match[1] for match in _CONTENT_LENGTH.finditer(head)}
    if not values:
        raise FramingError("missing Content-Length", 400, head)
    if len(values) > 1:
        raise FramingError("conflicting Content-Length headers", 400, head)
    (text,) = values
    if not text.isdigit() or len(text) > 9:
        raise FramingError("bad Content-Length", 400, head)
    return int(text)
