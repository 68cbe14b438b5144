"""`hotline audit` and `hotline config show`: what admins read, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from hotline.config import load_config, redacted


def _config_path(args: argparse.Namespace) -> str | None:
    return args.config or os.environ.get("HOTLINE_CONFIG") or None


def cmd_audit(args: argparse.Namespace) -> int:
    from hotline.audit import AuditEntry, AuditLog, Operator
    from hotline.db import create_engine, session_factory

    config = load_config(_config_path(args))
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print("error: --since must be an ISO time", file=sys.stderr)
            return 2
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)

    async def run() -> list[AuditEntry]:
        engine = create_engine(config.database.url)
        try:
            log = AuditLog(session_factory(engine))
            found = await log.entries(since, args.actor, args.action, args.object, args.limit)
            operator = Operator.current()
            await log.record(AuditEntry.of(operator, "audit.view", "audit", "", datetime.now(UTC)))
            return found
        finally:
            await engine.dispose()

    entries = asyncio.run(run())
    if args.json:
        for entry in entries:
            print(json.dumps(entry.to_json(), ensure_ascii=False))
        return 0
    for entry in entries:
        detail = " ".join(f"{k}={v}" for k, v in entry.detail.items())
        print(
            f"{entry.at.isoformat(timespec='seconds')}\t{entry.actor_id}({entry.actor_role})\t"
            f"{entry.action}\t{entry.object_kind}:{entry.object_id}\t{entry.why}\t{detail}"
        )
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    view: dict[str, Any] = redacted(load_config(_config_path(args)))
    print(json.dumps(view, ensure_ascii=False, indent=2))
    return 0


def add_admin_parsers(sub: Any) -> None:
    audit = sub.add_parser("audit", help="the audit log, newest first (reading it is logged)")
    audit.add_argument("--since", help="ISO time, e.g. 2026-12-01T00:00+08:00")
    audit.add_argument("--actor", help="agent id, or cli:USER")
    audit.add_argument("--action", help="e.g. ticket.view, agent.change, retention.run")
    audit.add_argument("--object", help="a ticket number, agent id, …")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(func=cmd_audit)
    config = sub.add_parser("config", help="configuration tools")
    actions = config.add_subparsers(dest="action", required=True)
    actions.add_parser("show", help="the configuration in force, secrets hidden")
    config.set_defaults(func=cmd_config)
