"""REGISTER brute force against the running gateway, over real UDP (issue 10): 31 wrong
passwords and then the right one is refused, for a real and an unknown account alike, and
each lockout is logged with the account's name."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, status_of
from tests.e2e.test_phone_registration import Phone, without_volatile_parts

# The datagram guard would block 62 REGISTERs in a second from one address first: this tests
# the lockout behind it, which also catches guessing slower than any flood limit.
GUARD_OFF = {"guard": {"requests_per_window": 0}}

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("hotline_overrides", [GUARD_OFF]),
]


def phone_at(hotline: RunningHotline, user: str, address: str) -> Phone:
    phone = Phone(hotline, user, port_tag=address)
    phone.probe.close()
    phone.probe = SipProbe(address)
    return phone


async def guess(phone: Phone, wrong: int, then: str) -> list[bytes]:
    contact = [f"<sip:{phone.user}@{phone.probe.address[0]}:5999>"]
    answers = [await phone.register_with(f"guess-{n}", contact) for n in range(wrong)]
    return [*answers, await phone.register_with(then, contact)]


async def test_31_wrong_passwords_then_the_right_one_is_refused(
    hotline: RunningHotline, caplog: pytest.LogCaptureFixture
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    known = phone_at(hotline, "1001", "127.0.0.6")
    unknown = phone_at(hotline, "1999", "127.0.0.7")
    bystander = phone_at(hotline, "1002", "127.0.0.8")
    caplog.set_level(logging.WARNING, logger="telephony.registration")
    try:
        real = await guess(known, 31, "sip-1001-secret")
        fake = await guess(unknown, 31, "sip-1999-secret")
        # Another account from another address is not affected.
        fine = await bystander.register_with("sip-1002-secret", ["<sip:1002@127.0.0.8:5999>"])
    finally:
        for phone in (known, unknown, bystander):
            phone.probe.close()
    assert [status_of(a) for a in real] == [401] * 32
    assert status_of(fine) == 200
    registrar = hotline.system.gateway.registrar
    registered = registrar.registered_agents(asyncio.get_running_loop().time())
    assert "1001" not in registered and "1002" in registered
    # The answers for the real account and the unknown one are the same, locked or not.
    assert [status_of(a) for a in fake] == [401] * 32
    for mine, theirs in zip(real, fake, strict=True):
        assert without_volatile_parts(mine).replace(b"1001", b"X").replace(
            b"127.0.0.6", b"IP"
        ) == without_volatile_parts(theirs).replace(b"1999", b"X").replace(b"127.0.0.7", b"IP")
    lockouts = [r for r in caplog.records if r.getMessage() == "phone registration locked out"]
    assert sorted((r.account, r.scope) for r in lockouts) == [  # type: ignore[attr-defined]
        ("1001", "account"),
        ("1999", "account"),
    ]
