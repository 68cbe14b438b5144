"""How a case looks to the console: the ticket, its derived state, deadline and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cases.events import LABELS as EVENT_LABELS
from cases.events import EventType
from cases.states import LABELS as STATE_LABELS
from hotline.case_log import CaseRecord
from hotline.privacy import mask_address, mask_phone
from hotline.tickets import ticket_fields
from telephony.survey_rules import outcome_label


def case_json(record: CaseRecord, now: datetime, delivered: bool | None) -> dict[str, Any]:
    """The ticket view: what was written, where the case stands, and every event, oldest first."""
    ticket, case = record.ticket, record.case
    deadline = case.current_deadline
    return {
        **ticket_fields(ticket),
        "status": ticket.status,
        "created_by": ticket.created_by,
        "created_at": ticket.created_at.isoformat(),
        "forwarded": delivered,
        "state": case.state.value,
        "state_label": STATE_LABELS[case.state],
        "deadline": None if deadline is None else deadline.isoformat(),
        "handling_deadline": case.deadline.isoformat(),
        "overdue": case.overdue(now),
        "forward_overdue": case.forward_overdue(now),
        "time_limit": case.limit.describe(),
        "department": case.department,
        "extensions": case.extensions,
        "returns": case.returns,
        "reopened": case.reopened,
        "handled_on_time": case.handled_on_time,
        "visit_attempts": case.visit_attempts,
        "next_visit_at": None if case.next_visit_at is None else case.next_visit_at.isoformat(),
        "satisfaction": None if case.satisfaction is None else case.satisfaction.value,
        # The caller's own rating of the call (好差评), pressed after the agent hung up.
        "survey": ticket.survey,
        "survey_label": outcome_label(ticket.survey),
        "events": [
            {
                "type": row.type,
                "label": EVENT_LABELS[EventType(row.type)],
                "at": row.at.isoformat(),
                "by": row.by,
                "reason": row.reason,
                "from": row.from_state,
                "to": row.to_state,
                "department": row.department,
                "new_deadline": None if row.new_deadline is None else row.new_deadline.isoformat(),
            }
            for row in record.events
        ],
    }


def case_summary(record: CaseRecord, now: datetime) -> dict[str, Any]:
    """One line of a list (a caller's earlier tickets): masked number and address."""
    ticket, case = record.ticket, record.case
    deadline = case.current_deadline
    return {
        "number": ticket.number,
        "created_at": ticket.created_at.isoformat(),
        "state": case.state.value,
        "state_label": STATE_LABELS[case.state],
        "deadline": None if deadline is None else deadline.isoformat(),
        "overdue": case.overdue(now),
        "phone": mask_phone(ticket.phone),
        "address": mask_address(ticket.address),
        "description": ticket.description[:80],
        "department_code": ticket.department_code,
        "confidential": ticket.confidential,
    }
