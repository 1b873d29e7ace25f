"""`samtal db copy`: move a data folder's SQLite database into an empty PostgreSQL database.

Every table is copied whole in one PostgreSQL transaction (foreign keys deferred to the commit, so the
order of tables and of rows that point at later rows does not matter); identity sequences continue after
the copied ids. Then the copy is checked: the same number of rows in every table, and the audit chain
verifies on the target. A target that has any row is refused: nothing is ever overwritten or merged."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from chat.audit.chain import verify
from chat.storage.postgres import files
from chat.storage.postgres.engine import WRITE_LOCK, migrate

KEEP_OUT = {"schema_migrations", "sqlite_sequence"}  # each engine has its own
# Rows that every database's migrations make for themselves; the copy replaces them with the source's, so
# that the moved database keeps its generation (its seq numbers are the same history: clients need not
# resynchronise).
REPLACED = {"database_generation"}


class CopyRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class CopyReport:
    tables: dict[str, int] = field(default_factory=dict)
    audit_rows: int = 0
    audit_intact: bool = False
    audit_head_id: int = 0


def _tables(conn: psycopg.Connection[Any]) -> list[str]:
    return [t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema ="
                                       " current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")
            if t not in KEEP_OUT]


def copy_database(source: Path, target: str) -> CopyReport:
    if not source.exists():
        raise CopyRefused("no_database", f"no database at {source}")
    migrate(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        with psycopg.connect(target) as conn:
            tables = _tables(conn)
            filled = [t for t in tables if t not in REPLACED
                      and conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()]
            if filled:
                raise CopyRefused("target_not_empty", f"the target has data already ({', '.join(filled[:5])}): "
                                  "db copy moves into an empty database only")
            known = {t for (t,) in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} - KEEP_OUT
            if known - set(tables):
                raise CopyRefused("schema_differs", f"the target lacks tables {sorted(known - set(tables))}:"
                                  " is the source newer than this Samtal?")
            report = CopyReport()
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                conn.execute("SET CONSTRAINTS ALL DEFERRED")
                for table in sorted(known & REPLACED):
                    conn.execute(f'DELETE FROM "{table}"')
                for table in sorted(known):
                    report.tables[table] = _copy_table(src, conn, table)
                for table in sorted(known):
                    _continue_identity(conn, table)
            for table, rows in report.tables.items():
                counted = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
                copied = counted[0] if counted else None
                if copied != rows:
                    raise CopyRefused("count_differs", f"{table}: {rows} rows in the source, {copied} in the target")
    finally:
        src.close()
    verdict = verify(files.read_audit_rows(target), None, files.read_audit_anchor(target))
    report.audit_rows, report.audit_intact, report.audit_head_id = verdict.rows, verdict.intact, verdict.head_id
    return report


def _copy_table(src: sqlite3.Connection, conn: psycopg.Connection[Any], table: str) -> int:
    columns = [row[1] for row in src.execute(f'SELECT * FROM pragma_table_info("{table}")')]
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in src.execute(f'SELECT {names} FROM "{table}"'):
            copy.write_row(row)
            count += 1
    return count


def _continue_identity(conn: psycopg.Connection[Any], table: str) -> None:
    """Ids copied from SQLite were given explicitly: the identity sequence goes on after the largest."""
    row = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                       " AND table_name = %s AND is_identity = 'YES'", (table,)).fetchone()
    if row:
        conn.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max(\"{row[0]}\"), 0) + 1, false)"
                     f' FROM "{table}"', (table, row[0]))
