# The native relay's interface (telephony/_rtprelay.c), for type checking.

PACKET: int
DIGIT: int
RECORDED: int

def interleave(left: bytes, right: bytes, /) -> bytes: ...

class Engine:
    upcalls_dropped: int
    def fileno(self) -> int: ...
    def add(self, fd: int, /) -> None: ...
    def remove(self, fd: int, /) -> None: ...
    def forward(
        self,
        fd: int,
        out_fd: int,
        host: str,
        port: int,
        media_pt: int,
        event_pt: int,
        law: bytes,
        ssrc: int,
        sequence: int,
        timestamp: int,
        offset_valid: bool,
        ts_offset: int,
        seq_offset: int,
        marker: bool,
        /,
    ) -> None: ...
    def stop_forward(
        self, fd: int, /
    ) -> tuple[int, int, int, int, int, int, int, int, int, int] | None: ...
    def counts(self, fd: int, /) -> tuple[int, int, int, int]: ...
    def inject(self, fd: int, data: bytes, /) -> bool: ...
    def take_recorded(self, fd: int, /) -> tuple[bytes, bytes, bool]: ...
    def drain(self) -> list[tuple[int, int, bytes, tuple[str, int] | None]]: ...
    def close(self) -> None: ...
