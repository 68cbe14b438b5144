"""A trunk that marks a call urgent (RFC 3261 Priority header) puts it ahead in the queue."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of
from tests.e2e.test_retransmitted_invite import in_dialog

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_an_emergency_call_waits_ahead_of_a_normal_one(hotline: RunningHotline) -> None:
    probe = SipProbe()
    gateway = hotline.sip_address
    try:
        await probe.send(invite(probe, gateway, call_id="normal-1"), gateway)
        # Another caller (the same one again would be served first as a repeat caller).
        urgent = (
            invite(probe, gateway, call_id="urgent-1")
            .replace(b"13900000000", b"13900000001")
            .replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nPriority: emergency\r\n")
        )
        await probe.send(urgent, gateway)
        # A call is queued once the trunk ACKs its 200 OK, as a trunk does.
        loop = asyncio.get_running_loop()
        answered: dict[bytes, bytes] = {}
        async with asyncio.timeout(10):
            while len(answered) < 2:
                data = (await loop.sock_recvfrom(probe.sock, 65535))[0]
                if status_of(data) == 200:
                    answered.setdefault(data.split(b"Call-ID: ")[1].split(b"\r\n")[0], data)
        for call_id in (b"normal-1", b"urgent-1"):
            await probe.send(in_dialog("ACK", 1, answered[call_id], probe.address, "UDP"), gateway)
        routing = hotline.system.switchboard.routing
        async with asyncio.timeout(10):
            while len(routing.waiting("12319")) < 2:
                await asyncio.sleep(0.05)
        waiting = routing.waiting("12319")
        sip_ids = {
            call.call_id: live.caller
            for call in waiting
            if (live := hotline.system.switchboard.calls.get(call.call_id)) is not None
        }
        assert len(sip_ids) == 2
        first, second = waiting
        assert first.rank < second.rank  # the emergency call, though it came second
        assert first.enqueued_at >= second.enqueued_at
    finally:
        probe.close()
