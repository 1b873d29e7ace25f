"""Refuse a database that a newer Samtal has migrated: this code does not know its tables, so running on it
could write rows the newer code reads wrongly, or miss constraints it relies on. Restore the backup taken
before the upgrade, or run the newer version."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path


class SchemaTooNew(Exception):
    def __init__(self, unknown: list[int], known_max: int) -> None:
        super().__init__(
            f"the database has migrations this version of Samtal does not know ({', '.join(map(str, unknown))};"
            f" this version knows up to {known_max}): it was upgraded by a newer Samtal. Run that version, or"
            f" restore the backup taken before the upgrade (docs/operations.md, Backup and restore)")
        self.unknown = unknown


def refuse_unknown_migrations(applied: Iterable[int], known: Iterable[int]) -> None:
    """Raise SchemaTooNew when a migration was applied that this code does not have. Every unknown number
    counts, not only those above the highest known: numbers are reserved per piece of work and may land
    out of order."""
    known_set = set(known)
    unknown = sorted(set(applied) - known_set)
    if unknown:
        raise SchemaTooNew(unknown, max(known_set, default=0))


def applied_migrations(path: Path) -> list[int]:
    """The migrations applied to the database at `path` (read only; empty when it has none yet)."""
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone() is None:
            return []
        return [version for (version,) in db.execute("SELECT version FROM schema_migrations")]


def known_migrations() -> list[int]:
    """The migration numbers this code ships (chat/storage/sqlite/migrations/NNNN_*.sql)."""
    from importlib import resources

    return sorted(int(entry.name.split("_", 1)[0]) for entry in resources.files(
        "chat.storage.sqlite.migrations").iterdir() if entry.name.endswith(".sql"))


def check_database(path: Path) -> None:
    """Before a server starts on `path`: SchemaTooNew if a newer Samtal migrated it."""
    refuse_unknown_migrations(applied_migrations(path), known_migrations())
