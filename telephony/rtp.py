"""RTP packets (RFC 3550): parse from bytes, serialise with bytes()."""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct("!BBHII")


@dataclass
class RtpPacket:
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
        if len(data) < 12:
            raise ValueError("RTP packet shorter than its header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise ValueError("not RTP version 2")
        offset = 12
        csrc_count = first & 0x0F
        end = len(data)
        if offset + 4 * csrc_count > end:
            raise ValueError("RTP CSRC list runs past the packet")
        csrcs = struct.unpack_from(f"!{csrc_count}I", data, offset) if csrc_count else ()
        offset += 4 * csrc_count
        extension = None
        if first & 0x10:
            if offset + 4 > end:
                raise ValueError("RTP extension header runs past the packet")
            words = struct.unpack_from("!H", data, offset + 2)[0]
            ext_end = offset + 4 + 4 * words
            if ext_end > end:
                raise ValueError("RTP extension runs past the packet")
            extension = bytes(data[offset:ext_end])
            offset = ext_end
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise ValueError("bad RTP padding")
            end -= padding
        return cls(
            second & 0x7F,
            sequence,
            timestamp,
            ssrc,
            bytes(data[offset:end]),
            bool(second & 0x80),
            tuple(csrcs),
            extension,
        )

    def __bytes__(self) -> bytes:
        first = 0x80 | len(self.csrcs) | (0x10 if self.extension is not None else 0)
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        head = _HEADER.pack(
            first,
            second,
            self.sequence & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc & 0xFFFFFFFF,
        )
        if self.csrcs:
            head += struct.pack(f"!{len(self.csrcs)}I", *self.csrcs)
        if self.extension is not None:
            head += self.extension
        return head + self.payload
