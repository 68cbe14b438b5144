"""Dialogs through a record-routing proxy (RFC 3261 §12, §16.12) and the trunk ACL over a
whole dialog, against the running gateway over real UDP: the proxy (a probe socket) stays on
the path of every request within the dialog, on the caller's side (we answer) and on the
agent's (we call); a request within a dialog from anyone else is refused."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of
from tests.e2e.test_phone_registration import Phone, header
from tests.support.peers import open_console, start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

UNREACHABLE = "192.0.2.55:5060"  # TEST-NET: a Contact only the proxy can reach


async def receive(probe: SipProbe, starts: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(30):
        while True:
            data, _ = await loop.sock_recvfrom(probe.sock, 65535)
            if data.startswith(starts):
                return data


def headers_named(message: bytes, name: str) -> list[str]:
    return [v.decode() for v in re.findall(rf"(?im)^{name}:\s*(.+?)\r$".encode(), message)]


def in_dialog(method: str, uri: str, via_host: str, ok: bytes, cseq: int) -> bytes:
    """A request of the caller's within the dialog that `ok` (our 200) confirmed."""
    return "\r\n".join(
        [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {via_host};branch=z9hG4bK{method.lower()}{cseq};rport",
            f"From: {header(ok, 'From')}",
            f"To: {header(ok, 'To')}",
            f"Call-ID: {header(ok, 'Call-ID')}",
            f"CSeq: {cseq} {method}",
            "Content-Length: 0",
            "",
            "",
        ]
    ).encode()


async def answered(probe: SipProbe, gateway: tuple[str, int], request: bytes) -> bytes:
    await probe.send(request, gateway)
    return await receive(probe, b"SIP/2.0 200 ")


async def test_the_callers_proxy_stays_on_the_path_of_the_gateways_bye(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    proxy = SipProbe()
    route = f"<sip:{proxy.address[0]}:{proxy.address[1]};lr;ftag=edge>"
    request = (
        invite(proxy, gateway, call_id="via-proxy")
        .replace(b"Max-Forwards: 70\r\n", f"Max-Forwards: 70\r\nRecord-Route: {route}\r\n".encode())
        .replace(
            f"Contact: <sip:13900000000@{proxy.address[0]}:{proxy.address[1]}>".encode(),
            f"Contact: <sip:13900000000@{UNREACHABLE}>".encode(),
        )
    )
    try:
        ok = await answered(proxy, gateway, request)
        assert headers_named(ok, "Record-Route") == [route]
        gateway_contact = header(ok, "Contact").strip("<>")
        await proxy.send(in_dialog("ACK", gateway_contact, "127.0.0.1", ok, 1), gateway)
        await hotline.system.gateway.stop(drain_seconds=0)  # hangs up every caller
        bye = await receive(proxy, b"BYE ")
        assert bye.startswith(f"BYE sip:13900000000@{UNREACHABLE} SIP/2.0".encode())
        assert headers_named(bye, "Route") == [route]
    finally:
        proxy.close()


async def test_a_request_within_a_callers_dialog_from_elsewhere_is_refused(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    trunk, outsider = SipProbe(), SipProbe("127.0.0.2")
    try:
        ok = await answered(trunk, gateway, invite(trunk, gateway, call_id="acl"))
        gateway_contact = header(ok, "Contact").strip("<>")
        await trunk.send(in_dialog("ACK", gateway_contact, "127.0.0.1", ok, 1), gateway)
        await outsider.send(in_dialog("BYE", gateway_contact, "127.0.0.2", ok, 2), gateway)
        refused = await outsider.responses_until_sentinel(gateway)
        assert [status_of(r) for r in refused] == [403]
        assert hotline.system.gateway.active_calls == 1  # the call goes on
        bye = await answered(trunk, gateway, in_dialog("BYE", gateway_contact, "127.0.0.1", ok, 3))
        assert b"CSeq: 3 BYE" in bye
    finally:
        trunk.close()
        outsider.close()


async def test_the_agents_proxy_gets_the_ack_and_the_bye(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    """The agent's phone answers through a proxy that record-routes: our ACK and, when the
    caller hangs up, our BYE go to that proxy with the Route, not to the phone's Contact."""
    await hotline.add_agent("1001")
    phone, proxy = Phone(hotline, "1001"), SipProbe()
    gateway = hotline.sip_address
    route = f"<sip:{proxy.address[0]}:{proxy.address[1]};lr>"
    try:
        host, port = phone.probe.address
        assert (
            status_of(await phone.register_with("sip-1001-secret", [f"<sip:1001@{host}:{port}>"]))
            == 200
        )
        async with aiohttp.ClientSession() as http:
            console = await open_console(hotline, http, "1001")
            await console.go_ready()
            caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=1500)
            call = await receive(phone.probe, b"INVITE ")
            body = (
                f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
                f"m=audio {port + 2} RTP/AVP 0\r\n"
            ).encode()
            answer = "\r\n".join(
                [
                    "SIP/2.0 200 OK",
                    *(f"Via: {v}" for v in headers_named(call, "Via")),
                    f"Record-Route: {route}",
                    f"From: {header(call, 'From')}",
                    f"To: {header(call, 'To')};tag=behindproxy",
                    f"Call-ID: {header(call, 'Call-ID')}",
                    f"CSeq: {header(call, 'CSeq')}",
                    f"Contact: <sip:1001@{UNREACHABLE}>",
                    "Content-Type: application/sdp",
                    f"Content-Length: {len(body)}",
                    "",
                    "",
                ]
            ).encode()
            await phone.probe.send(answer + body, gateway)
            ack = await receive(proxy, b"ACK ")
            assert ack.startswith(f"ACK sip:1001@{UNREACHABLE} SIP/2.0".encode())
            assert headers_named(ack, "Route") == [route]
            await console.next_message("call.connected")
            bye = await receive(proxy, b"BYE ")  # the caller hung up after 1.5 s
            assert headers_named(bye, "Route") == [route]
            await proxy.send(
                "\r\n".join(
                    [
                        "SIP/2.0 200 OK",
                        *(f"Via: {v}" for v in headers_named(bye, "Via")),
                        *(f"{n}: {header(bye, n)}" for n in ("From", "To", "Call-ID", "CSeq")),
                        "Content-Length: 0",
                        "",
                        "",
                    ]
                ).encode(),
                gateway,
            )
            await console.next_message("call.ended")
            await console.ws.close()
        assert (await caller.wait(60))[0] == 0
    finally:
        phone.probe.close()
        proxy.close()
