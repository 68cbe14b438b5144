"""`hotline roster` (import, export, show, who-is-on) and `hotline staffing --roster`."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from hotline.config import HotlineConfig
    from hotline.duty import DutyRoster


def _moment(text: str | None, timezone: str) -> datetime:
    """--at in ISO form; a time without a zone is read in the centre's timezone."""
    if text is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _show(duty: DutyRoster, now: datetime, who_only: bool) -> str:
    from routing.holidays import holiday_name

    roster = duty.roster
    day, shift = roster.current(now)
    on_duty = roster.on_duty(now)
    if who_only:
        return "".join(f"{e.agent_id}\n" for e in on_duty)
    holiday = holiday_name(day)
    lines = [f"{day} {shift.name} (from {shift.starts:%H:%M}, {shift.hours} h)"]
    if holiday:
        lines[0] += f"  rest day: {holiday}"
    for e in on_duty:
        seats = ", ".join(e.skills + e.dialects)
        lines.append(f"  {e.agent_id:<8} {e.role.value:<6} {seats}")
    if not on_duty:
        lines.append("  nobody is rostered")
    for o in duty.overrides:
        if o.at <= now < o.until:
            lines.append(f"  override: {o.agent_id} let in by {o.lead_id} until {o.until:%H:%M}")
    return "\n".join(lines) + "\n"


def cmd_roster(args: argparse.Namespace, config: HotlineConfig) -> int:
    from hotline.db import create_engine, session_factory
    from hotline.duty import DutyRoster
    from routing.roster import RosterError, parse_csv, to_csv

    async def run() -> int:
        engine = create_engine(config.database.url)
        duty = DutyRoster(
            session_factory(engine), config.routing.roster_pattern, config.centre.timezone
        )
        now = _moment(getattr(args, "at", None), config.centre.timezone)
        try:
            if args.action == "import":
                text = Path(args.file).read_text(encoding="utf-8")
                count = await duty.replace_days(parse_csv(text), datetime.now(UTC))
                print(f"imported {count} roster rows (the running service reads them within 30 s)")
                return 0
            await duty.reload(now)
            if args.action == "export":
                sys.stdout.write(to_csv(duty.roster.entries))
            else:
                sys.stdout.write(_show(duty, now, args.action == "who-is-on"))
            return 0
        except (RosterError, OSError, UnicodeDecodeError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_staffing_day(args: argparse.Namespace, config: HotlineConfig) -> int:
    """Per hour of one day: rostered vs needed agents and the simulated service level."""
    from routing.day_plan import parse_arrivals, plan_day
    from routing.roster import Roster, RosterError, parse_csv

    try:
        entries = parse_csv(Path(args.roster).read_text(encoding="utf-8"))
        roster = Roster.of_pattern(config.routing.roster_pattern, entries, config.centre.timezone)
        rng = random.Random(args.seed)
        arrivals = parse_arrivals(Path(args.arrivals).read_text(encoding="utf-8"), rng)
        if args.aht is None or args.aht <= 0:
            raise ValueError("--aht (seconds, > 0) is needed with --roster")
    except (RosterError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    day = min((e.day for e in entries), default=None) if args.day is None else args.day
    if day is None:
        print("error: the roster is empty", file=sys.stderr)
        return 2
    rostered = roster.rostered_per_hour(day)
    plans = plan_day(arrivals, rostered, args.aht, args.target_sl, args.target_seconds, rng)
    if args.json:
        print(json.dumps({"day": day.isoformat(), "hours": [vars(p) for p in plans]}))
        return 0
    print(f"{day}  AHT {args.aht:g} s, target {args.target_sl:.0%} in {args.target_seconds:g} s")
    print("hour  calls  rostered  needed  predicted SL  ASA")
    for p in plans:
        short = "  short" if p.rostered < p.needed else ""
        print(
            f"{p.hour:02d}    {p.calls:5d}  {p.rostered:8d}  {p.needed:6d}  "
            f"{p.service_level:12.1%}  {p.asa_seconds:5.1f} s{short}"
        )
    return 0


def add_roster_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = sub.add_parser("roster", help="the duty roster: import, export, show, who-is-on")
    actions = roster.add_subparsers(dest="action", required=True)
    load = actions.add_parser("import", help="replace the days in a CSV file")
    load.add_argument("file")
    actions.add_parser("export", help="write the roster as CSV to stdout")
    for name in ("show", "who-is-on"):
        action = actions.add_parser(name, help=f"{name} at a time (default: now)")
        action.add_argument("--at", help="ISO time; without a zone, the centre's local time")
