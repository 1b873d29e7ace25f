"""What the command line does on the SQLite file without a running server: read the audit chain
read-only, find a row's hash, prune old audit rows."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from chat.audit.chain import GENESIS, AuditRow
from chat.model import now_ms
from chat.storage.sql.audit import AUDIT_COLS, audit_row


@contextlib.contextmanager
def unreadable_as(error: type[Exception]) -> Iterator[None]:
    """A damaged or foreign file is a broken log to the caller, not a crash."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise error(str(exc)) from exc


def audit_hash_at(path: Path | str, row_id: int) -> bytes | None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT hash FROM audit_log WHERE id = ?", (row_id,)).fetchone()
    return bytes(row[0]) if row else None


def read_audit_anchor(path: Path | str) -> tuple[int, bytes]:
    """Where the kept chain starts: (0, GENESIS) unless old rows were pruned."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT last_pruned_id, last_pruned_hash FROM audit_anchor").fetchone()
    return (row[0], bytes(row[1])) if row else (0, GENESIS)


def prune_audit(path: Path | str, older_than_ms: int, rule: str = "audit") -> int:
    """Remove audit rows older than the cut-off, at the end of their retention period, keeping the chain
    verifiable: the last removed row's id and hash become the anchor the remaining chain starts from.
    The append-only triggers are lifted only inside this one transaction."""
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("BEGIN IMMEDIATE")
        try:
            last = db.execute("SELECT id, hash FROM audit_log WHERE at < ? ORDER BY id DESC LIMIT 1",
                              (older_than_ms,)).fetchone()
            if last is None:
                db.execute("ROLLBACK")
                return 0
            # Rows are removed from the start of the chain only, so the kept part stays one chain.
            removed = db.execute("SELECT count(*) FROM audit_log WHERE id <= ?", (last[0],)).fetchone()[0]
            trigger = db.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_delete'").fetchone()
            db.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
            db.execute("DELETE FROM audit_log WHERE id <= ?", (last[0],))
            if trigger is not None:
                db.execute(trigger[0])
            db.execute("INSERT INTO audit_anchor (singleton, last_pruned_id, last_pruned_hash, pruned_at)"
                       " VALUES (1, ?, ?, ?) ON CONFLICT (singleton) DO UPDATE SET last_pruned_id ="
                       " excluded.last_pruned_id, last_pruned_hash = excluded.last_pruned_hash,"
                       " pruned_at = excluded.pruned_at", (last[0], last[1], now_ms()))
            # The deletion register (docs/retention.md): how many rows, under which rule, when.
            db.execute("INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
                       " VALUES (?, '*', 'audit', ?, ?, 1)", (now_ms(), rule, removed))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return int(removed)


def read_audit_rows(path: Path | str, page: int = 5000) -> Iterator[AuditRow]:
    """Every audit row in id order, read-only and without the server (for `samtal audit verify`)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        after = 0
        while True:
            rows = db.execute(f"SELECT {AUDIT_COLS} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
                              (after, page)).fetchall()
            yield from (audit_row(r) for r in rows)
            if len(rows) < page:
                return
            after = rows[-1][0]
