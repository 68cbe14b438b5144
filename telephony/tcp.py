"""SIP over TCP (RFC 3261 §18): a listener on the UDP port's number; each connection cuts its
stream into messages by Content-Length, answers on itself, and is closed when idle."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from telephony.framing import PONG, FramingError, KeepAlive, StreamFramer
from telephony.sip import MAX_MESSAGE
from telephony.transport import Address, RequestHandler, ResponseHandler, malformed_answer, receive

log = logging.getLogger(__name__)

# A connection without a byte either way for this long is closed; the peer opens a new one.
IDLE_SECONDS = 300.0
MAX_CONNECTIONS = 1024
# A peer that stops reading must not make us buffer without bound.
MAX_UNSENT = 1 << 20


class SipConnection(asyncio.Protocol):
    """One accepted TCP connection: framed messages in, responses and requests out."""

    def __init__(self, listener: TcpTransport) -> None:
        self._listener = listener
        self._framer = StreamFramer(listener.max_message)
        self._transport: asyncio.Transport | None = None
        self._last_activity = 0.0
        self._idle_check: asyncio.TimerHandle | None = None
        self.peer: Address = ("", 0)

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = (host, port)
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        self._idle_check = loop.call_later(self._listener.idle_seconds, self._close_if_idle)
        self._listener.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_check is not None:
            self._idle_check.cancel()
        self._listener.closed(self)

    def data_received(self, data: bytes) -> None:
        self._touch()
        self._framer.feed(data)
        while self.open:
            try:
                frame = self._framer.next_frame()
            except FramingError as error:
                self._refuse(error)
                return
            if frame is None:
                return
            if isinstance(frame, KeepAlive):
                self.write(PONG)
                continue
            receive(
                frame, self.peer, self.write, self._listener.on_request, self._listener.on_response
            )

    def eof_received(self) -> bool | None:
        return None  # the peer is done sending: close our side too

    def write(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        if self._transport.get_write_buffer_size() > MAX_UNSENT:
            log.warning("sip tcp peer is not reading; closing", extra={"source": self.peer[0]})
            self._transport.abort()
            return
        self._transport.write(data)
        self._touch()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()  # what is already written is still sent

    def _refuse(self, error: FramingError) -> None:
        """RFC 3261 §18.3: a stream that cannot be framed gets its answer, if any, and is
        closed, since where the next message would start is unknown."""
        log.info("unframeable SIP stream", extra={"source": self.peer[0], "error": str(error)})
        if error.status is not None:
            answer = malformed_answer(error.head, str(error), error.status)
            if answer is not None:
                self.write(answer)
        self.close()

    def _touch(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()

    def _close_if_idle(self) -> None:
        loop = asyncio.get_running_loop()
        left = self._last_activity + self._listener.idle_seconds - loop.time()
        if left > 0:
            self._idle_check = loop.call_later(left, self._close_if_idle)
            return
        log.debug("closing idle sip tcp connection", extra={"source": self.peer[0]})
        self.close()


class TcpTransport:
    """The TCP listener and its open connections, found by the peer's address."""

    def __init__(
        self,
        on_request: RequestHandler,
        on_response: ResponseHandler,
        *,
        idle_seconds: float = IDLE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
        max_message: int = MAX_MESSAGE,
    ) -> None:
        self.on_request = on_request
        self.on_response = on_response
        self.idle_seconds = idle_seconds
        self.max_connections = max_connections
        self.max_message = max_message
        self._server: asyncio.Server | None = None
        self._connections: dict[Address, SipConnection] = {}

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SipConnection(self), host, port)

    def connected(self, address: Address) -> bool:
        """An open connection from (or to) this address exists."""
        connection = self._connections.get(address)
        return connection is not None and connection.open

    def send(self, data: bytes, address: Address) -> bool:
        """Write on the open connection to `address`; False if there is none."""
        connection = self._connections.get(address)
        if connection is None or not connection.open:
            return False
        connection.write(data)
        return True

    def opened(self, connection: SipConnection) -> None:
        if len(self._connections) >= self.max_connections:
            log.warning("too many sip tcp connections", extra={"source": connection.peer[0]})
            connection.close()
            return
        self._connections[connection.peer] = connection

    def closed(self, connection: SipConnection) -> None:
        if self._connections.get(connection.peer) is connection:
            del self._connections[connection.peer]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections.values()):
            connection.close()
