"""The guard in front of the running gateway, over real UDP on loopback: a flooding address is
blocked while the trunk still calls, a scanner gets no answer, an oversize request gets 513."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, status_of
from tests.support.peers import start_caller
from tests.support.sipp import free_ports

LIMIT = 5
# A window far longer than any burst here, so the count does not depend on the test's speed.
GUARD = {"guard": {"requests_per_window": LIMIT, "window_seconds": 30.0, "block_seconds": 300.0}}

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("hotline_overrides", [GUARD]),
]


def options(
    probe: SipProbe, to: tuple[str, int], n: int, *, user_agent: str = "", pad: int = 0
) -> bytes:
    """An OPTIONS of its own transaction (Call-ID and branch by `n`)."""
    host, port = probe.address
    extra = f"User-Agent: {user_agent}\r\n" if user_agent else ""
    if pad:
        extra += "X-Padding: " + "a" * pad + "\r\n"
    return (
        f"OPTIONS sip:{to[0]}:{to[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-guard-{port}-{n};rport\r\n"
        f"From: <sip:probe@{host}>;tag=g{n}\r\nTo: <sip:{to[0]}>\r\n"
        f"Call-ID: guard-{port}-{n}\r\nCSeq: 1 OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
    ).encode()


def received(probe: SipProbe) -> list[bytes]:
    """Whatever has arrived on the probe's socket so far."""
    got = []
    while True:
        try:
            data, _ = probe.sock.recvfrom(65535)
        except BlockingIOError:
            return got
        got.append(data)


async def handled(trunk: SipProbe, gateway: tuple[str, int]) -> None:
    """Every datagram sent so far has been through the gateway: its one socket takes them in
    order, so the trunk's OPTIONS being answered means all earlier ones were handled."""
    assert await trunk.responses_until_sentinel(gateway) == []


async def metrics(hotline: RunningHotline) -> str:
    async with aiohttp.ClientSession() as http, http.get(hotline.url("/metrics")) as response:
        assert response.status == 200
        return await response.text()


async def test_a_flooding_address_is_blocked_while_the_trunk_still_completes_a_call(
    hotline: RunningHotline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="telephony.transport")
    gateway = hotline.sip_address
    flooder = SipProbe("127.0.0.2")
    trunk = SipProbe()  # 127.0.0.1, the configured trunk peer
    sent = 0

    async def flood(count: int, pause: float = 0.0) -> None:
        nonlocal sent
        for _ in range(count):
            await flooder.send(options(flooder, gateway, sent + 1), gateway)
            sent += 1
            await asyncio.sleep(pause)  # pacing the flood, not waiting for anything

    try:
        await flood(4 * LIMIT)
        await handled(trunk, gateway)
        answers = received(flooder)
        assert [status_of(a) for a in answers] == [200] * LIMIT
        assert hotline.system.gateway.running

        # A citizen calls through the trunk (SIPp) while the flood goes on; the call completes.
        flooding = asyncio.create_task(flood(400, pause=0.005))
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), talk_ms=1000)
        code, output = await caller.wait(60)
        assert code == 0, output
        flooding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flooding
        await handled(trunk, gateway)
        assert received(flooder) == []  # not one answer to the blocked address
        assert sent > 4 * LIMIT + 10
    finally:
        flooder.close()
        trunk.close()

    blocks = [r for r in caplog.records if r.getMessage() == "sip source blocked"]
    assert [getattr(r, "source", None) for r in blocks] == ["127.0.0.2"]  # once, not per packet
    text = await metrics(hotline)
    assert 'hotline_sip_guard_dropped_total{reason="rate"} 1.0' in text
    assert f'hotline_sip_guard_dropped_total{{reason="blocked"}} {sent - LIMIT - 1}.0' in text
    assert "hotline_sip_guard_blocks_total 1.0" in text
    assert "hotline_sip_guard_blocked_sources 1.0" in text


async def test_a_scanner_gets_no_answer_and_the_next_normal_request_does(
    hotline: RunningHotline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="telephony.transport")
    gateway = hotline.sip_address
    scanner = SipProbe("127.0.0.3")
    other = SipProbe("127.0.0.4")
    try:
        await scanner.send(options(scanner, gateway, 1, user_agent="friendly-scanner"), gateway)
        await scanner.send(options(scanner, gateway, 2, user_agent="sipvicious 0.3.4"), gateway)
        # The sentinel (no User-Agent) from the same address is answered: a scanner's datagram
        # drops only itself, or anyone forging an address could have it blocked.
        assert await scanner.responses_until_sentinel(gateway) == []
        await other.send(options(other, gateway, 1, user_agent="Yealink SIP-T46U"), gateway)
        answers = await other.responses_until_sentinel(gateway)
        assert [status_of(a) for a in answers] == [200]
    finally:
        scanner.close()
        other.close()
    assert 'hotline_sip_guard_dropped_total{reason="scanner"} 2.0' in await metrics(hotline)
    # Not only a metric: each drop is logged (a few a minute) with source and User-Agent.
    dropped = [r for r in caplog.records if r.getMessage() == "sip scanner dropped"]
    assert [(r.source, r.user_agent) for r in dropped] == [  # type: ignore[attr-defined]
        ("127.0.0.3", "friendly-scanner"),
        ("127.0.0.3", "sipvicious 0.3.4"),
    ]


async def test_an_oversize_request_gets_513_an_oversize_response_nothing_and_service_goes_on(
    hotline: RunningHotline,
) -> None:
    gateway = hotline.sip_address
    trunk = SipProbe()
    try:
        big = options(trunk, gateway, 1, pad=9000)
        assert len(big) > hotline.system.config.guard.max_message_bytes
        await trunk.send(big, gateway)
        answers = await trunk.responses_until_sentinel(gateway)
        assert [status_of(a) for a in answers] == [513]
        assert b"Call-ID: guard-" in answers[0] and len(answers[0]) < 1000

        await trunk.send(b"SIP/2.0 200 OK\r\nX-Padding: " + b"a" * 9000 + b"\r\n\r\n", gateway)
        ack = big.replace(b"OPTIONS sip:", b"ACK sip:", 1).replace(b"1 OPTIONS", b"1 ACK")
        await trunk.send(ack, gateway)
        assert await trunk.responses_until_sentinel(gateway) == []

        await trunk.send(options(trunk, gateway, 2), gateway)
        answers = await trunk.responses_until_sentinel(gateway)
        assert [status_of(a) for a in answers] == [200]
    finally:
        trunk.close()
    assert 'hotline_sip_guard_dropped_total{reason="oversize"} 3.0' in await metrics(hotline)
