"""The duty roster (排班): shifts, who is on which, the shift lead, skill and dialect seats.

Pure: every question takes `now`; times are read in the centre's timezone, and a shift that
spans midnight belongs to the day it started.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class RosterError(ValueError):
    """A roster that cannot be used; `error_id` is stable for API clients."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"  # 值班长: may let an agent off the roster go ready


@dataclass(frozen=True)
class DutyShift:
    name: str
    starts: time
    hours: int

    def start_on(self, day: date, zone: ZoneInfo) -> datetime:
        return datetime.combine(day, self.starts, zone)

    def covers(self, day: date, moment: datetime, zone: ZoneInfo) -> bool:
        start = self.start_on(day, zone)
        return start <= moment < start + timedelta(hours=self.hours)


THREE_BY_EIGHT = (
    DutyShift("早班", time(8), 8),
    DutyShift("中班", time(16), 8),
    DutyShift("夜班", time(0), 8),
)
TWO_BY_TWELVE = (DutyShift("白班", time(8), 12), DutyShift("夜班", time(20), 12))
PATTERNS = {"3x8": THREE_BY_EIGHT, "2x12": TWO_BY_TWELVE}


@dataclass(frozen=True)
class RosterEntry:
    day: date  # the day the shift starts
    shift: str
    agent_id: str
    role: Role = Role.AGENT
    skills: tuple[str, ...] = ()  # skill seats, e.g. 投诉 (queue names)
    dialects: tuple[str, ...] = ()  # dialect seats, e.g. 粤语


@dataclass(frozen=True)
class ReadyOverride:
    """A shift lead let an agent who is not on the current shift go ready (audited)."""

    agent_id: str
    lead_id: str
    at: datetime
    until: datetime
    reason: str


CSV_FIELDS = ("date", "shift", "agent_id", "role", "skills", "dialects")


