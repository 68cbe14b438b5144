"""The registrar of agent phones against the running gateway, over real UDP: digest auth,
no account enumeration, stale nonces, several contacts, refresh, removal and keepalives."""

from __future__ import annotations

import asyncio
import re

import pytest

from telephony.digest import NonceIssuer
from telephony.digest_client import authorization, parse_challenge
from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, status_of

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


class Phone:
    """A hand-driven SIP phone: one REGISTER dialog, answers matched by CSeq."""

    def __init__(self, hotline: RunningHotline, user: str, port_tag: str = "a") -> None:
        self.probe = SipProbe()
        self.gateway = hotline.sip_address
        self.user = user
        self.call_id = f"reg-{user}-{port_tag}"
        self.cseq = 0

    def register(self, contacts: list[str], expires: int | None, auth: str | None) -> bytes:
        self.cseq += 1
        host, port = self.probe.address
        target = f"sip:{self.gateway[0]}:{self.gateway[1]}"
        lines = [
            f"REGISTER {target} SIP/2.0",
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{self.call_id}-{self.cseq};rport",
            f"From: <sip:{self.user}@{self.gateway[0]}>;tag=t{self.user}",
            f"To: <sip:{self.user}@{self.gateway[0]}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            *(f"Contact: {c}" for c in contacts),
            *([f"Expires: {expires}"] if expires is not None else []),
            *([f"Authorization: {auth}"] if auth else []),
            "User-Agent: test phone",
            "Content-Length: 0",
            "",
            "",
        ]
        return "\r\n".join(lines).encode()

    async def ask(self, data: bytes) -> bytes:
        """Send a request and wait (bounded) for the final answer to it."""
        cseq = re.search(rb"CSeq: (\d+)", data)
        assert cseq is not None
        await self.probe.send(data, self.gateway)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(10):
            while True:
                answer, _ = await loop.sock_recvfrom(self.probe.sock, 65535)
                if f"CSeq: {cseq.group(1).decode()} ".encode() in answer:
                    if status_of(answer) >= 200:
                        return answer

    async def register_with(
        self, password: str, contacts: list[str], expires: int | None = 300
    ) -> bytes:
        """REGISTER, answer the challenge with `password`, return the final answer."""
        challenge = await self.ask(self.register(contacts, expires, None))
        assert status_of(challenge) == 401
        uri = f"sip:{self.gateway[0]}:{self.gateway[1]}"
        auth = authorization(
            header(challenge, "WWW-Authenticate"), "REGISTER", uri, self.user, password
        )
        return await self.ask(self.register(contacts, expires, auth))


def header(message: bytes, name: str) -> str:
    match = re.search(rf"(?im)^{name}:\s*(.+?)\r$".encode(), message)
    assert match is not None, message
    return match.group(1).decode()


def without_volatile_parts(response: bytes) -> bytes:
    """A response with its nonce and the headers naming the request blanked, to compare."""
    response = re.sub(rb'nonce="[^"]*"', b'nonce=""', response)
    response = re.sub(rb";tag=[^;\r\n>]+", b"", response)
    response = re.sub(rb"(?m)^(Via|Call-ID|From|To):[^\r]*", rb"\1:", response)
    return re.sub(rb"CSeq: \d+", b"CSeq: n", response)


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    known, unknown = Phone(hotline, "1001"), Phone(hotline, "1999")
    try:
        wrong = await known.register_with("not-the-password", ["<sip:1001@127.0.0.1:5999>"])
        nobody = await unknown.register_with("sip-1999-secret", ["<sip:1999@127.0.0.1:5999>"])
        assert status_of(wrong) == status_of(nobody) == 401
        assert without_volatile_parts(wrong).replace(b"1001", b"X") == without_volatile_parts(
            nobody
        ).replace(b"1999", b"X")
        right = await known.register_with("sip-1001-secret", ["<sip:1001@127.0.0.1:5999>"])
        assert status_of(right) == 200
    finally:
        known.probe.close()
        unknown.probe.close()


async def test_a_stale_nonce_is_challenged_again_with_stale_true(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    phone = Phone(hotline, "1001")
    try:
        # A nonce the gateway really issued (same secret), but ten minutes ago.
        old = NonceIssuer(b"test-nonce-secret").issue(asyncio.get_running_loop().time() - 600)
        challenge = f'Digest realm="test.hotline", nonce="{old}", algorithm=MD5'
        uri = f"sip:{phone.gateway[0]}:{phone.gateway[1]}"
        auth = authorization(challenge, "REGISTER", uri, "1001", "sip-1001-secret")
        answer = await phone.ask(phone.register(["<sip:1001@127.0.0.1:5999>"], 300, auth))
        assert status_of(answer) == 401
        fresh = parse_challenge(header(answer, "WWW-Authenticate"))
        assert fresh["stale"].upper() == "TRUE" and fresh["nonce"] != old
    finally:
        phone.probe.close()


async def test_several_contacts_refresh_and_removal(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    desk, softphone = Phone(hotline, "1001", "desk"), Phone(hotline, "1001", "soft")
    registrar = hotline.system.gateway.registrar
    try:
        first = await desk.register_with("sip-1001-secret", ["<sip:1001@127.0.0.1:6001>"], 300)
        second = await softphone.register_with(
            "sip-1001-secret", ["<sip:1001@127.0.0.1:6002>"], 120
        )
        assert status_of(first) == status_of(second) == 200
        # The second answer lists every binding of the agent, each with its own expiry.
        listed = re.findall(rb"Contact: <([^>]+)>;expires=(\d+)", second)
        assert {c for c, _ in listed} == {b"sip:1001@127.0.0.1:6001", b"sip:1001@127.0.0.1:6002"}
        now = asyncio.get_running_loop().time()
        assert len(registrar.bindings("1001", now)) == 2

        refreshed = await desk.register_with("sip-1001-secret", ["<sip:1001@127.0.0.1:6001>"], 600)
        expiry = dict(re.findall(rb"Contact: <([^>]+)>;expires=(\d+)", refreshed))
        assert int(expiry[b"sip:1001@127.0.0.1:6001"]) > 300

        removed = await softphone.register_with("sip-1001-secret", ["<sip:1001@127.0.0.1:6002>"], 0)
        assert status_of(removed) == 200
        now = asyncio.get_running_loop().time()
        assert [b.contact for b in registrar.bindings("1001", now)] == ["sip:1001@127.0.0.1:6001"]
    finally:
        desk.probe.close()
        softphone.probe.close()
