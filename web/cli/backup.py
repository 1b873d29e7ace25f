"""`samtal backup` and `samtal restore`: the SQLite database copied safely beside a running server, and put
back in place with a new generation (chat/storage/sqlite/backup.py). PostgreSQL is backed up with its own
tools (docs/operations.md, Backup and restore). Prints JSON; errors as JSON on stderr."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from chat.storage.engines import (
    Copied,
    FolderInUse,
    NotADatabase,
    SchemaTooNew,
    backup_database,
    is_url,
    lock_data_folder,
    restore_database,
)
from web.cli.preflight import EXIT_DATABASE_TOO_NEW, EXIT_FOLDER_IN_USE
from web.keyfiles import KEEP_BESIDE_DATABASE

EXIT_UNREADABLE = 1
EXIT_USAGE = 2


def _data_dir(arg: str | None) -> Path:
    from web.config import Settings

    return Path(arg) if arg else Settings().data_dir


def _fail(code: str, message: str, exit_code: int) -> int:
    print(json.dumps({"error": code, "message": message}, ensure_ascii=False), file=sys.stderr)
    return exit_code


def _refused_on_postgres() -> int | None:
    """These commands copy the SQLite file; a server on PostgreSQL (SAMTAL_DATABASE_URL) is backed up with
    PostgreSQL's own tools, and saying so beats reporting a missing file."""
    database = os.environ.get("SAMTAL_DATABASE_URL", "")
    if not is_url(database):
        return None
    return _fail("postgresql", "the database is PostgreSQL (SAMTAL_DATABASE_URL): back it up with pg_dump and restore"
                 " it with pg_restore (docs/operations.md, Backup and restore)", EXIT_USAGE)


def _report(copied: Copied) -> dict[str, Any]:
    return {"file": str(copied.path), "bytes": copied.bytes, "seconds": round(copied.seconds, 3),
            "messages": copied.messages, "audit_head": copied.audit_head, "generation": copied.generation,
            "schema": copied.schema}


def cmd_backup(args: argparse.Namespace) -> int:
    if (refused := _refused_on_postgres()) is not None:
        return refused
    data_dir = _data_dir(args.data_dir)
    target = Path(args.to)
    if target.resolve().parent == data_dir.resolve():
        return _fail("invalid", "keep backups outside the data folder", EXIT_USAGE)
    try:
        copied = backup_database(data_dir / "samtal.sqlite3", target)
    except NotADatabase as error:
        return _fail("unreadable", str(error), EXIT_UNREADABLE)
    keep = sorted(name for name in KEEP_BESIDE_DATABASE if (data_dir / name).exists())
    print(json.dumps({**_report(copied), "also_keep": [str(data_dir / name) for name in keep]}))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    if (refused := _refused_on_postgres()) is not None:
        return refused
    data_dir = _data_dir(args.data_dir)
    source = Path(args.from_file)
    if not source.is_file():
        return _fail("no_backup", f"no backup file at {source}", EXIT_USAGE)
    try:
        # The server's own lock: no server may run on the folder while its database is replaced.
        lock = lock_data_folder(data_dir)
    except FolderInUse as error:
        return _fail("data_folder_in_use", str(error), EXIT_FOLDER_IN_USE)
    try:
        restored, replaced = restore_database(source, data_dir / "samtal.sqlite3")
    except NotADatabase as error:
        return _fail("unreadable", str(error), EXIT_UNREADABLE)
    except SchemaTooNew as error:
        return _fail("database_too_new", str(error), EXIT_DATABASE_TOO_NEW)
    finally:
        lock.release()
    print(json.dumps({**_report(restored), "replaced": str(replaced) if replaced else None}))
    return 0


def add_parser(sub: Any) -> None:
    b = sub.add_parser("backup", help="copy the database safely while the server runs",
                       description="Copy the SQLite database to FILE in one consistent snapshot, also while the "
                       "server runs under load (the server's writes go on meanwhile). Prints the copy's size, "
                       "messages, audit head and generation, and the key files of the data folder to keep with "
                       "it. Exit 0 done; 1 the database is unreadable; 2 bad usage.")
    b.add_argument("--data-dir", help="the server's data folder (default: ./data or SAMTAL_DATA_DIR)")
    b.add_argument("--to", required=True, help="the backup file to write (replaced atomically if it exists); "
                   "outside the data folder")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="put a backup in place of the database (server stopped)",
                       description="Check the backup, keep the current database aside (renamed "
                       "samtal.sqlite3.replaced-TIME, never deleted), put the backup in its place and give it a "
                       "new generation, so that clients drop their cursors and fetch afresh. The server must be "
                       f"stopped. Exit 0 done; 1 the backup is unreadable; 2 bad usage; {EXIT_FOLDER_IN_USE} a "
                       f"server runs on the folder; {EXIT_DATABASE_TOO_NEW} the backup is from a newer Samtal.")
    r.add_argument("--data-dir", help="the server's data folder (default: ./data or SAMTAL_DATA_DIR)")
    r.add_argument("--from", dest="from_file", required=True, help="the backup file (from samtal backup)")
    r.set_defaults(func=cmd_restore)
