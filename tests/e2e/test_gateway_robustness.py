"""Bad input does not stop the gateway: malformed datagrams, torture messages, non-peers."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.support.peers import (
    CALLER_NUMBER,
    open_console,
    register_phones,
    start_agent_phones,
    start_caller,
)
from tests.support.sipp import free_ports
from tests.telephony.test_rfc4475 import EXPECTED, TORTURE

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


class SipProbe:
    """A bare UDP socket on a chosen loopback address, for sending hand-made datagrams."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()
        self.sent: list[bytes] = []

    async def send(self, data: bytes, to: tuple[str, int]) -> None:
        self.sent.append(data)
        await asyncio.get_running_loop().sock_sendto(self.sock, data, to)

    async def responses_until_sentinel(
        self, to: tuple[str, int], timeout: float = 10
    ) -> list[bytes]:
        """Everything answered before an OPTIONS sent now is answered, each answer once (a
        refused INVITE's answer is sent again until ACKed: Timer G). The gateway handles one
        socket's datagrams in order, so that answer means all earlier ones were handled."""
        host, port = self.address
        sentinel = f"sentinel-{port}-{len(self.sent)}"
        await self.send(
            (
                f"OPTIONS sip:{to[0]}:{to[1]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{sentinel};rport\r\n"
                f"From: <sip:probe@{host}>;tag=p\r\nTo: <sip:{to[0]}>\r\n"
                f"Call-ID: {sentinel}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            to,
        )
        loop = asyncio.get_running_loop()
        got: list[bytes] = []
        async with asyncio.timeout(timeout):
            while True:
                data, _ = await loop.sock_recvfrom(self.sock, 65535)
                if sentinel.encode() in data:
                    return got
                if data not in got:
                    got.append(data)

    def close(self) -> None:
        self.sock.close()


def invite(
    probe: SipProbe, gateway: tuple[str, int], number: str = "12319", call_id: str = "probe-1"
) -> bytes:
    host, port = probe.address
    body = (
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0\r\n"
    )
    head = (
        f"INVITE sip:{number}@{gateway[0]}:{gateway[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id};rport\r\n"
        f"From: <sip:13900000000@{host}>;tag=a1\r\n"
        f"To: <sip:{number}@{gateway[0]}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:13900000000@{host}:{port}>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def localise(message: bytes, probe: SipProbe) -> bytes:
    """Point every Via sent-by of a torture message at our probe, so replies stay on loopback."""
    host, port = probe.address
    return re.sub(
        rb"(?im)^(Via|v)(\s*:\s*SIP\s*/\s*[0-9.]+\s*/\s*[A-Za-z]+\s+)[^;,\r\n]+",
        lambda m: m.group(1) + m.group(2) + f"{host}:{port}".encode(),
        message,
    )


async def test_non_peer_and_malformed_input_then_a_call_still_works(
    hotline: RunningHotline,
    tmp_path: Path,
) -> None:
    gateway = hotline.sip_address
    outsider = SipProbe("127.0.0.2")
    probe = SipProbe()
    try:
        await outsider.send(invite(outsider, gateway, call_id="outsider"), gateway)
        refused = await outsider.responses_until_sentinel(gateway)
        assert [status_of(r) for r in refused] == [403]

        await probe.send(invite(probe, gateway, number="110", call_id="wrong-number"), gateway)
        assert [status_of(r) for r in await probe.responses_until_sentinel(gateway)] == [404]

        junk = [
            b"\x00\xff" * 700,
            b"INVITE\r\n\r\n",
            b"SIP/2.0 200 OK\r\nCall-ID: nobody\r\n\r\n",  # stray, broken response
            invite(probe, gateway).replace(b"Call-ID: probe-1\r\n", b""),
            invite(probe, gateway).replace(b"Content-Length: ", b"Content-Length: 9"),
            invite(probe, gateway, call_id="bad-cseq").replace(
                b"CSeq: 1 INVITE", b"CSeq: one INVITE"
            ),
            invite(probe, gateway, call_id="mismatch").replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"),
            b"OPTIONS sip:x SIP/2.0\r\n" + b"X-Long: " + b"a" * 60000 + b"\r\n\r\n",
        ]
        for datagram in junk:
            await probe.send(datagram, gateway)
        raw = await probe.responses_until_sentinel(gateway)
        answers = [status_of(r) for r in raw]
        assert answers.count(400) == 3, raw  # the three that can be answered
        assert 200 not in answers

        for path in sorted(TORTURE.glob("*.dat")):
            await probe.send(localise(path.read_bytes(), probe), gateway)
        await probe.responses_until_sentinel(gateway)
        assert hotline.system.gateway.running
    finally:
        outsider.close()
        probe.close()

    # The gateway still takes a whole call from the trunk to an agent.
    await hotline.add_agent("1001")
    phone, phone_port, _ = await start_agent_phones(tmp_path, calls=1)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4))
        offer = await console.next_message("call.offered")
        assert offer["caller"] == CALLER_NUMBER
        await console.next_message("call.connected")
        await console.next_message("call.ended")
        await console.ws.close()
    assert (await caller.wait(60))[0] == 0
    assert (await phone.wait(60))[0] == 0


# What an endpoint's rejection of a message it cannot take looks like (RFC 4475's answers).
REJECTIONS = {400, 406, 415, 416, 420, 501, 505}


async def test_each_rfc4475_message_draws_its_answer_from_the_running_gateway(
    hotline: RunningHotline,
) -> None:
    """Every torture message is sent to the live gateway from the trunk's address; each gets
    the answer the verdict table gives (a status, nothing, or acceptance), and an OPTIONS
    sentinel after each shows the gateway still serves."""
    gateway = hotline.sip_address
    probe = SipProbe()
    observed: dict[str, object] = {}
    try:
        for name, (_, expected) in sorted(EXPECTED.items()):
            await probe.send(localise((TORTURE / f"{name}.dat").read_bytes(), probe), gateway)
            finals = [
                status_of(r)
                for r in await probe.responses_until_sentinel(gateway)
                if status_of(r) >= 200
            ]
            if expected == "drop":
                observed[name] = "drop" if not finals else finals
            elif expected == "accept":
                taken = bool(finals) and not REJECTIONS & set(finals)
                observed[name] = "accept" if taken else finals
            else:
                observed[name] = finals[0] if finals == [expected] else finals
    finally:
        probe.close()
    assert observed == {name: answer for name, (_, answer) in EXPECTED.items()}
    assert hotline.system.gateway.running
