"""Which engine a database address names, and the few things the command line does on a database without a
running server (open it, read the audit chain, prune it). An address is a PostgreSQL URL
(postgresql://...) or the path of the SQLite file."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from chat.audit.chain import AuditRow
from chat.storage import Storage


class StorageUnreadable(Exception):
    """The database could not be read (a damaged file, a refused connection)."""


def is_url(database: str | Path) -> bool:
    return str(database).startswith(("postgresql://", "postgres://"))


def make_store(database: str | Path, *, synchronous: str = "FULL") -> Storage:
    """A store for the address, not yet opened (`synchronous`: SQLite's setting, SAMTAL_SQLITE_SYNCHRONOUS)."""
    if is_url(database):
        from chat.storage.postgres.store import PostgresStore

        return PostgresStore(str(database))
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


def _files(database: str | Path) -> Any:
    """The engine's module of command-line tools (audit rows, anchor, hash, prune)."""
    if is_url(database):
        from chat.storage.postgres import files as pg_files

        return pg_files
    from chat.storage.sqlite import files

    return files


def audit_rows(database: str | Path) -> Iterator[AuditRow]:
    """Every audit row in id order, read-only (for `samtal audit verify`)."""
    files = _files(database)
    with files.unreadable_as(StorageUnreadable):
        yield from files.read_audit_rows(str(database))


def audit_anchor(database: str | Path) -> tuple[int, bytes]:
    """Where the kept chain starts: (0, GENESIS) unless old rows were pruned."""
    files = _files(database)
    with files.unreadable_as(StorageUnreadable):
        return files.read_audit_anchor(str(database))  # type: ignore[no-any-return]


def audit_hash_at(database: str | Path, row_id: int) -> bytes | None:
    files = _files(database)
    with files.unreadable_as(StorageUnreadable):
        return files.audit_hash_at(str(database), row_id)  # type: ignore[no-any-return]


def prune_audit(database: str | Path, older_than_ms: int, rule: str = "audit") -> int:
    """Remove audit rows older than the cut-off, keeping the chain verifiable from an anchor; the deletion
    register notes it under `rule` (e.g. audit:1826d)."""
    return int(_files(database).prune_audit(str(database), older_than_ms, rule))


class CopyRefused(Exception):
    """`samtal db copy` refused: the target has data, the source is missing, or the copy does not match."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def copy_sqlite_to_postgres(source: Path, target: str) -> Any:
    """Copy the SQLite file into the empty PostgreSQL database and check it (chat/storage/postgres/copy.py)."""
    from chat.storage.postgres import copy

    try:
        with copy_errors():
            return copy.copy_database(source, target)
    except copy.CopyRefused as refused:
        raise CopyRefused(refused.code, str(refused)) from None


@contextlib.contextmanager
def copy_errors() -> Iterator[None]:
    from chat.storage.postgres import files as pg_files

    with pg_files.unreadable_as(StorageUnreadable):
        yield


def describe(database: str | Path) -> str:
    """The address without a password, for output and logs."""
    if not is_url(database):
        return str(database)
    from urllib.parse import urlsplit

    parts = urlsplit(str(database))
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


# -- the data folder and its database, for serve, backup and restore (docs/operations.md) -------------------
# Re-exported ("as" marks it for mypy): the CLI names these through engines, not through the SQLite package.
from chat.storage.sqlite.backup import Copied as Copied  # noqa: E402
from chat.storage.sqlite.backup import NotADatabase as NotADatabase  # noqa: E402
from chat.storage.sqlite.folder_lock import FolderInUse as FolderInUse  # noqa: E402
from chat.storage.sqlite.folder_lock import FolderLock as FolderLock  # noqa: E402
from chat.storage.sqlite.schema_guard import SchemaTooNew as SchemaTooNew  # noqa: E402


def lock_data_folder(data_dir: Path) -> FolderLock:
    """One process per SQLite data folder (FolderInUse otherwise); held until released or the process ends."""
    return FolderLock(data_dir).acquire()


def refuse_newer_database(database: str | Path) -> None:
    """SchemaTooNew when a newer Samtal has migrated the database (either engine)."""
    if is_url(database):
        from chat.storage.postgres.engine import check_database as check_postgres

        check_postgres(str(database))
        return
    from chat.storage.sqlite.schema_guard import check_database

    check_database(Path(database))


def backup_database(database: Path, to: Path) -> Copied:
    from chat.storage.sqlite.backup import backup

    return backup(database, to)


def restore_database(backup_file: Path, database: Path) -> tuple[Copied, Path | None]:
    from chat.storage.sqlite.backup import restore

    return restore(backup_file, database)
