"""Which engine a database address names, and the few things the command line does on a database without a
running server (open it, read the audit chain, prune it). An address is a PostgreSQL URL
(postgresql://...) or the path of the SQLite file."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from chat.audit.chain import AuditRow
from chat.storage import Storage


class StorageUnreadable(Exception):
    """The database could not be read (a damaged file, a refused connection)."""


def is_url(database: str | Path) -> bool:
    return str(database).startswith(("postgresql://", "postgres://"))


def make_store(database: str | Path, *, synchronous: str = "FULL") -> Storage:
    """A store for the address, not yet opened (`synchronous`: SQLite's setting, SAMTAL_SQLITE_SYNCHRONOUS)."""
    from chat.storage.sqlite.store import SqliteStore

    return SqliteStore(database, synchronous=synchronous)


@contextlib.asynccontextmanager
async def opened(database: str | Path) -> AsyncIterator[Storage]:
    """The store, opened (migrations applied) for the block and closed after it."""
    store = make_store(database)
    if not is_url(database):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def audit_rows(database: str | Path) -> Iterator[AuditRow]:
    """Every audit row in id order, read-only (for `samtal audit verify`)."""
    from chat.storage.sqlite import files

    with files.unreadable_as(StorageUnreadable):
        yield from files.read_audit_rows(database)


def audit_anchor(database: str | Path) -> tuple[int, bytes]:
    """Where the kept chain starts: (0, GENESIS) unless old rows were pruned."""
    from chat.storage.sqlite import files

    with files.unreadable_as(StorageUnreadable):
        return files.read_audit_anchor(database)


def audit_hash_at(database: str | Path, row_id: int) -> bytes | None:
    from chat.storage.sqlite import files

    with files.unreadable_as(StorageUnreadable):
        return files.audit_hash_at(database, row_id)


def prune_audit(database: str | Path, older_than_ms: int) -> int:
    """Remove audit rows older than the cut-off, keeping the chain verifiable from an anchor."""
    from chat.storage.sqlite import files

    return files.prune_audit(database, older_than_ms)


# -- the data folder and its database, for serve, backup and restore (docs/operations.md) -------------------
from chat.storage.sqlite.backup import Copied, NotADatabase  # noqa: E402,F401 (re-exported)
from chat.storage.sqlite.folder_lock import FolderInUse, FolderLock  # noqa: E402,F401 (re-exported)
from chat.storage.sqlite.schema_guard import SchemaTooNew  # noqa: E402,F401 (re-exported)



def lock_data_folder(data_dir: Path) -> FolderLock:
    """One process per SQLite data folder (FolderInUse otherwise); held until released or the process ends."""
    return FolderLock(data_dir).acquire()


def refuse_newer_database(database: str | Path) -> None:
    """SchemaTooNew when a newer Samtal has migrated the database."""
    from chat.storage.sqlite.schema_guard import check_database

    check_database(Path(database))


def backup_database(database: Path, to: Path) -> Copied:
    from chat.storage.sqlite.backup import backup

    return backup(database, to)


def restore_database(backup_file: Path, database: Path) -> tuple[Copied, Path | None]:
    from chat.storage.sqlite.backup import restore

    return restore(backup_file, database)
