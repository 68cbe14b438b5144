"""Malformed requests the gateway used to answer 200 (issue 10): each gets RFC 3261/4566's
answer from the running gateway, and none of them opens a call."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, status_of
from tests.e2e.test_retransmitted_invite import in_dialog

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def invite(
    probe: SipProbe,
    gateway: tuple[str, int],
    call_id: str,
    *,
    version: str = "SIP/2.0",
    via_version: str = "SIP/2.0",
    cseq: str = "1",
    start_end: bytes = b"\r\n",
    address: bytes = b"127.0.0.1",
) -> bytes:
    host, port = probe.address
    body = (
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 " + address + b"\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0\r\n"
    )
    start = f"INVITE sip:12319@{gateway[0]}:{gateway[1]} {version}".encode() + start_end
    head = (
        f"Via: {via_version}/UDP {host}:{port};branch=z9hG4bK{call_id};rport\r\n"
        f"From: <sip:13900000000@{host}>;tag=a1\r\n"
        f"To: <sip:12319@{gateway[0]}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:13900000000@{host}:{port}>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return start + head.encode() + body


CASES: list[tuple[str, dict[str, object], int, str]] = [
    ("via-dot0", {"via_version": "SIP/.0"}, 400, "Via protocol"),
    ("via-99999", {"via_version": "SIP/99999.0"}, 400, "Via protocol"),
    ("via-dots", {"via_version": "SIP/2.....0"}, 400, "Via protocol"),
    ("cseq-2-31", {"cseq": str(2**31)}, 400, "CSeq"),
    ("cseq-2-32", {"cseq": str(2**32 - 1)}, 400, "CSeq"),
    ("bare-lf", {"start_end": b"\n"}, 400, "CRLF"),
    ("version-dots", {"version": "SIP/2.....0", "via_version": "SIP/2.....0"}, 505, ""),
    ("c-nul", {"address": b"10.0.0.\x001"}, 488, ""),
    ("c-non-ascii", {"address": "１０.０.０.１".encode()}, 488, ""),
    ("c-octet", {"address": b"10.10.10.4095"}, 488, ""),
    ("c-host-name", {"address": b"media.example.com"}, 488, ""),
    ("c-ip6-as-ip4", {"address": b"::1"}, 488, ""),
]


@pytest.mark.parametrize(("call_id", "changes", "status", "reason"), CASES)
async def test_malformed_invite_gets_its_rfc_answer(
    hotline: RunningHotline, call_id: str, changes: dict[str, object], status: int, reason: str
) -> None:
    gateway = hotline.sip_address
    probe = SipProbe()
    try:
        await probe.send(invite(probe, gateway, call_id, **changes), gateway)  # type: ignore[arg-type]
        answers = await probe.responses_until_sentinel(gateway)
    finally:
        probe.close()
    final = [a for a in answers if status_of(a) >= 200]
    assert [status_of(a) for a in final] == [status], answers
    first_line = final[0].split(b"\r\n", 1)[0].decode()
    assert reason in first_line
    if status == 488:
        assert b'\r\nWarning: 305 hotline "Incompatible media format' in final[0]
    assert hotline.system.gateway.active_calls == 0


async def test_a_well_formed_invite_from_the_same_builder_is_answered(
    hotline: RunningHotline,
) -> None:
    """The cases above differ from a call the gateway takes only in what they break."""
    gateway = hotline.sip_address
    probe = SipProbe()
    try:
        await probe.send(invite(probe, gateway, "fine", cseq=str(2**31 - 1)), gateway)
        loop = asyncio.get_running_loop()
        statuses: list[int] = []
        async with asyncio.timeout(10):  # a bound on failure, not a synchronisation
            while 200 not in statuses:
                data, _ = await loop.sock_recvfrom(probe.sock, 65535)
                statuses.append(status_of(data))
    finally:
        probe.close()
    assert statuses[-1] == 200 and all(s < 200 for s in statuses[:-1])


async def test_media_errors_are_exposed_in_metrics(hotline: RunningHotline) -> None:
    media = hotline.system.media
    media.errors.send += 3
    media.errors.frame += 2
    async with aiohttp.ClientSession() as http, http.get(hotline.url("/metrics")) as response:
        assert response.status == 200
        text = await response.text()
    assert 'hotline_media_leg_errors_total{kind="send"} 3.0' in text
    assert 'hotline_media_leg_errors_total{kind="frame"} 2.0' in text
    assert "hotline_media_clock_restarts_total 0.0" in text
    assert "hotline_recording_dropped_packets_total 0.0" in text
    assert "hotline_recording_write_errors_total 0.0" in text


async def test_a_reinvite_to_a_host_name_gets_488_and_the_call_goes_on(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    probe = SipProbe()
    loop = asyncio.get_running_loop()
    try:
        await probe.send(invite(probe, gateway, "reinvite"), gateway)
        async with asyncio.timeout(10):
            while True:
                ok = (await loop.sock_recvfrom(probe.sock, 65535))[0]
                if status_of(ok) == 200:
                    break
        await probe.send(in_dialog("ACK", 1, ok, probe.address, "UDP"), gateway)
        body = (
            b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 media.example.com\r\n"
            b"t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
        )
        reinvite = in_dialog("INVITE", 2, ok, probe.address, "UDP").replace(
            b"Content-Length: 0\r\n",
            b"Content-Type: application/sdp\r\nContent-Length: %d\r\n" % len(body),
        )
        await probe.send(reinvite + body, gateway)
        answers = [a for a in await probe.responses_until_sentinel(gateway) if b" INVITE\r\n" in a]
        assert [status_of(a) for a in answers if status_of(a) >= 200][-1:] == [488]
        assert b'Warning: 305 hotline "Incompatible media format' in answers[-1]
        assert hotline.system.gateway.active_calls == 1
        await probe.send(in_dialog("BYE", 3, ok, probe.address, "UDP"), gateway)
        await probe.responses_until_sentinel(gateway)
    finally:
        probe.close()
