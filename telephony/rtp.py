"""RTP packets (RFC 3550): parse from bytes, serialise with bytes()."""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEAD = struct.Struct("!HH")
# One precompiled struct per possible CSRC count: this runs for every packet of every call.
_CSRCS = tuple(struct.Struct(f"!{count}I") for count in range(16))


@dataclass
class RtpPacket:
    """One RTP packet; padding is removed on parse and never added on serialise."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: bytes | None = None  # profile, length and data, as on the wire

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse a datagram; ValueError for anything that is not a well-formed RTP v2 packet."""
        end = len(data)
        if end < 12:
            raise ValueError("RTP packet shorter than its header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise ValueError("not RTP version 2")
        count = first & 0x0F
        offset = 12 + 4 * count
        if offset > end:
            raise ValueError("RTP CSRC list runs past the packet")
        csrcs = _CSRCS[count].unpack_from(data, 12) if count else ()
        extension = None
        if first & 0x10:
            if offset + 4 > end:
                raise ValueError("RTP extension header runs past the packet")
            extension_end = offset + 4 + 4 * _EXTENSION_HEAD.unpack_from(data, offset)[1]
            if extension_end > end:
                raise ValueError("RTP extension runs past the packet")
            extension = bytes(data[offset:extension_end])
            offset = extension_end
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise ValueError("bad RTP padding length")
            end -= padding
        return cls(
            second & 0x7F,
            sequence,
            timestamp,
            ssrc,
            bytes(data[offset:end]),
            bool(second & 0x80),
            csrcs,
            extension,
        )

    def __bytes__(self) -> bytes:
        count = len(self.csrcs)
        if count > 15:
            raise ValueError("an RTP packet carries at most 15 CSRCs")
        first = 0x80 | count
        if self.extension is not None:
            if len(self.extension) < 4 or len(self.extension) % 4:
                raise ValueError("an RTP header extension is whole 32-bit words, at least one")
            first |= 0x10
        # Sequence and timestamp wrap around by design, so callers may just keep counting.
        head = _HEADER.pack(
            first,
            (0x80 if self.marker else 0) | (self.payload_type & 0x7F),
            self.sequence & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc & 0xFFFFFFFF,
        )
        if count:
            head += _CSRCS[count].pack(*self.csrcs)
        if self.extension is not None:
            head += self.extension
        return head + self.payload
