"""SIP over TCP on loopback: the listener, its connections, and the choice of transport."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from telephony.endpoint import SipEndpoint
from telephony.sip import SipRequest, SipResponse, response_for
from telephony.transactions import T1, T2, TIMEOUT, ClientTransactions
from telephony.transport import Address
from tests.telephony.test_framing import BYE, RINGING, invite


@dataclass
class Received:
    """What the endpoint handed on; `until` waits for it without polling."""

    requests: list[tuple[SipRequest, Address]] = field(default_factory=list)
    responses: list[tuple[SipResponse, Address]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_request(self, request: SipRequest, source: Address) -> None:
        self.requests.append((request, source))
        self.changed.set()

    def on_response(self, response: SipResponse, source: Address) -> None:
        self.responses.append((response, source))
        self.changed.set()

    async def until(self, requests: int = 0, responses: int = 0) -> None:
        async with asyncio.timeout(5):
            while len(self.requests) < requests or len(self.responses) < responses:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[SipEndpoint, Received]]:
    received = Received()
    sip = SipEndpoint(received.on_request, received.on_response, tcp_idle_seconds=30)
    await sip.listen("127.0.0.1", 0)
    try:
        yield sip, received
    finally:
        sip.close()


async def connect(address: Address) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*address)


async def read_message(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        return head + await reader.readexactly(length)


async def read_to_close(reader: asyncio.StreamReader) -> bytes:
    """Everything until the gateway closes the connection (within 5 s)."""
    async with asyncio.timeout(5):
        return await reader.read()


async def test_listens_on_udp_and_tcp_with_one_port_number(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, _ = endpoint
    port = sip.address[1]
    assert sip.running and port > 0
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


async def test_split_and_coalesced_messages_reach_the_gateway_in_order(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, received = endpoint
    _reader, writer = await connect(sip.address)
    data = invite("a") + RINGING + BYE
    writer.write(data[:17])
    await writer.drain()
    writer.write(data[17:300])
    await writer.drain()
    writer.write(data[300:] + invite("b"))
    await writer.drain()
    await received.until(requests=3, responses=1)
    assert [r.method for r, _ in received.requests] == ["INVITE", "BYE", "INVITE"]
    assert [r.call_id for r, _ in received.requests] == ["a", "c", "b"]
    assert received.responses[0][0].status == 180
    local = writer.get_extra_info("sockname")[:2]
    assert {source for _, source in received.requests} == {local}
    assert sip.reliable(local)
    writer.close()


async def test_a_response_goes_back_on_the_connection_the_request_came_on(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, received = endpoint
    reader, writer = await connect(sip.address)
    writer.write(invite("answer-me").replace(b";rport", b""))
    await received.until(requests=1)
    request, source = received.requests[0]
    # Over UDP the answer would go to the Via's port 5070, where no one listens.
    destination = sip.reply_address(request, source)
    assert destination == source
    sip.send(bytes(response_for(request, 100)), destination)
    answer = await read_message(reader)
    assert answer.startswith(b"SIP/2.0 100 Trying\r\n")
    assert b"Call-ID: answer-me" in answer
    writer.close()


async def test_requests_to_a_tcp_peer_reuse_its_connection_and_say_tcp(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, received = endpoint
    reader, writer = await connect(sip.address)
    writer.write(BYE)
    await received.until(requests=1)
    peer = writer.get_extra_info("sockname")[:2]
    assert sip.via_transport(peer) == "TCP"
    assert sip.via_transport(("127.0.0.1", 9)) == "UDP"
    sip.send(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n", peer)
    assert (await read_message(reader)).startswith(b"OPTIONS sip:x")
    writer.close()


async def test_without_content_length_the_request_gets_400_and_the_connection_closes(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, received = endpoint
    reader, writer = await connect(sip.address)
    writer.write(BYE + invite("no-length", length="omit"))
    rest = await read_to_close(reader)
    assert rest.startswith(b"SIP/2.0 400 Bad Request - missing Content-Length\r\n")
    assert b"Call-ID: no-length" in rest
    assert [r.method for r, _ in received.requests] == ["BYE"]  # what came before still counts
    writer.close()


async def test_an_oversized_message_gets_513_and_the_connection_closes(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, received = endpoint
    reader, writer = await connect(sip.address)
    writer.write(invite("huge", body=b"x" * 70000))
    rest = await read_to_close(reader)
    assert rest.startswith(b"SIP/2.0 513 ")
    assert received.requests == []
    writer.close()


async def test_garbage_closes_the_connection_without_an_answer_and_others_go_on(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, received = endpoint
    good_reader, good = await connect(sip.address)
    reader, writer = await connect(sip.address)
    writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    assert await read_to_close(reader) == b""
    good.write(b"\r\n\r\n")  # an RFC 5626 ping on the other connection
    async with asyncio.timeout(5):
        assert await good_reader.readexactly(2) == b"\r\n"
    good.write(BYE)
    await received.until(requests=1)
    writer.close()
    good.close()


async def test_a_message_that_frames_but_does_not_parse_gets_400_and_the_connection_stays(
    endpoint: tuple[SipEndpoint, Received],
) -> None:
    sip, received = endpoint
    reader, writer = await connect(sip.address)
    writer.write(invite("bad-cseq").replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE") + BYE)
    answer = await read_message(reader)
    assert answer.startswith(b"SIP/2.0 400 ")
    await received.until(requests=1)
    assert received.requests[0][0].method == "BYE"
    writer.close()


async def test_an_idle_connection_is_closed() -> None:
    received = Received()
    sip = SipEndpoint(received.on_request, received.on_response, tcp_idle_seconds=0.2)
    await sip.listen("127.0.0.1", 0)
    try:
        reader, writer = await connect(sip.address)
        writer.write(BYE)
        await received.until(requests=1)
        peer = writer.get_extra_info("sockname")[:2]
        assert sip.reliable(peer)
        assert await read_to_close(reader) == b""
        assert not sip.reliable(peer)  # requests to it go over UDP from now on
        writer.close()
    finally:
        sip.close()


def ignore(*args: object) -> None:
    pass


async def test_our_requests_are_retransmitted_over_udp_only() -> None:
    sent: list[tuple[bytes, Address]] = []
    tcp_peer = ("127.0.0.1", 5070)
    clients = ClientTransactions(
        lambda data, to: sent.append((data, to)), lambda to: to == tcp_peer
    )
    loop = asyncio.get_running_loop()
    now = loop.time()
    over_udp = clients.start("b1", "INVITE", b"x", ("127.0.0.1", 5080), ignore, ignore)
    over_tcp = clients.start("b2", "INVITE", b"y", tcp_peer, ignore, ignore)
    # Timer A and B over UDP; only Timer B over TCP (RFC 3261 §17.1.1.2).
    assert [round(h.when() - now, 1) for h in over_udp.handles] == [T1, TIMEOUT]
    assert [round(h.when() - now, 1) for h in over_tcp.handles] == [TIMEOUT]
    assert [to for _, to in sent] == [("127.0.0.1", 5080), tcp_peer]
    clients.clear()


async def test_a_provisionally_answered_register_is_still_retransmitted_every_t2() -> None:
    sent = asyncio.Event()
    count = 0

    def send(data: bytes, to: Address) -> None:
        nonlocal count
        count += 1
        if count == 2:
            sent.set()

    clients = ClientTransactions(send, lambda to: False)
    register = clients.start("b3", "REGISTER", b"r", ("127.0.0.1", 5090), ignore, ignore)
    trying = SipResponse.parse(
        b"SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=b3\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert clients.response(trying)
    async with asyncio.timeout(5):
        await sent.wait()  # Timer E still fires after the 100 (RFC 3261 §17.1.2.2)
    now = asyncio.get_running_loop().time()
    pending = [h for h in register.handles if not h.cancelled() and h.when() > now]
    assert sorted(round(h.when() - now) for h in pending)[0] == round(T2)
    clients.clear()
