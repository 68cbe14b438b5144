"""Agent phones' registrations written as they change and put back on start, on both databases:
a refresh moves the expiry, an unregister or a wildcard removes, an expired one is dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db import create_engine, session_factory
from hotline.models import PhoneBinding
from hotline.phone_bindings import record_binding, restore_bindings
from telephony.events import PhoneRegistered
from telephony.registrar import Registrar

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
PHONE = "sip:1001@10.0.0.5:5060"
SOFTPHONE = "sip:1001@10.0.0.6:5062;transport=tcp"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def apply(sessions: async_sessionmaker[AsyncSession], *events: PhoneRegistered) -> None:
    for event in events:
        async with sessions() as db, db.begin():
            await record_binding(event)(db)


async def stored(sessions: async_sessionmaker[AsyncSession]) -> dict[str, PhoneBinding]:
    async with sessions() as db:
        return {row.contact: row for row in (await db.scalars(select(PhoneBinding))).all()}


async def test_a_refresh_moves_the_expiry_and_the_mapping(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await apply(
        sessions,
        PhoneRegistered(T0, "1001", PHONE, 3600, ("203.0.113.7", 40000)),
        PhoneRegistered(T0 + timedelta(minutes=30), "1001", PHONE, 600, ("203.0.113.7", 40100)),
    )
    row = (await stored(sessions))[PHONE]
    assert (row.source_host, row.source_port) == ("203.0.113.7", 40100)
    assert row.expires_at == T0 + timedelta(minutes=40)
    assert row.registered_at == T0 + timedelta(minutes=30)


async def test_unregister_and_wildcard_remove(sessions: async_sessionmaker[AsyncSession]) -> None:
    await apply(
        sessions,
        PhoneRegistered(T0, "1001", PHONE, 3600, ("10.0.0.5", 5060)),
        PhoneRegistered(T0, "1001", SOFTPHONE, 3600, ("10.0.0.6", 5062)),
        PhoneRegistered(T0, "1002", "sip:1002@10.0.0.7", 3600, ("10.0.0.7", 5060)),
        PhoneRegistered(T0, "1001", PHONE, 0, ("10.0.0.5", 5060)),
    )
    assert set(await stored(sessions)) == {SOFTPHONE, "sip:1002@10.0.0.7"}
    await apply(sessions, PhoneRegistered(T0, "1001", "*", 0))
    assert set(await stored(sessions)) == {"sip:1002@10.0.0.7"}


async def test_restore_puts_back_the_live_ones_newest_first_and_drops_the_expired(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await apply(
        sessions,
        PhoneRegistered(T0, "1001", PHONE, 3600, ("10.0.0.5", 5060)),
        PhoneRegistered(T0 + timedelta(minutes=5), "1001", SOFTPHONE, 3600, ("10.0.0.6", 5062)),
        PhoneRegistered(T0, "1002", "sip:1002@10.0.0.7", 60, ("10.0.0.7", 5060)),
    )
    registrar = Registrar()
    now, loop_now = T0 + timedelta(minutes=10), 500.0
    assert await restore_bindings(sessions, registrar, now, loop_now) == 2
    phones = registrar.bindings("1001", loop_now)
    assert [b.contact for b in phones] == [SOFTPHONE, PHONE]  # most recently registered first
    assert phones[1].source == ("10.0.0.5", 5060)
    assert phones[1].expires_at == pytest.approx(loop_now + 50 * 60)
    assert registrar.bindings("1002", loop_now) == []
    assert set(await stored(sessions)) == {PHONE, SOFTPHONE}  # the expired row is gone
    # Kept bindings still expire on time on the loop's clock.
    later = [b.contact for b in registrar.bindings("1001", loop_now + 50 * 60)]
    assert later == [SOFTPHONE]
    assert registrar.bindings("1001", loop_now + 55 * 60) == []
