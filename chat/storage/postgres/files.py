"""What the command line does on a PostgreSQL database without a running server: read the audit chain, find
a row's hash, prune old audit rows (the PostgreSQL side of chat/storage/sqlite/files.py)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg

from chat.audit.chain import GENESIS, AuditRow
from chat.model import now_ms
from chat.storage.postgres.engine import WRITE_LOCK
from chat.storage.sql.audit import AUDIT_COLS, audit_row


@contextlib.contextmanager
def unreadable_as(error: type[Exception]) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise error(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc


def read_audit_rows(url: str, page: int = 5000) -> Iterator[AuditRow]:
    with psycopg.connect(url, autocommit=True) as conn:
        after = 0
        while True:
            rows = conn.execute(f"SELECT {AUDIT_COLS} FROM audit_log WHERE id > %s ORDER BY id LIMIT %s",
                                (after, page)).fetchall()
            yield from (audit_row(r) for r in rows)
            if len(rows) < page:
                return
            after = rows[-1][0]


def read_audit_anchor(url: str) -> tuple[int, bytes]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT last_pruned_id, last_pruned_hash FROM audit_anchor").fetchone()
    return (row[0], bytes(row[1])) if row else (0, GENESIS)


def audit_hash_at(url: str, row_id: int) -> bytes | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT hash FROM audit_log WHERE id = %s", (row_id,)).fetchone()
    return bytes(row[0]) if row else None


def prune_audit(url: str, older_than_ms: int, rule: str = "audit") -> int:
    """As SQLite's: rows from the start of the chain, the anchor moved in the same transaction, under the
    write lock; the append-only trigger lets this one transaction delete (samtal.audit_prune)."""
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        last = conn.execute("SELECT id, hash FROM audit_log WHERE at < %s ORDER BY id DESC LIMIT 1",
                            (older_than_ms,)).fetchone()
        if last is None:
            return 0
        conn.execute("SELECT set_config('samtal.audit_prune', 'on', true)")
        removed = conn.execute("DELETE FROM audit_log WHERE id <= %s", (last[0],)).rowcount
        conn.execute("SELECT set_config('samtal.audit_prune', 'off', true)")
        conn.execute("INSERT INTO audit_anchor (singleton, last_pruned_id, last_pruned_hash, pruned_at)"
                     " VALUES (1, %s, %s, %s) ON CONFLICT (singleton) DO UPDATE SET last_pruned_id ="
                     " excluded.last_pruned_id, last_pruned_hash = excluded.last_pruned_hash,"
                     " pruned_at = excluded.pruned_at", (last[0], last[1], now_ms()))
        conn.execute("INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
                     " VALUES (%s, '*', 'audit', %s, %s, 1)", (now_ms(), rule, removed))
    return int(removed)
