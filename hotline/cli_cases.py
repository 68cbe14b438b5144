"""`hotline cases deadline`: a deadline by the centre's working-day calendar."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.config import ConfigError, HotlineConfig


def add_cases_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cases = sub.add_parser("cases", help="work orders (工单): deadlines")
    actions = cases.add_subparsers(dest="action", required=True)
    deadline = actions.add_parser(
        "deadline", help="the deadline N working days (or H hours) after a start time"
    )
    deadline.add_argument(
        "--start", required=True, help="ISO datetime; without a zone, the centre's local time"
    )
    limit = deadline.add_mutually_exclusive_group(required=True)
    limit.add_argument("--working-days", type=int, help="working days (holidays and 调休 count)")
    limit.add_argument("--hours", type=float, help="clock hours (urgent limits)")


def cases_command(args: argparse.Namespace, config: HotlineConfig) -> int:
    """Print the deadline as an ISO datetime in the centre's timezone."""
    from cases.deadlines import TimeLimit
    from hotline.case_policy import deadline_policy

    try:
        policy = deadline_policy(config)
        start = datetime.fromisoformat(args.start)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError:
        print(f"error: --start {args.start!r} is not an ISO datetime", file=sys.stderr)
        return 2
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(config.centre.timezone))
    try:
        if args.working_days is not None:
            limit = TimeLimit(working_days=args.working_days)
        else:
            limit = TimeLimit(hours=args.hours)
    except ValueError:
        print("error: the limit must be a positive number", file=sys.stderr)
        return 2
    print(policy.deadline(start, limit).isoformat())
    return 0
