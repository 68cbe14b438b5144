"""Tickets (工单): validating the agent's form, numbering, saving with the forwarding outbox."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases import OPEN_STATES, DeadlinePolicy, WorkingCalendar
from hotline.access import Guarded
from hotline.case_log import CaseLog
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
    "emergency_service": 8,
}
TICKET_NUMBER = re.compile(r"^[0-9A-Za-z]+-[0-9]{8}-[0-9]{4,}$")
# Tickets that are still being handled: a repeat report can be merged into one of these.
OPEN = "accepted"
OPEN_STATUSES = frozenset(state.value for state in OPEN_STATES)
MERGED = "merged"
DRAFT = "draft"  # a voicemail not yet completed by an agent
EMERGENCY_SERVICES = ("110", "119", "120", "122")
SOURCES = frozenset({"12319", "96198", "12345", "voicemail", "callback"})
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
    # 保密: the caller's identity stays with the taking agent and leads, out of the payload.
    confidential: bool = False
    # Where it came from (12319, 96198, 12345, voicemail, callback); "" means the hotline.
    source: str = ""
    # The 12345 platform's number of a transferred case.
    external_number: str | None = None
    # 110/119/120/122: the caller was handed to that emergency service.
    emergency_service: str | None = None


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
    confidential = data.get("confidential", False)
    if not isinstance(confidential, bool):
        raise TicketError("invalid-field", "confidential must be true or false", "confidential")
    source = _text(data, "source", required=False)
    if source and source not in SOURCES:
        raise TicketError(
            "invalid-field", f"source must be one of {', '.join(sorted(SOURCES))}", "source"
        )
    emergency = _text(data, "emergency_service", required=False) or None
    if emergency is not None and emergency not in EMERGENCY_SERVICES:
        raise TicketError(
            "invalid-field",
            f"emergency_service must be one of {', '.join(EMERGENCY_SERVICES)}",
            "emergency_service",
        )
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
        confidential=confidential,
        source=source,
        emergency_service=emergency,
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
        "source": ticket.source or ticket.hotline,
        "external_number": ticket.external_number,
        "confidential": ticket.confidential,
        "emergency_service": ticket.emergency_service,
    }


def ticket_guard(ticket: Ticket, workers: frozenset[str] = frozenset()) -> Guarded:
    """The ticket as the access policy sees it: a voicemail's draft waits for any agent; the
    agent working its 回访 is one of its workers."""
    return Guarded(
        "ticket",
        ticket.created_by,
        workers=workers,
        pool=ticket.created_by is None and ticket.status == DRAFT,
    )


def case_payload(ticket: Ticket, deadline: datetime | None = None) -> dict[str, Any]:
    """What the dispatch core receives for a case; a 保密 case carries no caller identity."""
    payload = {
        **ticket_fields(ticket),
        "channel": "hotline",
        "accepted_at": ticket.created_at.isoformat(),
        "agent_id": ticket.created_by,
        "deadline": None if deadline is None else deadline.isoformat(),
    }
    if ticket.confidential:
        payload["caller_name"] = ""
        payload["phone"] = ""
        payload["call_id"] = None
    return payload


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
    if target.status not in OPEN_STATUSES or target.status == MERGED:
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
        cases: CaseLog | None = None,
    ) -> None:
        self._sessions = sessions
        self._zone = ZoneInfo(timezone)
        self._classifier = classifier
        self.cases = cases or CaseLog(
            sessions, DeadlinePolicy(WorkingCalendar(timezone)), lambda: datetime.now(UTC)
        )

    async def _next_sequence(self, db: AsyncSession, hotline: str, day: str) -> int:
        return await next_sequence(db, hotline, day)

    async def save(self, draft: TicketDraft, agent_id: str | None, now: datetime) -> Ticket:
        """Number and store the ticket and its forwarding job atomically."""
        day = now.astimezone(self._zone).strftime("%Y%m%d")
        classifier = self._classifier
        suggestion = classifier.classify(draft.description) if classifier is not None else None
        for attempt in range(NUMBER_RETRIES):
            try:
                async with self._sessions.begin() as db:
                    call = None if draft.call_id is None else await db.get(Call, draft.call_id)
                    if draft.call_id is not None and call is None:
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
                        source=draft.source or draft.hotline,
                        confidential=draft.confidential,
                        external_number=draft.external_number,
                        emergency_service=draft.emergency_service,
                        # Answered before the ticket was saved (in wrap-up): kept with it.
                        survey=None if call is None else call.survey,
                    )
                    db.add(ticket)
                    await db.flush()
                    case = self.cases.open(db, ticket, agent_id or ticket.source, now)
                    if target is None:
                        db.add(
                            OutboxMessage(
                                ticket_id=ticket.id,
                                idempotency_key=ticket.number,
                                payload=case_payload(ticket, case.deadline),
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

    async def complete_draft(
        self, number: str, draft: TicketDraft, agent_id: str, now: datetime
    ) -> Ticket:
        """A voicemail draft completed by an agent becomes a case and is forwarded, keeping
        its number, call and recording; TicketError if it is no longer a draft."""
        async with self._sessions.begin() as db:
            ticket = await db.scalar(
                select(Ticket).where(Ticket.number == number).with_for_update()
            )
            if ticket is None:
                raise TicketError("unknown-ticket", f"no draft {number}")
            if ticket.status != DRAFT:
                raise TicketError("not-a-draft", f"{number} is already a case ({ticket.status})")
            ticket.caller_name = draft.caller_name
            ticket.phone = draft.phone
            ticket.address = draft.address
            ticket.description = draft.description
            ticket.department_code = draft.department_code
            ticket.category_code = draft.category_code
            ticket.urgent = draft.urgent
            ticket.confidential = draft.confidential
            ticket.emergency_service = draft.emergency_service
            ticket.created_by = agent_id
            case = self.cases.open(db, ticket, agent_id, now)
            db.add(
                OutboxMessage(
                    ticket_id=ticket.id,
                    idempotency_key=ticket.number,
                    payload=case_payload(ticket, case.deadline),
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            return ticket

    async def by_external_number(self, external_number: str) -> Ticket | None:
        async with self._sessions() as db:
            return await db.scalar(select(Ticket).where(Ticket.external_number == external_number))

    async def numbers_for_phone(self, phone: str, limit: int = 20) -> list[str]:
        """The caller's tickets, newest first (查询进度 while the phone rings)."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(Ticket.number)
                .where(Ticket.phone == phone, Ticket.status != "draft")
                .order_by(Ticket.created_at.desc())
                .limit(limit)
            )
            return list(rows.all())

    async def get(self, number: str) -> Ticket | None:
        async with self._sessions() as db:
            return await db.scalar(select(Ticket).where(Ticket.number == number))

    async def delivery(self, ticket_id: int) -> OutboxMessage | None:
        async with self._sessions() as db:
            return await db.scalar(
                select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)
            )
