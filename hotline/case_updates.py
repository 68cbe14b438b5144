"""Pushes each applied case event to the consoles that follow the case."""

from __future__ import annotations

from typing import Any

from agent_console.notifier import Notifier
from cases.events import LABELS as EVENT_LABELS
from cases.events import EventType
from cases.states import LABELS as STATE_LABELS
from hotline.case_log import Appended

# Events shift leads are told of at once (the dead-letter list and reminders need a person).
FOR_LEADS = frozenset(
    {EventType.URGED, EventType.SUPERVISED, EventType.RETURNED, EventType.VISIT_UNSATISFIED}
)


class CaseUpdates:
    """`case.updated` to the taking agent and to leads; 催办/督办 also as `case.reminder`."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    def publish(self, appended: Appended) -> None:
        if appended.duplicate:
            return
        ticket, case, event = appended.record.ticket, appended.record.case, appended.event
        deadline = case.current_deadline
        message: dict[str, Any] = {
            "type": "case.updated",
            "ticket": ticket.number,
            "event": event.type.value,
            "event_label": EVENT_LABELS[event.type],
            "at": event.at.isoformat(),
            "state": case.state.value,
            "state_label": STATE_LABELS[case.state],
            "deadline": None if deadline is None else deadline.isoformat(),
        }
        if ticket.created_by:
            self._notifier.to_agent(ticket.created_by, message)
        self._notifier.to_leads(message)
        if event.type in FOR_LEADS:
            self._notifier.to_leads({**message, "type": "case.reminder"})
