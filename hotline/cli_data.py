"""`hotline retention run` and `hotline backup` / `hotline restore`: the data's lifetime."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from typing import Any

from hotline.config import ConfigError, HotlineConfig, load_config


def _config(args: argparse.Namespace) -> HotlineConfig:
    return load_config(args.config or os.environ.get("HOTLINE_CONFIG") or None)


def cmd_retention(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from hotline.audit import AuditEntry, AuditLog, Operator
    from hotline.db import create_engine, session_factory
    from hotline.recordings import RecordingArchive
    from hotline.retention import KINDS, Retention, RetentionPolicy

    config = _config(args)
    policy = RetentionPolicy.of(config)
    now = datetime.now(UTC)
    bars: dict[str, Any] = {}

    def progress(kind: str, done: int, total: int) -> None:
        bar = bars.get(kind)
        if bar is None:
            bar = bars[kind] = tqdm(total=total, desc=kind, unit="row", file=sys.stderr)
        bar.total = total
        bar.update(done - bar.n)

    async def run() -> dict[str, int]:
        engine = create_engine(config.database.url)
        try:
            sessions = session_factory(engine)
            archive = RecordingArchive(sessions, policy.recording_days, lambda: now)
            retention = Retention(sessions, policy, archive)
            if args.dry_run:
                return await retention.due(now)
            counts = await retention.run(now, progress)
            operator = Operator.current()
            await AuditLog(sessions).record(
                AuditEntry(
                    now,
                    operator.agent_id,
                    operator.role,
                    "retention.run",
                    "database",
                    "",
                    "",
                    counts,
                )
            )
            return counts
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    for bar in bars.values():
        bar.close()
    verb = "due" if args.dry_run else "done"
    for kind, cutoff in policy.cutoffs(now).items():
        kept = "kept for ever" if cutoff is None else f"before {cutoff:%Y-%m-%d}"
        print(f"{kind:16} {counts.get(kind, 0):>8} {verb}  ({kept})")
    assert set(counts) <= set(KINDS)
    return 0


def add_data_parsers(sub: Any) -> None:
    retention = sub.add_parser("retention", help="erase personal data past its retention")
    actions = retention.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="erase now what [retention] says is past its time")
    run.add_argument("--dry-run", action="store_true", help="only count what is due")
    retention.set_defaults(func=_guarded(cmd_retention))


def _guarded(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except ConfigError as error:
            print(f"config error: {error}", file=sys.stderr)
            return 2

    return run
