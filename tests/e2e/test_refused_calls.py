"""A caller turned away for want of an RTP port is a call offered and not answered."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hotline.models import Call, MissedCall
from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def rtp_port() -> Iterator[int]:
    """An even loopback port held by another socket: the gateway's whole RTP range."""
    holders = []
    try:
        while True:
            holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            holders.append(holder)
            holder.bind(("127.0.0.1", 0))
            if holder.getsockname()[1] % 2 == 0:
                yield holder.getsockname()[1]
                return
    finally:
        for holder in holders:
            holder.close()


@pytest.fixture
def hotline_overrides(rtp_port: int) -> dict[str, dict[str, object]]:
    return {"sip": {"rtp_port_min": rtp_port, "rtp_port_max": rtp_port + 1}}


async def test_no_rtp_port_answers_503_and_records_a_refused_call(
    hotline: RunningHotline,
) -> None:
    probe = SipProbe()
    try:
        await probe.send(invite(probe, hotline.sip_address, call_id="noport"), hotline.sip_address)
        loop = asyncio.get_running_loop()
        statuses: list[int] = []
        async with asyncio.timeout(10):
            while not statuses or statuses[-1] < 200:
                data, _ = await loop.sock_recvfrom(probe.sock, 65535)
                if b"noport" in data:
                    statuses.append(status_of(data))
    finally:
        probe.close()
    assert statuses == [100, 503]
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = (await db.scalars(select(Call).where(Call.sip_call_id == "noport"))).one()
        missed = await db.get(MissedCall, call.id)
    assert call.end_reason == "refused-no-ports" and call.connected_at is None
    assert missed is not None and missed.kind == "refused" and missed.number == "13900000000"
