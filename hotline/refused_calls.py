"""Callers the gateway turned away (queue full, draining, no RTP port): recorded as calls that
were offered and never answered, so "offered" and 接通率 include exactly the overload calls,
and put on the missed-call list to be called back (漏接电话回拨)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.models import Call, CallEvent, MissedCall
from hotline.privacy import mask_phone
from reports.calls import REFUSED_PREFIX
from telephony.events import CallRefused

# A refused call's end_reason: refused-queue-full, refused-draining, refused-no-ports; reports
# count every end_reason with this prefix as refused (reports/calls.py).
__all__ = ["REFUSED_PREFIX", "record_refused"]


def record_refused(event: CallRefused) -> Callable[[AsyncSession], Awaitable[None]]:
    """A switchboard write job: the call row, its one event and, if it can be, a callback."""

    async def job(db: AsyncSession) -> None:
        db.add(
            Call(
                id=event.call_id,
                sip_call_id=event.sip_call_id[:255],
                dialled=event.dialled,
                queue=event.queue,
                caller=event.caller[:64],
                state="ended",
                codec="",
                arrived_at=event.at,
                ended_at=event.at,
                end_reason=f"{REFUSED_PREFIX}{event.reason}",
                rtp_from_caller=0,
                rtp_to_caller=0,
            )
        )
        await db.flush()
        db.add(
            CallEvent(
                call_id=event.call_id,
                kind="refused",
                at=event.at,
                detail={
                    "reason": event.reason,
                    "status": event.status,
                    "caller": mask_phone(event.caller),
                },
            )
        )
        if event.caller.lstrip("+").isdigit():  # an anonymous caller cannot be called back
            db.add(
                MissedCall(
                    call_id=event.call_id,
                    kind="refused",
                    number=event.caller[:64],
                    queue=event.queue,
                    missed_at=event.at,
                    status="open",
                    updated_at=event.at,
                )
            )

    return job