class Roster:
    """Shifts of one pattern and who is on each, by day."""

    def __init__(
        self, shifts: Iterable[DutyShift], entries: Iterable[RosterEntry], timezone: str
    ) -> None:
        self.shifts = tuple(shifts)
        self.zone = ZoneInfo(timezone)
        names = {s.name for s in self.shifts}
        if len(names) != len(self.shifts):
            raise RosterError("duplicate-shift", "two shifts have the same name")
        if sum(s.hours for s in self.shifts) != 24:
            raise RosterError("shifts-not-24h", "the shifts must cover 24 hours exactly")
        self.entries = tuple(entries)
        for entry in self.entries:
            if entry.shift not in names:
                raise RosterError("unknown-shift", f"{entry.day}: no shift named {entry.shift}")

    @classmethod
    def of_pattern(cls, pattern: str, entries: Iterable[RosterEntry], timezone: str) -> Roster:
        if pattern not in PATTERNS:
            raise RosterError("unknown-pattern", f"shift pattern must be one of {list(PATTERNS)}")
        return cls(PATTERNS[pattern], entries, timezone)

    def current(self, now: datetime) -> tuple[date, DutyShift]:
        """The shift running at `now` and the day it started."""
        local = now.astimezone(self.zone)
        for day in (local.date(), local.date() - timedelta(days=1)):
            for shift in self.shifts:
                if shift.covers(day, local, self.zone):
                    return day, shift
        raise RosterError("no-shift", f"no shift covers {local.isoformat()}")

    def on_duty(self, now: datetime) -> list[RosterEntry]:
        day, shift = self.current(now)
        return [e for e in self.entries if e.day == day and e.shift == shift.name]

    def lead(self, now: datetime) -> str | None:
        leads = [e.agent_id for e in self.on_duty(now) if e.role is Role.LEAD]
        return leads[0] if leads else None

    def may_go_ready(
        self, agent_id: str, now: datetime, overrides: Iterable[ReadyOverride] = ()
    ) -> bool:
        """Only agents on the current shift, or let in by a lead's override still running."""
        if any(e.agent_id == agent_id for e in self.on_duty(now)):
            return True
        return any(o.agent_id == agent_id and o.at <= now < o.until for o in overrides)

    def override(self, agent_id: str, lead_id: str, now: datetime, reason: str) -> ReadyOverride:
        """A shift lead lets an agent go ready until the end of the current shift."""
        if not reason.strip():
            raise RosterError("reason-required", "an override needs a reason")
        day, shift = self.current(now)
        lead_on_duty = any(e.agent_id == lead_id and e.role is Role.LEAD for e in self.on_duty(now))
        if not lead_on_duty:
            raise RosterError("not-shift-lead", f"{lead_id} is not the lead of this shift")
        until = shift.start_on(day, self.zone) + timedelta(hours=shift.hours)
        return ReadyOverride(agent_id, lead_id, now, until, reason.strip())

    def seats(self, now: datetime) -> dict[str, list[str]]:
        """Skill and dialect seats on duty now: seat → agent ids."""
        seats: dict[str, list[str]] = {}
        for entry in self.on_duty(now):
            for seat in entry.skills + entry.dialects:
                seats.setdefault(seat, []).append(entry.agent_id)
        return seats

    def seat_skills(self, agent_id: str, now: datetime) -> dict[str, int]:
        """The agent's seats on the current shift as routing skills: seat → proficiency.

        A seat names a queue (a skill such as 96198, or a dialect queue such as 粤语),
        optionally with a proficiency after a colon ("96198:3"); without one it counts 1.
        """
        skills: dict[str, int] = {}
        for entry in self.on_duty(now):
            if entry.agent_id != agent_id:
                continue
            for seat in entry.skills + entry.dialects:
                name, _, level = seat.partition(":")
                skills[name.strip()] = int(level) if level.strip().isdigit() else 1
        return skills

    def seat_dialects(self, agent_id: str, now: datetime) -> frozenset[str]:
        """The dialect seats (方言席) the agent holds on the current shift, by queue name."""
        return frozenset(
            seat.partition(":")[0].strip()
            for entry in self.on_duty(now)
            if entry.agent_id == agent_id
            for seat in entry.dialects
        )

    def rostered_per_hour(self, day: date) -> dict[int, int]:
        """Agents (not counting leads) on duty in each local hour of `day`."""
        counts: dict[int, int] = {}
        for hour in range(24):
            moment = datetime.combine(day, time(hour), self.zone)
            counts[hour] = sum(1 for e in self.on_duty(moment) if e.role is Role.AGENT)
        return counts


def parse_csv(text: str) -> list[RosterEntry]:
    """Roster rows from CSV (header: date,shift,agent_id,role,skills,dialects; lists split
    by ';'). Any bad row refuses the whole file, naming the line, so nothing half-imports."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [f for f in CSV_FIELDS[:3] if f not in (reader.fieldnames or [])]
    if missing:
        raise RosterError("bad-csv", f"the header lacks {', '.join(missing)}")
    entries: list[RosterEntry] = []
    seen: set[tuple[date, str, str]] = set()
    for line, row in enumerate(reader, start=2):
        try:
            day = date.fromisoformat((row.get("date") or "").strip())
            role = Role((row.get("role") or "agent").strip() or "agent")
        except ValueError as error:
            raise RosterError("bad-csv", f"line {line}: {error}") from None
        shift = (row.get("shift") or "").strip()
        agent_id = (row.get("agent_id") or "").strip()
        if not shift or not agent_id:
            raise RosterError("bad-csv", f"line {line}: shift and agent_id are required")
        if (day, shift, agent_id) in seen:
            raise RosterError("bad-csv", f"line {line}: {agent_id} is twice on {day} {shift}")
        seen.add((day, shift, agent_id))
        entries.append(
            RosterEntry(
                day, shift, agent_id, role, _split(row.get("skills")), _split(row.get("dialects"))
            )
        )
    return entries


def to_csv(entries: Iterable[RosterEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for e in sorted(entries, key=lambda e: (e.day, e.shift, e.agent_id)):
        writer.writerow(
            [
                e.day.isoformat(),
                e.shift,
                e.agent_id,
                e.role.value,
                ";".join(e.skills),
                ";".join(e.dialects),
            ]
        )
    return out.getvalue()


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(";") if part.strip())
