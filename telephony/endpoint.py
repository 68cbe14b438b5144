"""The gateway's SIP endpoint: UDP and TCP on one host and port, and which one a message takes.

A message to an address with an open TCP connection goes on that connection (a response to a
request that came over it, RFC 3261 §18.2.2, or a request to a phone or trunk that reached us
over TCP); anything else goes over UDP. A TCP peer whose Contact is not the address its
connection comes from therefore gets in-dialog requests over UDP at its Contact, which is
what RFC 3263 gives for a `sip:` URI without a transport parameter.
"""

from __future__ import annotations

import logging

from telephony.guard import SipGuard
from telephony.sip import SipRequest
from telephony.tcp import IDLE_SECONDS, TcpTransport
from telephony.transport import Address, RequestHandler, ResponseHandler, SipTransport

log = logging.getLogger(__name__)

# With port 0 the UDP socket picks the number; the same number may be taken for TCP.
BIND_ATTEMPTS = 20


class SipEndpoint:
    """Listens on UDP and TCP; sends each message on the transport its address is reached by."""

    def __init__(
        self,
        on_request: RequestHandler,
        on_response: ResponseHandler,
        *,
        tcp_idle_seconds: float = IDLE_SECONDS,
        guard: SipGuard | None = None,
    ) -> None:
        self._on_request = on_request
        self._on_response = on_response
        self._guard = guard  # for UDP: TCP peers cannot forge their address, the framer caps size
        self.udp = SipTransport(on_request, on_response, guard)
        self.tcp = TcpTransport(on_request, on_response, idle_seconds=tcp_idle_seconds)

    @property
    def running(self) -> bool:
        return self.udp.running and self.tcp.running

    @property
    def address(self) -> Address:
        return self.udp.address

    async def listen(self, host: str, port: int) -> None:
        """UDP and TCP on `host`:`port` (on one free number for both if `port` is 0)."""
        for attempt in range(BIND_ATTEMPTS):
            await self.udp.listen(host, port)
            try:
                await self.tcp.listen(host, self.udp.address[1])
                return
            except OSError:
                self.udp.close()
                if port != 0 or attempt == BIND_ATTEMPTS - 1:
                    raise
                self.udp = SipTransport(self._on_request, self._on_response, self._guard)

    def reliable(self, address: Address) -> bool:
        """Messages to `address` go on a TCP connection: no retransmissions needed."""
        return self.tcp.connected(address)

    def via_transport(self, address: Address) -> str:
        """The transport our Via names in a request to `address`."""
        return "TCP" if self.reliable(address) else "UDP"

    def reply_address(self, request: SipRequest, source: Address) -> Address:
        """Where a response goes (RFC 3261 §18.2.2 with RFC 3581): back on the connection it
        came on; over UDP the source address, with the Via's port unless rport was asked."""
        via = request.vias[0]
        if "rport" in via.params or self.reliable(source):
            return source
        return (source[0], via.port or 5060)

    def send(self, data: bytes, address: Address) -> None:
        if not self.tcp.send(data, address):
            self.udp.send(data, address)

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()
