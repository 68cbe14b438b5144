"""rtpengine's ng control protocol: bencoded dictionaries over UDP, each behind a cookie.

A request is `<cookie> <bencoded dict>`; the daemon answers `<cookie> <bencoded dict>` with a
`result` of "ok", "pong", "error" (and an `error-reason`) or "load limit". UDP loses and
reorders datagrams, so a request is sent again until its cookie comes back; a reply to an
older cookie (a late answer to a retransmission) is dropped. The daemon remembers cookies it
has answered, so a retransmitted offer is not applied twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import bencodepy

log = logging.getLogger(__name__)

# Sent again after this long, doubling, until the deadline (RFC 3261's Timer A, in spirit).
FIRST_RETRANSMIT_SECONDS = 0.25
DEFAULT_TIMEOUT_SECONDS = 3.0

NgValue = str | int | bytes | list[Any] | dict[str, Any]


class NgError(Exception):
    """The daemon answered `result: error` (its `error-reason` is the message)."""


class NgTimeout(NgError):
    """No answer from the daemon within the deadline, however often the request was sent."""


@dataclass(frozen=True)
class NgMessage:
    """One datagram: a cookie and its dictionary, keys and strings as bytes, like the wire."""

    cookie: bytes
    body: dict[bytes, Any]

    @classmethod
    def parse(cls, data: bytes) -> NgMessage:
        cookie, space, payload = data.partition(b" ")
        if not space or not cookie:
            raise ValueError("ng message without a cookie")
        try:
            body = bencodepy.decode(payload)
        except bencodepy.BencodeDecodeError as exc:
            raise ValueError(f"ng message not bencoded: {exc}") from exc
        if not isinstance(body, dict):
            raise ValueError("ng message is not a dictionary")
        return cls(cookie, cast(dict[bytes, Any], body))

    @classmethod
    def request(cls, cookie: bytes, command: str, params: Mapping[str, NgValue]) -> NgMessage:
        body: dict[bytes, Any] = {b"command": command.encode()}
        body.update({key.encode(): value for key, value in params.items()})
        return cls(cookie, body)

    def __bytes__(self) -> bytes:
        return self.cookie + b" " + bencodepy.encode(self.body)

    def text(self, key: str) -> str | None:
        """A string field decoded, or None when it is missing or not a string."""
        value = self.body.get(key.encode())
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else None


class _NgProtocol(asyncio.DatagramProtocol):
    def __init__(self, client: NgClient) -> None:
        self._client = client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._client._received(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: the daemon is down or restarting; retransmission covers it.
        log.debug("ng socket error: %s", exc)


class NgClient:
    """Sends ng commands to one rtpengine and returns its answers (asyncio, UDP)."""

    def __init__(
        self,
        address: tuple[str, int],
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        first_retransmit_seconds: float = FIRST_RETRANSMIT_SECONDS,
    ) -> None:
        self.address = address
        self._timeout = timeout_seconds
        self._first_retransmit = first_retransmit_seconds
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[bytes, asyncio.Future[NgMessage]] = {}
        self.retransmissions = 0
        self.dropped = 0  # unparseable datagrams and answers to no pending cookie

    async def _ensure_open(self) -> asyncio.DatagramTransport:
        if self._transport is None or self._transport.is_closing():
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _NgProtocol(self), remote_addr=self.address
            )
            self._transport = transport
        return self._transport

    def _received(self, data: bytes) -> None:
        try:
            message = NgMessage.parse(data)
        except ValueError as exc:
            self.dropped += 1
            log.warning("ng answer dropped", extra={"error": str(exc)[:200]})
            return
        waiter = self._pending.pop(message.cookie, None)
        if waiter is None or waiter.done():
            self.dropped += 1  # a second answer to a retransmitted request
            return
        waiter.set_result(message)

    async def command(self, command: str, **params: NgValue) -> NgMessage:
        """Send `command` with `params` (keys in the protocol's spelling, e.g. "call-id") and
        return the answer; NgError when the daemon refuses, NgTimeout when it stays silent."""
        transport = await self._ensure_open()
        cookie = secrets.token_hex(8).encode()
        request = bytes(NgMessage.request(cookie, command, params))
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[NgMessage] = loop.create_future()
        self._pending[cookie] = waiter
        deadline = loop.time() + self._timeout
        interval = self._first_retransmit
        try:
            while True:
                transport.sendto(request)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise NgTimeout(f"rtpengine {self.address} did not answer {command}")
                try:
                    answer = await asyncio.wait_for(
                        asyncio.shield(waiter), min(interval, remaining)
                    )
                    break
                except TimeoutError:
                    self.retransmissions += 1
                    interval *= 2
        finally:
            self._pending.pop(cookie, None)
            if not waiter.done():
                waiter.cancel()
        result = answer.text("result")
        if result == "error":
            raise NgError(answer.text("error-reason") or "error")
        if result not in ("ok", "pong"):
            raise NgError(f"rtpengine answered {result!r} to {command}")
        return answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.cancel()
        self._pending.clear()
