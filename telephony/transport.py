"""SIP over UDP, and the receive path it shares with TCP: parse, answer broken requests with
400, drop the rest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from telephony.guard import DropReason, SipGuard
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

Address = tuple[str, int]
RequestHandler = Callable[[SipRequest, Address], None]
ResponseHandler = Callable[[SipResponse, Address], None]


def receive(
    data: bytes,
    source: Address,
    answer: Callable[[bytes], None],
    on_request: RequestHandler,
    on_response: ResponseHandler,
) -> None:
    """Parse one message and hand it on; `answer` sends bytes back the way it came."""
    try:
        message = parse_message(data)
    except SipParseError as exc:
        log.info("malformed SIP message", extra={"source": source[0], "error": str(exc)[:200]})
        refusal = malformed_answer(data, str(exc))
        if refusal is not None:
            answer(refusal)
        return
    try:
        if isinstance(message, SipRequest):
            on_request(message, source)
        else:
            on_response(message, source)
    except Exception:
        # A bug for one message must not take the gateway down for every other caller.
        log.exception("error handling SIP message", extra={"source": source[0]})
        if isinstance(message, SipRequest) and message.method != "ACK":
            try:
                answer(bytes(response_for(message, 500)))
            except Exception:
                log.exception("could not even answer 500")


def malformed_answer(data: bytes, why: str, status: int = 400) -> bytes | None:
    """The answer to a request that cannot be parsed; None for broken responses and ACKs."""
    try:
        request = request_summary_for_400(data)
    except Exception:
        request = None
    if request is None or request.method == "ACK":
        return None  # a broken response or ACK gets no answer (RFC 3261 §17)
    try:
        reason = "Bad Request - " if status == 400 else ""
        reason += why.replace("\r", " ").replace("\n", " ")[:80]
        return bytes(response_for(request, status, reason))
    except Exception:
        log.debug("could not build an answer to a malformed request", exc_info=True)
        return None


class SipTransport(asyncio.DatagramProtocol):
    """Hands parsed requests and responses to the gateway; never lets input stop it."""

    def __init__(
        self,
        on_request: RequestHandler,
        on_response: ResponseHandler,
        guard: SipGuard | None = None,
    ) -> None:
        self._on_request = on_request
        self._on_response = on_response
        self._guard = guard
        self._transport: asyncio.DatagramTransport | None = None
        self.address: Address = ("", 0)

    @property
    def running(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        self.address = self._transport.get_extra_info("sockname")[:2]

    def send(self, data: bytes, address: Address) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, address)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive (RFC 5626 CRLF) or padding
        if len(data) > MAX_DATAGRAM:
            return
        if self._guard is not None and not self._admitted_by(self._guard, data, addr):
            return
        receive(
            data,
            addr,
            lambda answer: self.send(answer, addr),
            self._on_request,
            self._on_response,
        )

    def error_received(self, exc: Exception) -> None:
        log.debug("sip socket error: %s", exc)

    def _admitted_by(self, guard: SipGuard, data: bytes, addr: Address) -> bool:
        """The guard's verdict acted on: a block logged once, as it starts, and a scanner's
        datagram with its source and User-Agent, within the guard's log budget; 513 for an
        oversize request (RFC 3261 §21.5.14), nothing for anything else dropped. True if the
        datagram may be parsed."""
        # The loop's clock, as the registrar's: the guard asks it about registered phones.
        verdict = guard.inspect(data, addr[0], asyncio.get_running_loop().time())
        if verdict.log_block:
            log.warning(
                "sip source blocked",
                extra={
                    "source": addr[0],
                    "reason": str(verdict.dropped),
                    "seconds": guard.policy.block_seconds,
                    "unlogged_blocks": verdict.unlogged_blocks,
                },
            )
        if verdict.log_scanner:
            log.warning(
                "sip scanner dropped",
                extra={
                    "source": addr[0],
                    "user_agent": verdict.user_agent,
                    "unlogged_scanners": verdict.unlogged_scanners,
                },
            )
        if verdict.dropped is DropReason.OVERSIZE:
            answer = malformed_answer(data, "Message Too Large", 513)
            if answer is not None:
                self.send(answer, addr)
        return verdict.admitted
