"""Backups and restores of the hotline's database: monthly full, daily incremental.

What "incremental" means differs by engine, and is said plainly:

- SQLite: a full backup is a consistent copy taken with SQLite's online backup API (writers
  carry on meanwhile), gzip-compressed. An incremental backup takes the same consistent copy
  and keeps only the database pages that differ from the last full backup: it is relative to
  the month's full, not to the day before (a differential), so restoring needs that full
  backup and one incremental, never a chain. Both record SHA-256 digests, checked on restore.
- PostgreSQL: every backup is a complete logical dump (`pg_dump --format=custom`, compressed);
  pg_dump cannot dump only what changed. The daily "incremental" is therefore a complete dump
  too, kept like the incrementals are; block-level incremental backups of PostgreSQL are a
  matter for the database server (WAL archiving, `pg_basebackup --incremental`), not for this
  program.

Restoring goes into an empty database (a missing SQLite file, or a PostgreSQL database
without tables) unless forced, and is verified (SQLite integrity check, digests).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import URL, make_url

FULL, INCREMENTAL = "full", "incremental"
PAGES_FORMAT = "hotline-sqlite-pages/1"
NAME = re.compile(
    r"^hotline-(?P<kind>full|incremental)-(?P<stamp>\d{8}T\d{6}Z)\.(?P<ext>db\.gz|pages\.gz|pgdump)$"
)
CHUNK = 1 << 20
# (pages done, pages in all): how a long SQLite backup or restore shows its progress.
Progress = Callable[[int, int], None]


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    kind: str  # full | incremental
    engine: str  # sqlite | postgresql
    taken_at: datetime

    @classmethod
    def parse(cls, path: Path) -> BackupFile | None:
        match = NAME.match(path.name)
        if match is None:
            return None
        engine = "postgresql" if match["ext"] == "pgdump" else "sqlite"
        taken = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return cls(path, match["kind"], engine, taken)


def file_name(kind: str, engine: str, now: datetime) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if engine == "postgresql":
        return f"hotline-{kind}-{stamp}.pgdump"
    return f"hotline-{kind}-{stamp}.{'db' if kind == FULL else 'pages'}.gz"


def engine_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {backend} database")
    return backend


def backups_in(folder: Path, engine: str) -> list[BackupFile]:
    """The backups of one engine in a folder, oldest first."""
    if not folder.is_dir():
        return []
    found = [BackupFile.parse(path) for path in folder.iterdir()]
    return sorted(
        (b for b in found if b is not None and b.engine == engine), key=lambda b: b.taken_at
    )


def kind_due(now: datetime, zone: ZoneInfo, full_day: int, fulls: list[datetime]) -> str:
    """The scheduled backup's kind: full on the month's `full_day` (or the first run after it,
    if the server was down that day), incremental on the other days."""
    local = now.astimezone(zone)
    day = min(max(full_day, 1), 28)
    month_start = local.replace(day=day, hour=0, minute=0, second=0, microsecond=0)
    if local < month_start:  # before this month's full day: last month's counts
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        month_start = month_start.replace(year=year, month=month)
    if any(taken >= month_start for taken in fulls):
        return INCREMENTAL
    return FULL


def prune(folder: Path, engine: str, keep_full: int) -> list[Path]:
    """Delete full backups beyond the newest `keep_full`, and incrementals older than the
    oldest full kept (they cannot be restored without it); the paths deleted."""
    backups = backups_in(folder, engine)
    fulls = [b for b in backups if b.kind == FULL]
    if keep_full < 1 or len(fulls) <= keep_full:
        return []
    oldest_kept = fulls[-keep_full].taken_at
    gone = [b.path for b in backups if b.taken_at < oldest_kept]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live database (SQLite's online backup API)."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _pages(stream: IO[bytes], size: int) -> Iterator[bytes]:
    while page := stream.read(size):
        yield page


def _page_size(path: Path) -> int:
    with open(path, "rb") as file:
        header = file.read(100)
    size = int.from_bytes(header[16:18], "big")
    return 65536 if size == 1 else size


def _sha256(path: Path, compressed: bool = False) -> str:
    digest = hashlib.sha256()
    with gzip.open(path, "rb") if compressed else open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_full(snapshot: Path, target: Path) -> None:
    with open(snapshot, "rb") as src, gzip.open(target, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def _sqlite_incremental(
    snapshot: Path, base: BackupFile, target: Path, progress: Progress | None
) -> int:
    """Write the pages of `snapshot` that differ from the full backup `base`; how many."""
    size = _page_size(snapshot)
    total = snapshot.stat().st_size // size
    header = {
        "format": PAGES_FORMAT,
        "base": base.path.name,
        "base_sha256": _sha256(base.path, compressed=True),
        "page_size": size,
        "pages": total,
        "sha256": _sha256(snapshot),
    }
    changed = 0
    with (
        open(snapshot, "rb") as now_file,
        gzip.open(base.path, "rb") as base_file,
        gzip.open(target, "wb", compresslevel=6) as out,
    ):
        out.write(json.dumps(header).encode() + b"\n")
        for number, page in enumerate(_pages(now_file, size)):
            if base_file.read(size) != page:
                out.write(struct.pack(">I", number) + page)
                changed += 1
            if progress is not None and (number % 1024 == 0 or number == total - 1):
                progress(number + 1, total)
    return changed


def _rebuild_sqlite(backup: BackupFile, into: Path, progress: Progress | None) -> None:
    """The database file a backup holds, written to `into` and checked."""
    if backup.kind == FULL:
        with gzip.open(backup.path, "rb") as src, open(into, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
    else:
        with gzip.open(backup.path, "rb") as diff:
            header = json.loads(diff.readline())
            if header.get("format") != PAGES_FORMAT:
                raise BackupError(f"{backup.path.name} is not a hotline incremental backup")
            base = backup.path.parent / header["base"]
            if not base.is_file():
                raise BackupError(f"{backup.path.name} needs its full backup {base.name} beside it")
            if _sha256(base, compressed=True) != header["base_sha256"]:
                raise BackupError(
                    f"{base.name} is not the full backup {backup.path.name} was made on"
                )
            with gzip.open(base, "rb") as src, open(into, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            size, total = int(header["page_size"]), int(header["pages"])
            with open(into, "r+b") as dst:
                dst.truncate(size * total)
                while record := diff.read(4 + size):
                    if len(record) != 4 + size:
                        raise BackupError(f"{backup.path.name} is truncated")
                    (number,) = struct.unpack(">I", record[:4])
                    dst.seek(number * size)
                    dst.write(record[4:])
                    if progress is not None:
                        progress(number + 1, total)
            if _sha256(into) != header["sha256"]:
                raise BackupError(f"{backup.path.name}: the rebuilt database does not match")
    with sqlite3.connect(into) as check:
        result = check.execute("PRAGMA integrity_check").fetchone()[0]
    check.close()
    if result != "ok":
        raise BackupError(f"{backup.path.name}: integrity check failed: {result}")


# --- PostgreSQL ---------------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment carrying it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
    )
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")


def _pg_tables(libpq: str, env: dict[str, str]) -> int:
    query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    try:
        done = subprocess.run(
            ["psql", "--no-psqlrc", "-At", "-d", libpq, "-c", query],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise BackupError("psql is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"cannot reach the database: {done.stderr.strip()[-300:]}")
    return int(done.stdout.strip() or 0)


# --- the two operations -------------------------------------------------------------------


def take_backup(
    url: str, folder: Path, kind: str, now: datetime, progress: Progress | None = None
) -> BackupFile:
    """Back the database up into `folder`: FULL or INCREMENTAL (an incremental with no full
    before it is taken as a full)."""
    engine = engine_of(url)
    folder.mkdir(parents=True, exist_ok=True)
    fulls = [b for b in backups_in(folder, engine) if b.kind == FULL]
    if kind == INCREMENTAL and not fulls:
        kind = FULL
    target = folder / file_name(kind, engine, now)
    partial = target.with_name(target.name + ".partial")
    try:
        if engine == "postgresql":
            libpq, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}", libpq], env)
        else:
            with tempfile.TemporaryDirectory(dir=folder) as work:
                snapshot = Path(work) / "snapshot.db"
                _snapshot(_sqlite_path(url), snapshot)
                if kind == FULL:
                    _sqlite_full(snapshot, partial)
                else:
                    _sqlite_incremental(snapshot, fulls[-1], partial, progress)
        partial.replace(target)  # a backup file exists only once complete
    finally:
        partial.unlink(missing_ok=True)
    return BackupFile(target, kind, engine, now)


def restore(
    path: Path, url: str, force: bool = False, progress: Progress | None = None
) -> BackupFile:
    """Restore a backup file into the database at `url`, which must be empty unless forced."""
    backup = BackupFile.parse(path)
    if backup is None or not path.is_file():
        raise BackupError(f"{path} is not a hotline backup file")
    engine = engine_of(url)
    if backup.engine != engine:
        raise BackupError(f"{path.name} is a {backup.engine} backup; the target is {engine}")
    if engine == "postgresql":
        libpq, env = _libpq(url)
        if _pg_tables(libpq, env) and not force:
            raise BackupError("the target database has tables; restore into an empty one or force")
        command = ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq}"]
        if force:
            command += ["--clean", "--if-exists"]
        _run([*command, str(path)], env)
        return backup
    target = _sqlite_path(url)
    if target.exists() and target.stat().st_size > 0 and not force:
        raise BackupError(f"{target} exists; restore into a new file or force")
    target.parent.mkdir(parents=True, exist_ok=True)
    rebuilt = target.with_name(target.name + ".restoring")
    try:
        _rebuild_sqlite(backup, rebuilt, progress)
        for stale in (
            target.with_name(target.name + "-wal"),
            target.with_name(target.name + "-shm"),
        ):
            stale.unlink(missing_ok=True)
        rebuilt.replace(target)
    finally:
        rebuilt.unlink(missing_ok=True)
    return backup
