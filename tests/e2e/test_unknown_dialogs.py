"""Requests inside a dialog or transaction the gateway does not know get 481 (RFC 3261 §12.2.2,
§9.2, §14), stray responses are dropped, and the gateway goes on serving."""

from __future__ import annotations

import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, status_of

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def request(method: str, probe: SipProbe, gateway: tuple[str, int], tag: str = "") -> bytes:
    host, port = probe.address
    to_tag = f";tag={tag}" if tag else ""
    return (
        f"{method} sip:12319@{gateway[0]}:{gateway[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{method.lower()}-nodialog;rport\r\n"
        f"From: <sip:13900000000@{host}>;tag=caller\r\nTo: <sip:12319@{gateway[0]}>{to_tag}\r\n"
        f"Call-ID: no-such-dialog-{method.lower()}\r\nCSeq: 2 {method}\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:13900000000@{host}:{port}>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def test_bye_cancel_and_reinvite_for_unknown_dialogs_get_481(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    probe = SipProbe()
    try:
        await probe.send(request("BYE", probe, gateway, tag="gw"), gateway)
        await probe.send(request("CANCEL", probe, gateway), gateway)
        await probe.send(request("INVITE", probe, gateway, tag="gw"), gateway)
        host, port = probe.address
        stray = (
            f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {gateway[0]}:{gateway[1]};branch=z9hG4bKstray\r\n"
            f"From: <sip:12319@{gateway[0]}>;tag=x\r\nTo: <sip:a@{host}:{port}>;tag=y\r\n"
            "Call-ID: stray-response\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        await probe.send(stray, gateway)
        answers = await probe.responses_until_sentinel(gateway)
    finally:
        probe.close()
    by_method = {
        answer.split(b"CSeq: 2 ")[1].split(b"\r\n")[0]: status_of(answer) for answer in answers
    }
    assert by_method == {b"BYE": 481, b"CANCEL": 481, b"INVITE": 481}
    assert len(answers) == 3  # the stray 200 drew nothing
    assert hotline.system.gateway.running
