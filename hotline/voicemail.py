"""Voicemails: the call, its recording and a draft ticket an agent completes after listening."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import Call, Recording, Ticket
from hotline.privacy import mask_phone
from hotline.tickets import DRAFT, next_sequence, ticket_number
from telephony.events import VoicemailLeft


def draft_from_voicemail(
    event: VoicemailLeft, timezone: str
) -> Callable[[AsyncSession], Awaitable[None]]:
    """A switchboard write job: store the call, its recording and a draft ticket."""

    async def job(db: AsyncSession) -> None:
        db.add(
            Call(
                id=event.call_id,
                sip_call_id="",
                dialled=event.dialled,
                queue=event.queue,
                caller=event.caller,
                state="ended",
                codec="",
                arrived_at=event.at,
                ended_at=event.at,
                end_reason="voicemail",
                rtp_from_caller=0,
                rtp_to_caller=0,
            )
        )
        await db.flush()
        db.add(
            Recording(
                call_id=event.call_id,
                path=event.path,
                duration_seconds=event.duration_seconds,
                recorded_at=event.at,
            )
        )
        day = event.at.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")
        sequence = await next_sequence(db, event.dialled, day)
        db.add(
            Ticket(
                number=ticket_number(event.dialled, day, sequence),
                hotline=event.dialled,
                call_id=event.call_id,
                caller_name="",
                phone=event.caller,
                address="",
                description=f"语音留言（{event.reason}），请回听录音后补全工单。",
                department_code="",
                category_code=None,
                urgent=False,
                status=DRAFT,
                created_by=None,
                created_at=event.at,
                source="voicemail",
            )
        )

    return job


async def list_voicemails(
    sessions: async_sessionmaker[AsyncSession], limit: int = 100
) -> list[dict[str, Any]]:
    """Draft tickets from voicemails, newest first, phone numbers masked."""
    async with sessions() as db:
        rows = (
            await db.execute(
                select(Ticket, Recording.duration_seconds)
                .join(Recording, Recording.call_id == Ticket.call_id)
                .where(Ticket.status == DRAFT)
                .order_by(Ticket.created_at.desc())
                .limit(limit)
            )
        ).all()
    return [
        {
            "number": ticket.number,
            "hotline": ticket.hotline,
            "call_id": ticket.call_id,
            "phone": mask_phone(ticket.phone),
            "left_at": ticket.created_at.isoformat(),
            "duration_seconds": round(duration, 1),
            "recording": f"/api/calls/{ticket.call_id}/recording",
        }
        for ticket, duration in rows
    ]
