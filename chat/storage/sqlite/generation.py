"""The database's generation: a random id made when the database is created and again when it is restored.

Sequence numbers are per case and only go up within one database; a restored backup hands out again the
numbers it had not reached (a live case at seq 3920, restored to 2093: its next message is 2094 again). A
client that compares the generation it knew with the server's knows its cursors are from another history
and fetches the case afresh (docs/protocol.md, §14.3)."""
from __future__ import annotations

import secrets
import sqlite3

from chat.model import now_ms

# Also in migration 0018 (which makes the first generation of an existing or new database); here for a
# restore of a backup taken before that migration existed.
_TABLE = ("CREATE TABLE IF NOT EXISTS database_generation (singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
          " generation TEXT NOT NULL, since INTEGER NOT NULL, probed_at INTEGER)")


def read_generation(db: sqlite3.Connection) -> str | None:
    """The generation, or None for a database from before generations (it gets one when a server opens it)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'database_generation'").fetchone() is None:
        return None
    row = db.execute("SELECT generation FROM database_generation WHERE singleton = 1").fetchone()
    return row[0] if row else None


def new_generation(db: sqlite3.Connection) -> str:
    """Give the database a new generation (on restore)."""
    generation = secrets.token_hex(16)
    with db:
        db.execute(_TABLE)
        db.execute("INSERT INTO database_generation (singleton, generation, since) VALUES (1, ?, ?)"
                   " ON CONFLICT (singleton) DO UPDATE SET generation = excluded.generation, since = excluded.since",
                   (generation, now_ms()))
    return generation


def probe_write(db: sqlite3.Connection) -> None:
    """A small real write for /readyz, inside a transaction on the writer thread: it fails as a message
    would (a full disk, an I/O error, a lock held too long)."""
    db.execute("UPDATE database_generation SET probed_at = ? WHERE singleton = 1", (now_ms(),))
