"""The post-call survey's answer (好差评) kept on the call and on the tickets taken on it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.models import Call, CallEvent, Ticket
from telephony.events import SurveyAnswered

log = logging.getLogger(__name__)


def record_survey(event: SurveyAnswered) -> Callable[[AsyncSession], Awaitable[None]]:
    """A switchboard write job: the outcome on the call, its tickets and the call's log.
    A ticket saved later copies it from the call (hotline/tickets.py)."""

    async def job(db: AsyncSession) -> None:
        call = await db.get(Call, event.call_id)
        if call is None:
            log.warning("survey of an unknown call", extra={"call": event.call_id})
            return
        call.survey, call.survey_at = event.outcome.value, event.at
        await db.execute(
            update(Ticket).where(Ticket.call_id == event.call_id).values(survey=event.outcome.value)
        )
        db.add(
            CallEvent(
                call_id=event.call_id,
                kind="survey",
                at=event.at,
                agent_id=call.agent_id,
                detail={"outcome": event.outcome.value, "key": event.key, "via": event.via},
            )
        )

    return job
