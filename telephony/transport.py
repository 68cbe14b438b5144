"""SIP over UDP: parses datagrams, answers broken requests with 400, drops the rest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from telephony.sip import (
    SipParseError,
    SipRequest,
    SipResponse,
    parse_message,
    request_summary_for_400,
    response_for,
)

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65535


class SipTransport(asyncio.DatagramProtocol):
    """Hands parsed requests and responses to the gateway; never lets input stop it."""

    def __init__(
        self,
        on_request: Callable[[SipRequest, tuple[str, int]], None],
        on_response: Callable[[SipResponse, tuple[str, int]], None],
    ) -> None:
        self._on_request = on_request
        self._on_response = on_response
        self._transport: asyncio.DatagramTransport | None = None
        self.address: tuple[str, int] = ("", 0)

    @property
    def running(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        self.address = self._transport.get_extra_info("sockname")[:2]

    def send(self, data: bytes, address: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, address)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive (RFC 5626 CRLF) or padding
        if len(data) > MAX_DATAGRAM:
            return
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._answer_malformed(data, addr, str(exc))
            return
        try:
            if isinstance(message, SipRequest):
                self._on_request(message, addr)
            else:
                self._on_response(message, addr)
        except Exception:
            # A bug for one message must not take the gateway down for every other caller.
            log.exception("error handling SIP message", extra={"source": addr[0]})
            if isinstance(message, SipRequest) and message.method != "ACK":
                try:
                    self.send(bytes(response_for(message, 500)), addr)
                except Exception:
                    log.exception("could not even answer 500")

    def _answer_malformed(self, data: bytes, addr: tuple[str, int], why: str) -> None:
        log.info("malformed SIP message", extra={"source": addr[0], "error": why[:200]})
        try:
            request = request_summary_for_400(data)
        except Exception:
            request = None
        if request is None or request.method == "ACK":
            return  # a broken response or ACK gets no answer (RFC 3261 §17)
        try:
            reason = "Bad Request - " + why.replace("\r", " ").replace("\n", " ")[:80]
            self.send(bytes(response_for(request, 400, reason)), addr)
        except Exception:
            log.debug("could not build a 400 for a malformed request", exc_info=True)

    def error_received(self, exc: Exception) -> None:
        log.debug("sip socket error: %s", exc)
