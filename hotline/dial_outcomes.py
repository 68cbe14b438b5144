"""What an unreachable citizen means for the task a click-to-call was for: 未接通.

A 回访 gets the VISIT_UNREACHED case event (the case machine schedules the next attempt or,
past the limit, closes the case) and its work item ends; a missed call is marked unreached
(through routing when the queue offered it, so the agent goes to wrap-up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases import CaseError, CaseEvent, EventType
from hotline import call_backs
from hotline.case_log import CaseLog, UnknownCase
from hotline.click_to_call import DialTask, Unreached
from hotline.switchboard import Switchboard
from routing import RoutingError

log = logging.getLogger(__name__)


def unreached_recorder(
    cases: CaseLog,
    switchboard: Switchboard,
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
) -> Unreached:
    async def record(task: DialTask, agent_id: str, reason: str) -> None:
        now = clock()
        if task.kind == "visit":
            event = CaseEvent(EventType.VISIT_UNREACHED, now, agent_id, f"回拨未接通（{reason}）")
            try:
                await cases.record(task.ref, event)
            except (CaseError, UnknownCase) as error:
                # Someone recorded an outcome meanwhile: theirs stands.
                log.warning("未接通 not recorded", extra={"ticket": task.ref, "error": str(error)})
                return
            switchboard.finish_visit(task.item_id)
            return
        try:
            switchboard.finish_callback(task.item_id, agent_id, reached=False)
        except RoutingError:
            # Taken from the list, not offered by the queue: only the list changes.
            async with sessions.begin() as db:
                await call_backs.mark(task.item_id, "unreached", agent_id, now)(db)

    return record
