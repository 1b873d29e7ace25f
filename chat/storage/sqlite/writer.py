"""The SQLite engine: one writer connection on one dedicated thread, every write transaction run there as a
single call, appends committed in batches (chat/storage/sql/batching.py); and one reader connection beside it.

Why a thread of its own: each call into a database thread costs a turn of the event loop, and under load
a turn is tens of milliseconds. A batch used to take about six such turns; now it takes one."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from chat.model import now_ms
from chat.storage.sql.batching import MAX_BATCH
from chat.storage.sql.core import SqlEngine
from chat.storage.sqlite.failures import FailureBurst, storage_failure
from chat.storage.sqlite.schema_guard import refuse_unknown_migrations

__all__ = ["MAX_BATCH", "SqliteWriter"]

log = logging.getLogger("samtal.storage")
T = TypeVar("T")


def pragmas(db: sqlite3.Connection, synchronous: str) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute(f"PRAGMA synchronous = {synchronous}")


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("chat.storage.sqlite.migrations").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SqliteWriter(SqlEngine):
    IntegrityError = sqlite3.IntegrityError
    sole_writer = True  # other processes (the admin commands) write through transactions that read what they need

    def __init__(self, path: str, synchronous: str) -> None:
        super().__init__()
        self.path = path
        self.synchronous = synchronous
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._db: sqlite3.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self.failures = FailureBurst()  # touched only on the writer thread

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        await self.run(self._open_sync)
        self._reader = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in ("query_only = ON", "foreign_keys = ON", "busy_timeout = 5000"):
            await self._reader.execute(f"PRAGMA {pragma}")
        self.start_batches()

    def _open_sync(self) -> None:
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        pragmas(self._db, self.synchronous)
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                   " applied_at INTEGER NOT NULL)")
        # Every missing one, not only those above the highest applied: numbers are reserved per piece of work,
        # so a lower number can land after a higher one.
        applied = {version for (version,) in db.execute("SELECT version FROM schema_migrations")}
        migrations = _migrations()
        refuse_unknown_migrations(applied, [version for version, _ in migrations])
        # Foreign keys off while migrating: a migration may rebuild a table others refer to (SQLite's documented
        # way to change a column's constraints); each is checked for broken references before it commits.
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            for version, sql in migrations:
                if version not in applied:
                    log.info("applying migration", extra={"version": version})
                    db.executescript(f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations VALUES ({version},"
                                     f" {now_ms()});")
                    if db.execute("PRAGMA foreign_key_check").fetchone() is not None:
                        db.execute("ROLLBACK")
                        raise sqlite3.IntegrityError(f"migration {version} leaves references to missing rows")
                    db.execute("COMMIT")
        finally:
            db.execute("PRAGMA foreign_keys = ON")

    async def close(self) -> None:
        await self.stop_batches()
        if self._db is not None:
            await self.run(self._db.close)
            self._db = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        self._thread.shutdown(wait=True)

    # -- transactions ----------------------------------------------------------------------------
    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._db is not None, "store is not open"
        db = self._db
        changes = db.total_changes
        try:
            db.execute("BEGIN IMMEDIATE")
            result = fn(db)
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # a failed disk may refuse the rollback too
                    db.execute("ROLLBACK")
            self._last_seq.clear()  # they may have moved past what was committed
            failure = storage_failure(exc)
            if failure is None:
                raise
            self.failures.failure(failure)
            raise failure from exc
        if db.total_changes != changes:  # a transaction that changed nothing wrote nothing: proves no recovery
            self.failures.success()
        return result

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:  # type: ignore[override]
        """Run `fn(db)` in one immediate transaction on the writer thread."""
        return await self.run(self._transaction, fn)

    # -- reads -----------------------------------------------------------------------------------
    # Each read is one call on the reader's thread (execute and fetch together). Separate execute and
    # fetch calls let concurrent reads interleave, so a statement was always active on the shared reader
    # connection, its read transaction never ended, and it kept reading an old snapshot (a session
    # committed a moment ago was not found).
    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        assert self._reader is not None, "store is not open"
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        assert self._reader is not None, "store is not open"
        return list(await self._reader.execute_fetchall(sql, params))
