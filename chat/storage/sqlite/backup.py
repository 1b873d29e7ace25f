"""Backup and restore of the SQLite database, safe beside a running server.

Why one step: SQLite's online backup copies pages in steps and starts over whenever another connection
writes between two steps, so the `sqlite3 .backup` command (100 pages a step) never finished under as few
as 5 messages a second. Copying every page in one step reads one snapshot in one read transaction; in WAL
mode the server's writer goes on appending beside it, and with no second step there is nothing to restart.
`VACUUM INTO` also reads one snapshot but rebuilds every table and index on the way (1.5 s at 200 msg/s);
a page copy does not. Figures: docs/benchmarks.md (Backup under load).

A restore always gives the database a new generation (chat/storage/sqlite/generation.py), so that clients
holding cursors from the database they knew resynchronise instead of resuming from seq numbers the
restored database will hand out again."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from chat.storage.sqlite.generation import new_generation, read_generation
from chat.storage.sqlite.schema_guard import known_migrations, refuse_unknown_migrations


class NotADatabase(Exception):
    """The file is not a readable Samtal database."""


@dataclass(frozen=True)
class Copied:
    path: Path
    bytes: int
    seconds: float
    messages: int
    audit_head: int
    generation: str | None
    schema: int


def _summary(db: sqlite3.Connection, path: Path, seconds: float) -> Copied:
    (messages,) = db.execute("SELECT count(*) FROM messages").fetchone()
    (audit_head,) = db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    (schema,) = db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return Copied(path, path.stat().st_size, seconds, messages, audit_head, read_generation(db), schema)


def _check(db: sqlite3.Connection) -> None:
    try:
        verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        has_schema = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise NotADatabase(str(exc)) from None
    if verdict != "ok":
        raise NotADatabase(f"the copy is damaged: {verdict}")
    if has_schema is None:
        raise NotADatabase("this is an SQLite file but not a Samtal database")


def _copy(source: sqlite3.Connection, target_path: Path) -> None:
    """Every page of `source` into a new file at `target_path`, in one step (see the module's docstring);
    written beside the target and renamed into place only once complete and synced."""
    partial = target_path.with_name(target_path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as target:
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def backup(database: Path, to: Path) -> Copied:
    """Copy the live database at `database` to the file `to` (replaced atomically if it exists)."""
    if not database.exists():
        raise NotADatabase(f"no database at {database}")
    started = time.monotonic()
    # Read-only: a backup never writes to the server's database, nor takes its folder lock.
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None,
                                            timeout=30)) as source:
        source.execute("PRAGMA busy_timeout = 30000")
        _copy(source, to)
    seconds = time.monotonic() - started
    with contextlib.closing(sqlite3.connect(f"file:{to}?mode=ro", uri=True)) as copy:
        _check(copy)
        return _summary(copy, to, seconds)


def restore(backup_file: Path, database: Path) -> tuple[Copied, Path | None]:
    """Put the backup in place of the database (whose files are kept aside, renamed, never deleted) and give
    it a new generation. The caller holds the data folder's lock, so no server runs on it meanwhile.
    Returns the restored database's summary and where the replaced database was put, if there was one."""
    with contextlib.closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as source:
        _check(source)
        applied = [v for (v,) in source.execute("SELECT version FROM schema_migrations")]
        refuse_unknown_migrations(applied, known_migrations())
        started = time.monotonic()
        incoming = database.with_name(database.name + ".restoring")
        _copy(source, incoming)
    with contextlib.closing(sqlite3.connect(incoming, isolation_level=None)) as db:
        new_generation(db)
    replaced = None
    if database.exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        replaced = database.with_name(f"{database.name}.replaced-{stamp}")
        for suffix in ("", "-wal", "-shm"):  # the database with its WAL: together they are one database
            old = Path(f"{database}{suffix}")
            if old.exists():
                os.replace(old, f"{replaced}{suffix}")
    os.replace(incoming, database)
    seconds = time.monotonic() - started
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return _summary(db, database, seconds), replaced
