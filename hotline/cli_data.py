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


def _audit(config: HotlineConfig, action: str, object_id: str, detail: dict[str, Any]) -> None:
    from hotline.audit import AuditEntry, AuditLog, Operator
    from hotline.db import create_engine, session_factory

    operator = Operator.current()
    entry = AuditEntry(
        datetime.now(UTC),
        operator.agent_id,
        operator.role,
        action,
        "database",
        object_id,
        "",
        detail,
    )

    async def run() -> None:
        engine = create_engine(config.database.url)
        try:
            await AuditLog(session_factory(engine)).record(entry)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _pages_bar(desc: str) -> tuple[Any, Any]:
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="page", file=sys.stderr, disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return bar, progress


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from hotline.backup import FULL, INCREMENTAL, BackupError, backups_in, kind_due, take_backup

    config = _config(args)
    if not (args.dir or config.backup.dir):
        print("error: give --dir or set [backup] dir", file=sys.stderr)
        return 2
    folder = Path(args.dir or config.backup.dir)
    now = datetime.now(UTC)
    kind = FULL if args.full else INCREMENTAL if args.incremental else None
    try:
        if kind is None:
            from hotline.backup import engine_of

            engine = engine_of(config.database.url)
            fulls = [b.taken_at for b in backups_in(folder, engine) if b.kind == FULL]
            kind = kind_due(now, ZoneInfo(config.centre.timezone), config.backup.full_day, fulls)
        bar, progress = _pages_bar("backup")
        made = take_backup(config.database.url, folder, kind, now, progress)
        bar.close()
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _audit(config, "backup.run", made.path.name, {"kind": made.kind})
    print(f"{made.kind} backup written: {made.path} ({made.path.stat().st_size} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hotline.backup import BackupError, restore

    config = _config(args)
    url = args.to or config.database.url
    try:
        bar, progress = _pages_bar("restore")
        restored = restore(Path(args.file), url, args.force, progress)
        bar.close()
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    target = config if args.to is None else config.replace(database={"url": url})
    _audit(target, "restore.run", restored.path.name, {"kind": restored.kind})
    print(f"restored {restored.kind} backup of {restored.taken_at.isoformat()} into the database")
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


def add_backup_parsers(sub: Any) -> None:
    backup = sub.add_parser(
        "backup", help="back the database up ([backup] dir): full monthly, else incremental"
    )
    backup.add_argument("--dir", help="where to write (default: [backup] dir)")
    which = backup.add_mutually_exclusive_group()
    which.add_argument("--full", action="store_true", help="a full backup whatever the day")
    which.add_argument("--incremental", action="store_true", help="an incremental one")
    backup.set_defaults(func=_guarded(cmd_backup))
    restore = sub.add_parser("restore", help="restore a backup file into an empty database")
    restore.add_argument("file", help="a hotline-full-… or hotline-incremental-… file")
    restore.add_argument("--to", help="database URL (default: [database] url)")
    restore.add_argument("--force", action="store_true", help="overwrite what is there")
    restore.set_defaults(func=_guarded(cmd_restore))
