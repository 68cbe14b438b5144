"""Tickets (工单): validating the agent's form, numbering, saving with the forwarding outbox."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.access import Guarded
from hotline.models import Call, ClassifierFeedback, OutboxMessage, Ticket, TicketCounter
from nlp.classifier import Classification, Classifier
from nlp.model import TrainedModel

PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9\- ]{2,30}$")
LIMITS = {
    "caller_name": 100,
    "phone": 32,
    "address": 300,
    "description": 4000,
    "merge_into": 40,
}
TICKET_NUMBER = re.compile(r"^[0-9A-Za-z]+-[0-9]{8}-[0-9]{4,}$")
# Tickets that are still being handled: a repeat report can be merged into one of these.
OPEN = "accepted"
MERGED = "merged"
NUMBER_RETRIES = 5


class TicketError(ValueError):
    """A ticket request that cannot be honoured; `field` names the form field if there is one."""

    def __init__(self, error_id: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.field = field


@dataclass(frozen=True)
class TicketDraft:
    hotline: str
    call_id: str | None
    caller_name: str
    phone: str
    address: str
    description: str
    department_code: str
    category_code: str | None
    urgent: bool
    # 并单: the number of the open ticket this report repeats; it is kept under that one.
    merge_into: str | None = None


def _text(data: Mapping[str, Any], name: str, required: bool) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TicketError("invalid-field", f"{name} must be text", name)
    value = value.strip()
    if required and not value:
        raise TicketError("missing-field", f"{name} is required", name)
    if len(value) > LIMITS.get(name, 100):
        raise TicketError("invalid-field", f"{name} is longer than {LIMITS[name]} characters", name)
    return value


def parse_ticket_form(
    data: Mapping[str, Any], departments: Collection[str], hotlines: Collection[str]
) -> TicketDraft:
    """Check what the agent typed; raise TicketError naming the first bad field."""
    if not isinstance(data, Mapping):
        raise TicketError("invalid-body", "the ticket must be a JSON object")
    hotline = _text(data, "hotline", required=True)
    if hotline not in hotlines:
        raise TicketError(
            "invalid-field", f"hotline must be one of {', '.join(hotlines)}", "hotline"
        )
    phone = _text(data, "phone", required=True)
    if not PHONE_PATTERN.match(phone):
        raise TicketError("invalid-field", "phone must be a telephone number (digits)", "phone")
    department = _text(data, "department_code", required=True)
    if department not in departments:
        raise TicketError("invalid-field", f"unknown department {department}", "department_code")
    category = _text(data, "category_code", required=False) or None
    if category is not None and not re.fullmatch(r"[0-9]{4,8}", category):
        raise TicketError(
            "invalid-field", "category_code must be a directory code", "category_code"
        )
    urgent = data.get("urgent", False)
    if not isinstance(urgent, bool):
        raise TicketError("invalid-field", "urgent must be true or false", "urgent")
    call_id = data.get("call_id")
    if call_id is not None and (not isinstance(call_id, str) or len(call_id) > 36):
        raise TicketError("invalid-field", "call_id must be a call identifier", "call_id")
    merge_into = _text(data, "merge_into", required=False) or None
    if merge_into is not None and not TICKET_NUMBER.match(merge_into):
        raise TicketError("invalid-field", "merge_into must be a ticket number", "merge_into")
    return TicketDraft(
        hotline=hotline,
        call_id=call_id or None,
        caller_name=_text(data, "caller_name", required=False),
        phone=phone,
        address=_text(data, "address", required=True),
        description=_text(data, "description", required=True),
        department_code=department,
        category_code=category,
        urgent=urgent,
        merge_into=merge_into,
    )


def feedback_row(
    ticket: Ticket, suggestion: Classification, model: TrainedModel | None, now: datetime
) -> ClassifierFeedback:
    """Whether the agent kept what the classifier suggested for the ticket's description."""
    top = suggestion.departments[0].code
    category = suggestion.category.code if suggestion.category is not None else None
    return ClassifierFeedback(
        ticket_id=ticket.id,
        suggested_department=top,
        suggested_category=category,
        suggested_urgent=suggestion.urgent,
        department_accepted=top == ticket.department_code,
        category_accepted=category == ticket.category_code,
        urgent_accepted=suggestion.urgent == ticket.urgent,
        model_version=None if model is None else model.version[:80],
        created_at=now,
    )


def ticket_number(hotline: str, day: str, sequence: int) -> str:
    """Readable and unique: hotline, local date, sequence of the day (12319-20261123-0007)."""
    return f"{hotline}-{day}-{sequence:04d}"


