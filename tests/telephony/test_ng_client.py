"""The ng client against a loopback UDP peer that loses, repeats and refuses like a daemon can."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import bencodepy
import pytest

from telephony.ng import NgClient, NgError, NgMessage, NgTimeout


def test_message_round_trip() -> None:
    request = NgMessage.request(b"c1", "offer", {"call-id": "x", "flags": ["trust-address"]})
    wire = bytes(request)
    assert wire.startswith(b"c1 d")
    parsed = NgMessage.parse(wire)
    assert parsed.cookie == b"c1"
    assert parsed.text("command") == "offer"
    assert parsed.body[b"flags"] == [b"trust-address"]


@pytest.mark.parametrize("wire", [b"", b"nocookie", b"c1 not-bencode", b"c1 li1ee"])
def test_bad_messages_raise_value_error(wire: bytes) -> None:
    with pytest.raises(ValueError):
        NgMessage.parse(wire)


class FakeDaemon(asyncio.DatagramProtocol):
    """Answers each request by `answer(body)`; the first `lose` requests get no answer and
    every answer can be sent twice (a late duplicate) or preceded by another cookie's."""

    def __init__(self, answer: Callable[[dict[bytes, Any]], dict[str, Any] | None]) -> None:
        self.answer = answer
        self.lose = 0
        self.duplicate = False
        self.stray_first = False
        self.requests: list[NgMessage] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = NgMessage.parse(data)
        self.requests.append(request)
        if self.lose > 0:
            self.lose -= 1
            return
        body = self.answer(request.body)
        if body is None or self.transport is None:
            return
        reply = request.cookie + b" " + bencodepy.encode(body)
        if self.stray_first:
            self.transport.sendto(b"other " + bencodepy.encode({"result": "ok"}), addr)
            self.transport.sendto(b"garbage", addr)
        self.transport.sendto(reply, addr)
        if self.duplicate:
            self.transport.sendto(reply, addr)


@pytest.fixture
async def daemon() -> AsyncIterator[FakeDaemon]:
    def answer(body: dict[bytes, Any]) -> dict[str, Any] | None:
        command = body[b"command"]
        if command == b"ping":
            return {"result": "pong"}
        if command == b"query":
            return {"result": "error", "error-reason": "Unknown call-id"}
        if command == b"silent":
            return None
        return {"result": "ok", "echo": body.get(b"call-id", b"")}

    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: FakeDaemon(answer), local_addr=("127.0.0.1", 0)
    )
    yield protocol
    transport.close()


def _client(daemon: FakeDaemon, timeout: float = 2.0) -> NgClient:
    assert daemon.transport is not None
    host, port = daemon.transport.get_extra_info("sockname")[:2]
    return NgClient((host, port), timeout_seconds=timeout, first_retransmit_seconds=0.05)


async def test_ping_and_parameters_reach_the_daemon(daemon: FakeDaemon) -> None:
    client = _client(daemon)
    try:
        assert (await client.command("ping")).text("result") == "pong"
        answer = await client.command("delete", **{"call-id": "abc", "from-tag": "t"})
        assert answer.text("echo") == "abc"
        assert daemon.requests[-1].body[b"from-tag"] == b"t"
    finally:
        client.close()


async def test_lost_requests_are_sent_again_with_the_same_cookie(daemon: FakeDaemon) -> None:
    daemon.lose = 2
    client = _client(daemon)
    try:
        assert (await client.command("ping")).text("result") == "pong"
    finally:
        client.close()
    assert len(daemon.requests) == 3
    assert len({request.cookie for request in daemon.requests}) == 1
    assert client.retransmissions == 2


async def test_duplicates_and_other_cookies_are_dropped(daemon: FakeDaemon) -> None:
    daemon.duplicate = daemon.stray_first = True
    client = _client(daemon)
    try:
        first = await client.command("offer", **{"call-id": "one"})
        second = await client.command("offer", **{"call-id": "two"})
    finally:
        client.close()
    # Each answer is its own request's, whatever else arrived around it.
    assert (first.text("echo"), second.text("echo")) == ("one", "two")
    assert client.dropped >= 3


async def test_an_error_answer_raises_with_its_reason(daemon: FakeDaemon) -> None:
    client = _client(daemon)
    try:
        with pytest.raises(NgError, match="Unknown call-id"):
            await client.command("query", **{"call-id": "gone"})
    finally:
        client.close()


async def test_silence_ends_in_a_timeout(daemon: FakeDaemon) -> None:
    client = _client(daemon, timeout=0.3)
    try:
        with pytest.raises(NgTimeout):
            await client.command("silent")
    finally:
        client.close()
    assert len(daemon.requests) >= 2  # it was sent again before giving up
