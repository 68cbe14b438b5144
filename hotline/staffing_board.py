"""The staffing gap of a day, fed from the call log, the roster and the open cases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.case_scheduler import REMINDER_STATES
from hotline.duty import DutyRoster
from hotline.models import Call, Ticket
from routing.staffing_gap import StaffingGap, StaffingTarget, past_weekdays, staffing_gap


class StaffingBoard:
    """Reads what the pure `staffing_gap` needs for one day."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        duty: DutyRoster,
        target: StaffingTarget,
        timezone: str,
    ) -> None:
        self._sessions = sessions
        self._duty = duty
        self.target = target
        self._zone = ZoneInfo(timezone)

    async def gap(self, day: date, now: datetime) -> StaffingGap:
        read = past_weekdays(day, now, self._zone, self.target.weeks)
        start = datetime.combine(min(read), time(), self._zone)
        end = datetime.combine(max(read) + timedelta(days=1), time(), self._zone)
        day_start = datetime.combine(day, time(), self._zone)
        day_end = day_start + timedelta(days=1)
        async with self._sessions() as db:
            arrivals = (
                await db.scalars(
                    select(Call.arrived_at).where(Call.arrived_at >= start, Call.arrived_at < end)
                )
            ).all()
            deadlines = (
                await db.scalars(
                    select(Ticket.deadline).where(
                        Ticket.status.in_([s.value for s in REMINDER_STATES]),
                        Ticket.deadline >= day_start,
                        Ticket.deadline < day_end,
                    )
                )
            ).all()
        return staffing_gap(
            day,
            now,
            self._zone,
            self.target,
            arrivals,
            self._duty.roster.rostered_per_hour(day),
            [d for d in deadlines if d is not None],
        )