def ticket_fields(ticket: Ticket) -> dict[str, Any]:
    """What the agent wrote, as the console and the dispatch core both see it."""
    return {
        "number": ticket.number,
        "hotline": ticket.hotline,
        "call_id": ticket.call_id,
        "caller_name": ticket.caller_name,
        "phone": ticket.phone,
        "address": ticket.address,
        "description": ticket.description,
        "department_code": ticket.department_code,
        "category_code": ticket.category_code,
        "urgent": ticket.urgent,
        "merged_into": ticket.merged_into,
    }


def ticket_guard(ticket: Ticket) -> Guarded:
    """The ticket as the access policy sees it: a voicemail's draft waits for any agent."""
    return Guarded(
        "ticket", ticket.created_by, pool=ticket.created_by is None and ticket.status == "draft"
    )


def case_payload(ticket: Ticket) -> dict[str, Any]:
    """What the dispatch core receives for a case."""
    return {
        **ticket_fields(ticket),
        "source": "hotline",
        "accepted_at": ticket.created_at.isoformat(),
        "agent_id": ticket.created_by,
    }


async def next_sequence(db: AsyncSession, hotline: str, day: str) -> int:
    """The next ticket sequence of the day for a hotline, within the caller's transaction."""
    bumped = await db.execute(
        update(TicketCounter)
        .where(TicketCounter.hotline == hotline, TicketCounter.day == day)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    )
    sequence = bumped.scalar_one_or_none()
    if sequence is not None:
        return sequence
    # First ticket of the day; a concurrent first insert makes this fail and the save retry.
    await db.execute(insert(TicketCounter).values(hotline=hotline, day=day, last=1))
    return 1


async def merge_target(db: AsyncSession, number: str) -> Ticket:
    """The open ticket a repeat report is merged into; TicketError if there is none."""
    target = await db.scalar(select(Ticket).where(Ticket.number == number))
    if target is None:
        raise TicketError("unknown-ticket", f"no ticket {number} to merge into", "merge_into")
    if target.status != OPEN:
        raise TicketError(
            "not-open", f"ticket {number} is {target.status}; only an open one", "merge_into"
        )
    return target


class TicketService:
    """Saves tickets; each save writes the outbox row (unless the ticket is merged into an
    open one) and what the classifier suggested, in the same transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        timezone: str,
        classifier: Classifier | None = None,
    ) -> None:
        self._sessions = sessions
        self._zone = ZoneInfo(timezone)
        self._classifier = classifier

    async def _next_sequence(self, db: AsyncSession, hotline: str, day: str) -> int:
        return await next_sequence(db, hotline, day)

    async def save(self, draft: TicketDraft, agent_id: str, now: datetime) -> Ticket:
        """Number and store the ticket and its forwarding job atomically."""
        day = now.astimezone(self._zone).strftime("%Y%m%d")
        classifier = self._classifier
        suggestion = classifier.classify(draft.description) if classifier is not None else None
        for attempt in range(NUMBER_RETRIES):
            try:
                async with self._sessions.begin() as db:
                    if draft.call_id is not None and await db.get(Call, draft.call_id) is None:
                        raise TicketError("unknown-call", "call_id names no call", "call_id")
                    target = None
                    if draft.merge_into is not None:
                        target = await merge_target(db, draft.merge_into)
                    sequence = await self._next_sequence(db, draft.hotline, day)
                    ticket = Ticket(
                        number=ticket_number(draft.hotline, day, sequence),
                        hotline=draft.hotline,
                        call_id=draft.call_id,
                        caller_name=draft.caller_name,
                        phone=draft.phone,
                        address=draft.address,
                        description=draft.description,
                        department_code=draft.department_code,
                        category_code=draft.category_code,
                        urgent=draft.urgent,
                        status=OPEN if target is None else MERGED,
                        created_by=agent_id,
                        created_at=now,
                        merged_into=None if target is None else target.number,
                    )
                    db.add(ticket)
                    await db.flush()
                    if target is None:
                        db.add(
                            OutboxMessage(
                                ticket_id=ticket.id,
                                idempotency_key=ticket.number,
                                payload=case_payload(ticket),
                                attempts=0,
                                next_attempt_at=now,
                                created_at=now,
                            )
                        )
                    if suggestion is not None and classifier is not None:
                        db.add(feedback_row(ticket, suggestion, classifier.model, now))
                return ticket
            except IntegrityError:
                if attempt == NUMBER_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def get(self, number: str) -> Ticket | None:
        async with self._sessions() as db:
            return await db.scalar(select(Ticket).where(Ticket.number == number))

    async def delivery(self, ticket_id: int) -> OutboxMessage | None:
        async with self._sessions() as db:
            return await db.scalar(
                select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)
            )
