"""`samtal db migrate|copy`: the database outside the server (docs/operations.md, "Database").

    samtal db migrate [--database URL | --data-dir DIR]   apply the migrations this database lacks
    samtal db copy --from DATA_DIR --to postgresql://...   move a SQLite data folder's database into an
                                                           empty PostgreSQL database, and check the copy

Prints JSON; errors as JSON on stderr with exit code 2 (1 when a copy was made but does not check out)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from web.cli import run


def _fail(code: str, message: str) -> int:
    print(json.dumps({"error": code, "message": message}, ensure_ascii=False), file=sys.stderr)
    return 2


def database_of(args: argparse.Namespace) -> str | Path:
    """--database, else SAMTAL_DATABASE_URL, else the SQLite file in --data-dir (or SAMTAL_DATA_DIR)."""
    from web.config import Settings

    settings = Settings()
    if getattr(args, "database", None):
        return str(args.database)
    if getattr(args, "data_dir", None):
        settings.data_dir = Path(args.data_dir)
    return settings.database


def cmd_migrate(args: argparse.Namespace) -> int:
    from chat.storage import engines

    database = database_of(args)
    if not engines.is_url(database) and not Path(database).parent.exists():
        return _fail("no_data_dir", f"no data folder {Path(database).parent}")

    async def migrate() -> None:
        async with engines.opened(database):
            pass

    try:
        run(migrate())
    except Exception as error:  # noqa: BLE001 (a refused connection or a bad address: said, not a traceback)
        return _fail("database_unavailable", f"{type(error).__name__}: {str(error).strip()[:300]}")
    print(json.dumps({"migrated": engines.describe(database)}))
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    from chat.storage import engines

    if not engines.is_url(args.to):
        return _fail("invalid", "--to is a PostgreSQL address (postgresql://...)")
    source = Path(args.source) / "samtal.sqlite3"
    try:
        report = engines.copy_sqlite_to_postgres(source, args.to)
    except engines.CopyRefused as refused:
        return _fail(refused.code, str(refused))
    except engines.StorageUnreadable as error:
        return _fail("database_unavailable", str(error))
    out: dict[str, Any] = {"copied": report.tables, "rows": sum(report.tables.values()),
                           "audit": {"intact": report.audit_intact, "rows": report.audit_rows,
                                     "head_id": report.audit_head_id}}
    print(json.dumps(out))
    return 0 if report.audit_intact else 1


def add_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="the database: migrate, copy to PostgreSQL",
                        description="The database outside the server (docs/operations.md).")
    acts = db.add_subparsers(dest="db_action", required=True)
    migrate = acts.add_parser("migrate", help="apply the migrations the database lacks",
                              description="Apply the migrations the database lacks (the server also does this when "
                                          "it starts).")
    migrate.add_argument("--database", help="a PostgreSQL address (default: SAMTAL_DATABASE_URL, else the SQLite "
                                            "file in the data folder)")
    migrate.add_argument("--data-dir", help="the data folder of a SQLite database (default: SAMTAL_DATA_DIR or "
                                            "./data)")
    migrate.set_defaults(func=cmd_migrate)
    copy = acts.add_parser("copy", help="move a SQLite data folder's database into an empty PostgreSQL database",
                           description="Copy every table of DATA_DIR's SQLite database into an empty PostgreSQL "
                                       "database, then check row counts and the audit chain on the target. Stop "
                                       "the server first.")
    copy.add_argument("--from", dest="source", required=True, metavar="DATA_DIR",
                      help="the data folder whose samtal.sqlite3 is copied (it is only read)")
    copy.add_argument("--to", required=True, metavar="URL", help="the PostgreSQL database (postgresql://...); "
                                                                 "it must have no rows")
    copy.set_defaults(func=cmd_copy)
