"""The background pass that raises 催办 and 督办 and offers due 回访 to agents.

Everything it decides comes from the event log (`cases.machine.due_reminders`), and each
reminder it writes carries a key made of the case, the kind and the deadline it is for; the
key is unique in the table, so a restart, or two processes at once, never raise one twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases import CaseError, CaseEvent, CaseState, EventType
from cases.machine import due_reminders, next_reminder_at
from hotline.case_log import CaseLog, CaseRecord, UnknownCase
from hotline.models import Ticket
from hotline.tasks import stop_task

log = logging.getLogger(__name__)

REMINDER_STATES = (
    CaseState.ACCEPTED,
    CaseState.FORWARDED,
    CaseState.DISPATCHED,
    CaseState.HANDLING,
    CaseState.RETURNED,
)
# 催办 falls due at most this long before its deadline (one working day before it can be a
# fortnight away across the Spring Festival); cases further out are not loaded at all.
REMINDER_LOOKAHEAD = timedelta(days=16)
# Events after which the next reminder or 回访 may fall due at another time.
RESCHEDULING = frozenset(
    {
        EventType.EXTENSION_REQUESTED,
        EventType.REASSIGNED,
        EventType.VISIT_UNREACHED,
        EventType.VISIT_UNSATISFIED,
        EventType.RETURNED,
    }
)
OfferVisit = Callable[[str, str, str, int], bool]  # item id, queue, ticket, priority


def visit_item_id(number: str, attempt: int) -> str:
    return f"visit:{number}:{attempt}"


class CaseScheduler:
    """Wakes for the next reminder or 回访 due (at most `interval` apart) and acts on it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cases: CaseLog,
        clock: Callable[[], datetime],
        interval_seconds: float,
        queues: Mapping[str, str],
        offer_visit: OfferVisit,
        visit_priority: int,
    ) -> None:
        self._sessions = sessions
        self._cases = cases
        self._clock = clock
        self._interval = interval_seconds
        self._queues = queues
        self._offer_visit = offer_visit
        self._visit_priority = visit_priority
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def offer_visit_now(self, record: CaseRecord) -> None:
        """The core has just closed the case: offer its 回访 at once, not at the next pass."""
        self._offer(record)

    def _offer(self, record: CaseRecord) -> None:
        number = record.ticket.number
        queue = self._queues.get(record.ticket.hotline, record.ticket.hotline)
        item = visit_item_id(number, record.case.visit_attempts)
        self._offer_visit(item, queue, number, self._visit_priority)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="case-scheduler")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                next_due = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly away; try again next round
                log.exception("case scheduler pass failed")
                next_due = None
            delay = self._interval
            if next_due is not None:
                delay = max(0.05, min(delay, (next_due - self._clock()).total_seconds()))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def run_once(self) -> datetime | None:
        """Raise what is due now; return when the next thing falls due (None: nothing known)."""
        now = self._clock()
        async with self._sessions() as db:
            # Only cases whose deadline is near enough for a reminder to fall due before the
            # next pass; the others are reached by later passes (the projected deadline is
            # indexed with the state).
            numbers = (
                await db.scalars(
                    select(Ticket.number).where(
                        or_(
                            and_(
                                Ticket.status.in_([s.value for s in REMINDER_STATES]),
                                Ticket.deadline <= now + REMINDER_LOOKAHEAD,
                            ),
                            Ticket.status == CaseState.CALLBACK.value,
                        )
                    )
                )
            ).all()
        upcoming: list[datetime] = []
        for number in numbers:
            due = await self._case(number, now)
            if due is not None:
                upcoming.append(due)
        # A case not loaded falls within the lookahead at the latest then.
        upcoming.append(now + REMINDER_LOOKAHEAD / 2)
        return min(upcoming)

    async def _case(self, number: str, now: datetime) -> datetime | None:
        record = await self._cases.get(number)
        if record is None:
            return None
        case = record.case
        if case.state is CaseState.CALLBACK:
            at = case.next_visit_at
            if at is None:
                return None
            if at > now:
                return at
            self._offer(record)
            return None
        for kind in due_reminders(case, now):
            key = f"{number}/{kind.value}/{case.deadline.isoformat()}"
            try:
                await self._cases.record(
                    number,
                    CaseEvent(kind, now, "system", f"时限 {case.deadline.isoformat()}"),
                    dedupe_key=key,
                )
            except (CaseError, UnknownCase) as error:
                log.warning("reminder not raised", extra={"ticket": number, "error": str(error)})
        later = next_reminder_at(case)
        if later is not None and later <= now:
            later = now + timedelta(seconds=self._interval)
        return later
