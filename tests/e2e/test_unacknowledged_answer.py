"""An answered INVITE that is never ACKed costs a port and nothing else (issue 10): no
greeting is played and the switchboard does not hear of the call until the ACK, and only
`[sip] max_unacknowledged_answers` such answers are outstanding at once."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, status_of
from tests.e2e.test_retransmitted_invite import calls_recorded, in_dialog

CAP = {"sip": {"max_unacknowledged_answers": 2}}

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def invite_to(probe: SipProbe, gateway: tuple[str, int], call_id: str, media_port: int) -> bytes:
    host, port = probe.address
    body = (
        f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {media_port} RTP/AVP 0\r\n"
    ).encode()
    head = (
        f"INVITE sip:12319@{gateway[0]}:{gateway[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id};rport\r\n"
        f"From: <sip:13900000000@{host}>;tag=a1\r\nTo: <sip:12319@{gateway[0]}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:13900000000@{host}:{port}>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def final_answers(probe: SipProbe, count: int) -> list[bytes]:
    """The next `count` final responses (retransmissions included), bounded in time."""
    loop = asyncio.get_running_loop()
    got: list[bytes] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            data = (await loop.sock_recvfrom(probe.sock, 65535))[0]
            if status_of(data) >= 200:
                got.append(data)
    return got


async def test_nothing_plays_and_nobody_hears_of_the_call_until_the_ack(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    probe = SipProbe()
    far_end = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    far_end.bind(("127.0.0.1", 0))
    far_end.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await probe.send(invite_to(probe, gateway, "no-ack", far_end.getsockname()[1]), gateway)
        # The 200 and two retransmissions of it (Timer G: 0.5 s, then 1 s later): by then a
        # greeting started at the answer would have sent some 75 frames.
        ok, *again = await final_answers(probe, 3)
        assert status_of(ok) == 200 and again == [ok, ok]
        engine = hotline.system.media
        assert engine.active_legs == 1
        assert not engine._playing
        with pytest.raises(BlockingIOError):
            far_end.recv(2048)
        calls, arrived = await calls_recorded(hotline, "no-ack")
        assert calls == [] and arrived == 0

        await probe.send(in_dialog("ACK", 1, ok, probe.address, "UDP"), gateway)
        async with asyncio.timeout(10):
            for _ in range(10):  # the greeting now flows
                await loop.sock_recv(far_end, 2048)
        calls, arrived = await calls_recorded(hotline, "no-ack")
        assert len(calls) == 1 and arrived == 1
        await probe.send(in_dialog("BYE", 2, ok, probe.address, "UDP"), gateway)
        await probe.responses_until_sentinel(gateway)
    finally:
        probe.close()
        far_end.close()


@pytest.mark.parametrize("hotline_overrides", [CAP])
async def test_past_the_cap_new_calls_get_503_until_an_ack_comes(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    probes = [SipProbe() for _ in range(4)]
    try:
        answers = []
        for n, probe in enumerate(probes[:3]):
            await probe.send(invite_to(probe, gateway, f"cap-{n}", 40000 + 2 * n), gateway)
            answers.append((await final_answers(probe, 1))[0])
        assert [status_of(a) for a in answers] == [200, 200, 503]
        assert b"Retry-After: 5" in answers[2]
        assert hotline.system.media.active_legs == 2
        calls, _ = await calls_recorded(hotline, "cap-2")
        assert calls == []  # a flood's 503s are no rows

        first = probes[0]
        await first.send(in_dialog("ACK", 1, answers[0], first.address, "UDP"), gateway)
        await first.responses_until_sentinel(gateway)  # the ACK has been handled
        fourth = probes[3]
        await fourth.send(invite_to(fourth, gateway, "cap-3", 40006), gateway)
        assert status_of((await final_answers(fourth, 1))[0]) == 200
    finally:
        for probe in probes:
            probe.close()
