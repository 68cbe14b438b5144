"""A phone behind NAT: its REGISTER and its answers name a private address it cannot be
reached at; the gateway calls it where its REGISTER came from, and the whole call (INVITE,
ACK, the phone's BYE) runs over that mapping. The phone is driven by hand over real UDP; the
caller is SIPp through the trunk."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import status_of
from tests.e2e.test_phone_registration import Phone, header
from tests.support.peers import open_console, start_caller
from tests.support.sipp import free_ports

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PRIVATE = "192.168.1.20:5060"  # what the phone believes its address is


async def next_request(phone: Phone, method: str) -> bytes:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(30):
        while True:
            data, _ = await loop.sock_recvfrom(phone.probe.sock, 65535)
            if data.startswith(method.encode() + b" "):
                return data


async def test_a_phone_behind_nat_rings_answers_and_hangs_up(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    phone = Phone(hotline, "1001")
    gateway = hotline.sip_address
    try:
        registered = await phone.register_with("sip-1001-secret", [f"<sip:1001@{PRIVATE}>"])
        assert status_of(registered) == 200
        async with aiohttp.ClientSession() as http:
            console = await open_console(hotline, http, "1001")
            await console.go_ready()
            caller = await start_caller(hotline, tmp_path, 1, free_ports(4), "caller_hears_bye.xml")
            invite = await next_request(phone, "INVITE")
            assert invite.startswith(f"INVITE sip:1001@{PRIVATE} SIP/2.0".encode())
            host, port = phone.probe.address
            body = (
                f"v=0\r\no=- 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
                f"m=audio {port + 2} RTP/AVP 8 0\r\n"
            ).encode()
            to = header(invite, "To") + ";tag=natphone"
            answer = "\r\n".join(
                [
                    "SIP/2.0 200 OK",
                    *(f"Via: {v}" for v in re.findall(r"(?im)^Via:\s*(.+?)\r$", invite.decode())),
                    f"From: {header(invite, 'From')}",
                    f"To: {to}",
                    f"Call-ID: {header(invite, 'Call-ID')}",
                    f"CSeq: {header(invite, 'CSeq')}",
                    f"Contact: <sip:1001@{PRIVATE}>",
                    "Content-Type: application/sdp",
                    f"Content-Length: {len(body)}",
                    "",
                    "",
                ]
            ).encode()
            await phone.probe.send(answer + body, gateway)
            await next_request(phone, "ACK")  # reached the mapping, not the private Contact
            await console.next_message("call.connected")

            gateway_contact = header(invite, "Contact").strip("<>")
            bye = "\r\n".join(
                [
                    f"BYE {gateway_contact} SIP/2.0",
                    f"Via: SIP/2.0/UDP {PRIVATE};branch=z9hG4bKnatbye;rport",
                    f"From: {to}",
                    f"To: {header(invite, 'From')}",
                    f"Call-ID: {header(invite, 'Call-ID')}",
                    "CSeq: 1 BYE",
                    "Content-Length: 0",
                    "",
                    "",
                ]
            ).encode()
            assert status_of(await phone.ask(bye)) == 200
            ended = await console.next_message("call.ended")
            assert ended["reason"] == "agent-hangup"
            await console.ws.close()
        assert (await caller.wait(60))[0] == 0
    finally:
        phone.probe.close()
