"""What every answer of the running gateway carries: a To tag on all but 100 to a request
whose To has none (RFC 3261 §8.2.6.2), the refusals a proxy may have forked to several
hotlines (403, 420, 488) included; and in the top Via, where the request really came from
(`received`, `rport`: RFC 3581), which a phone behind NAT learns its public mapping from."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def to_header(response: bytes) -> str:
    match = re.search(rb"(?im)^(?:To|t)\s*:\s*(.+?)\r$", response)
    assert match is not None, response
    return match.group(1).decode()


async def test_refusals_carry_a_to_tag(hotline: RunningHotline) -> None:
    gateway = hotline.sip_address
    outsider, probe = SipProbe("127.0.0.2"), SipProbe()
    try:
        await outsider.send(invite(outsider, gateway, call_id="outsider"), gateway)
        refused = [r for r in await outsider.responses_until_sentinel(gateway)]

        unknown_extension = invite(probe, gateway, call_id="require").replace(
            b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nRequire: no-such-extension\r\n"
        )
        g729_only = invite(probe, gateway, call_id="g729").replace(
            b"RTP/AVP 0\r\n", b"RTP/AVP 18\r\n"
        )
        for request in (unknown_extension, g729_only):
            await probe.send(request, gateway)
        answers = await probe.responses_until_sentinel(gateway)
    finally:
        outsider.close()
        probe.close()
    finals = {status_of(r): r for r in [*refused, *answers] if status_of(r) >= 200}
    assert set(finals) == {403, 420, 488}, finals
    for status, response in finals.items():
        assert ";tag=" in to_header(response), (status, response)


async def test_a_phone_behind_nat_learns_its_public_address_and_port(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    probe = SipProbe()
    host, port = probe.address
    try:
        await probe.send(
            (
                f"OPTIONS sip:{gateway[0]}:{gateway[1]} SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnat1;rport\r\n"
                "From: <sip:1001@192.168.1.20>;tag=n1\r\n"
                f"To: <sip:{gateway[0]}>\r\nCall-ID: behind-nat\r\nCSeq: 1 OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode(),
            gateway,
        )
        answers = await probe.responses_until_sentinel(gateway)
    finally:
        probe.close()
    # Sent back to where it came from, not to the private address in the Via.
    assert [status_of(a) for a in answers] == [200]
    via = re.search(rb"(?im)^Via:\s*(.+?)\r$", answers[0])
    assert via is not None
    assert via.group(1).decode() == (
        f"SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnat1;rport={port};received={host}"
    )


async def test_a_refused_invite_is_answered_again_until_its_ack(hotline: RunningHotline) -> None:
    """Timer G (RFC 3261 §17.2.1): a refusal lost on the way is not lost for good."""
    gateway = hotline.sip_address
    outsider = SipProbe("127.0.0.2")
    loop = asyncio.get_running_loop()
    try:
        request = invite(outsider, gateway, call_id="timer-g")
        await outsider.send(request, gateway)
        async with asyncio.timeout(10):
            first, _ = await loop.sock_recvfrom(outsider.sock, 65535)
            again, _ = await loop.sock_recvfrom(outsider.sock, 65535)  # no ACK yet: sent again
        assert status_of(first) == 403 and again == first
        via = re.search(rb"(?m)^Via: [^\r]+", request)
        assert via is not None
        ack = b"\r\n".join(
            [
                f"ACK sip:12319@{gateway[0]}:{gateway[1]} SIP/2.0".encode(),
                via.group(0),
                f"From: <sip:13900000000@{outsider.address[0]}>;tag=a1".encode(),
                f"To: {to_header(first)}".encode(),
                b"Call-ID: timer-g",
                b"CSeq: 1 ACK",
                b"Content-Length: 0",
                b"",
                b"",
            ]
        )
        await outsider.send(ack, gateway)
        # The ACK is absorbed: nothing answers it, and the next request is served.
        assert await outsider.responses_until_sentinel(gateway) in ([], [first])
    finally:
        outsider.close()
