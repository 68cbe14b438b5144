"""The duty roster kept in the database: import/export, lead overrides (audited), and the
in-memory copy the switchboard asks "may this agent go ready now?" (re-read on every change)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import RosterEntryRow, RosterOverride
from routing.roster import ReadyOverride, Role, Roster, RosterEntry


class DutyRoster:
    """Loads the roster and the overrides still running; writes changes and reloads."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], pattern: str, timezone: str
    ) -> None:
        self._sessions = sessions
        self._pattern = pattern
        self._timezone = timezone
        self.roster = Roster.of_pattern(pattern, [], timezone)
        self.overrides: list[ReadyOverride] = []

    @property
    def enforced(self) -> bool:
        """With no roster rows at all, nobody is held back (a centre that does not roster)."""
        return bool(self.roster.entries)

    def may_go_ready(self, agent_id: str, now: datetime) -> bool:
        return not self.enforced or self.roster.may_go_ready(agent_id, now, self.overrides)

    async def reload(self, now: datetime) -> Roster:
        async with self._sessions() as db:
            rows = (await db.scalars(select(RosterEntryRow))).all()
            overrides = (
                await db.scalars(select(RosterOverride).where(RosterOverride.until > now))
            ).all()
        self.roster = Roster.of_pattern(self._pattern, [_entry(r) for r in rows], self._timezone)
        self.overrides = [
            ReadyOverride(o.agent_id, o.lead_id, o.at, o.until, o.reason) for o in overrides
        ]
        return self.roster

    async def replace_days(self, entries: Iterable[RosterEntry], now: datetime) -> int:
        """Import: the days present in `entries` are replaced as a whole, in one transaction."""
        entries = list(entries)
        Roster.of_pattern(self._pattern, entries, self._timezone)  # refuses unknown shifts
        days = {e.day for e in entries}
        async with self._sessions.begin() as db:
            if days:
                await db.execute(delete(RosterEntryRow).where(RosterEntryRow.day.in_(days)))
            db.add_all(
                RosterEntryRow(
                    day=e.day,
                    shift=e.shift,
                    agent_id=e.agent_id,
                    role=e.role.value,
                    skills=";".join(e.skills),
                    dialects=";".join(e.dialects),
                )
                for e in entries
            )
        await self.reload(now)
        return len(entries)

    async def assign(self, entry: RosterEntry, now: datetime) -> bool:
        """Put an agent on a shift of a day (or change their role and seats there).
        True when the agent was not on that shift before."""
        Roster.of_pattern(self._pattern, [entry], self._timezone)  # refuses unknown shifts
        async with self._sessions.begin() as db:
            row = await db.scalar(
                select(RosterEntryRow).where(
                    RosterEntryRow.day == entry.day,
                    RosterEntryRow.shift == entry.shift,
                    RosterEntryRow.agent_id == entry.agent_id,
                )
            )
            added = row is None
            if row is None:
                row = RosterEntryRow(day=entry.day, shift=entry.shift, agent_id=entry.agent_id)
                db.add(row)
            row.role = entry.role.value
            row.skills = ";".join(entry.skills)
            row.dialects = ";".join(entry.dialects)
        await self.reload(now)
        return added

    async def unassign(self, day: date, shift: str, agent_id: str, now: datetime) -> bool:
        """Take an agent off a shift of a day; False when they were not on it."""
        async with self._sessions.begin() as db:
            result = await db.execute(
                delete(RosterEntryRow).where(
                    RosterEntryRow.day == day,
                    RosterEntryRow.shift == shift,
                    RosterEntryRow.agent_id == agent_id,
                )
            )
        await self.reload(now)
        return bool(getattr(result, "rowcount", 0))

    def week(self, start: date) -> list[RosterEntry]:
        """The entries of the seven days from `start`."""
        end = start + timedelta(days=7)
        return [e for e in self.roster.entries if start <= e.day < end]

    async def override(
        self, agent_id: str, lead_id: str, now: datetime, reason: str
    ) -> ReadyOverride:
        await self.reload(now)
        granted = self.roster.override(agent_id, lead_id, now, reason)
        async with self._sessions.begin() as db:
            db.add(
                RosterOverride(
                    agent_id=granted.agent_id,
                    lead_id=granted.lead_id,
                    at=granted.at,
                    until=granted.until,
                    reason=granted.reason[:200],
                )
            )
        await self.reload(now)
        return granted

    async def audit(self, limit: int = 100) -> list[ReadyOverride]:
        async with self._sessions() as db:
            rows = (
                await db.scalars(
                    select(RosterOverride).order_by(RosterOverride.id.desc()).limit(limit)
                )
            ).all()
        return [ReadyOverride(o.agent_id, o.lead_id, o.at, o.until, o.reason) for o in rows]


def _entry(row: RosterEntryRow) -> RosterEntry:
    return RosterEntry(
        row.day,
        row.shift,
        row.agent_id,
        Role(row.role),
        tuple(s for s in row.skills.split(";") if s),
        tuple(d for d in row.dialects.split(";") if d),
    )
