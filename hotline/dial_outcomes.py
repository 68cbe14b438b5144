"""What a click-to-call means for the task it was for.

A 回访: the citizen unreachable is the VISIT_UNREACHED case event (the case machine schedules
the next attempt or, past the limit, closes the case) and its work item ends.
A missed call (漏话回拨): the agent is talking for routing while the dial runs; a conversation
closes the entry, a refusal records 未接通 and leaves it on the list for a retry, and when
nobody was called the agent keeps the entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from cases import CaseError, CaseEvent, EventType
from hotline.case_log import CaseLog, UnknownCase
from hotline.click_to_call import DialError, DialTask
from hotline.switchboard import Switchboard
from routing import RoutingError

log = logging.getLogger(__name__)


class TaskOutcomes:
    """The DialHooks of the running system."""

    def __init__(
        self, cases: CaseLog, switchboard: Switchboard, clock: Callable[[], datetime]
    ) -> None:
        self._cases = cases
        self._switchboard = switchboard
        self._clock = clock

    def started(self, task: DialTask, agent_id: str) -> None:
        if task.kind != "callback":
            return  # a 回访 is dialled by the agent it is offered to: already busy
        try:
            self._switchboard.callback_dial_started(task.item_id, agent_id, task.queue)
        except RoutingError as error:
            raise DialError(error.error_id, str(error)) from None

    def ended(
        self, task: DialTask, agent_id: str, outcome: str, reason: str
    ) -> Coroutine[Any, Any, None] | None:
        if task.kind == "callback":
            self._switchboard.callback_dial_ended(task.item_id, agent_id, outcome)
            return None
        if outcome == "citizen-unreached":
            return self._visit_unreached(task, agent_id, reason)
        return None

    async def _visit_unreached(self, task: DialTask, agent_id: str, reason: str) -> None:
        note = f"回拨未接通（{reason}）"
        event = CaseEvent(EventType.VISIT_UNREACHED, self._clock(), agent_id, note)
        try:
            await self._cases.record(task.ref, event)
        except (CaseError, UnknownCase) as error:
            # Someone recorded an outcome meanwhile: theirs stands.
            log.warning("未接通 not recorded", extra={"ticket": task.ref, "error": str(error)})
            return
        self._switchboard.finish_visit(task.item_id)
