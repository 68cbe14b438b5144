"""Stores the hand-worked month (tests/reports/month_fixture.py) as calls and tickets."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import Agent, Call, Ticket
from tests.reports.month_fixture import CALLS, CASES

VOICEMAIL_CALL = "c6"  # case C came from this voicemail


async def store_month(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        for agent in ("1001", "1002"):
            db.add(
                Agent(
                    id=agent,
                    name=f"坐席{agent}",
                    role="agent",
                    password_hash="x",
                    sip_ha1="0" * 32,
                    sip_realm="test",
                    created_at=now,
                )
            )
        await db.flush()
        for call in CALLS:
            db.add(
                Call(
                    id=call.call_id,
                    sip_call_id=f"sip-{call.call_id}",
                    dialled=call.hotline,
                    queue=call.queue,
                    caller="13800138000",
                    state="ended",
                    agent_id=call.agent_id,
                    codec="PCMU",
                    arrived_at=call.arrived_at,
                    connected_at=call.connected_at,
                    ended_at=call.ended_at,
                    end_reason=call.end_reason,
                )
            )
        await db.flush()
        for case in sorted(CASES, key=lambda c: c.merged_into is not None):
            db.add(
                Ticket(
                    number=case.number,
                    hotline="12319" if case.source in ("voicemail", "callback") else case.source,
                    call_id=VOICEMAIL_CALL if case.source == "voicemail" else None,
                    caller_name="",
                    phone="13800138000",
                    address="某区某路",
                    description="测试工单",
                    department_code=case.department or "SANITATION",
                    category_code=case.category,
                    created_at=case.accepted_at,
                    merged_into=case.merged_into,
                )
            )
            await db.flush()
