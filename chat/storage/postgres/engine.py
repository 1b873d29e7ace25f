"""The PostgreSQL engine (psycopg 3): the same SQL as SQLite's (chat/storage/sql/), for several server
processes on one database.

Write transactions run the shared SQL's functions on worker threads with psycopg's synchronous API, each on
a pooled connection, READ COMMITTED, after taking one transaction-level advisory lock (WRITE_LOCK). That
lock serialises the writers of every process the way SQLite's single writer serialises one process's: the
read-then-write rules in the SQL (the next seq of a case, the next epoch, a booked time, the audit chain's
head) see every earlier commit, because each statement under READ COMMITTED reads what was committed when
it started, and nothing else commits while the lock is held. Every write extends the audit chain, one
sequence for the whole database, so writes are one queue in any case; batches (chat/storage/sql/batching.py)
make one commit of many appends. Reads (`one`, `all`) take no lock and run on psycopg's async API."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from chat.model import now_ms
from chat.storage.postgres.failures import storage_failure
from chat.storage.sql.core import SqlEngine
from chat.storage.sqlite.failures import FailureBurst
from chat.storage.sqlite.schema_guard import refuse_unknown_migrations

log = logging.getLogger("samtal.storage")
T = TypeVar("T")

# pg_advisory_xact_lock keys: one for every write transaction, one for applying migrations.
WRITE_LOCK = 0x5A4D_7461_6C01
MIGRATE_LOCK = 0x5A4D_7461_6C02
# Worker threads (and pooled connections) for write transactions; they queue on WRITE_LOCK, so more would
# only hold more connections. Reads have a pool of their own.
WRITERS = 4
READERS = 8


@functools.lru_cache(maxsize=2048)
def placeholders(sql: str) -> str:
    """The shared SQL's `?` placeholders as psycopg's `%s` (a literal % doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgDb:
    """A psycopg connection inside a transaction, with sqlite3's execute/executemany."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.wrote = False  # a statement that changes rows ran: its commit shows the storage takes writes

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        self.wrote = self.wrote or not sql.lstrip().startswith("SELECT")
        return self.conn.execute(placeholders(sql), tuple(params))

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> psycopg.Cursor[Any]:
        self.wrote = self.wrote or bool(params)
        cur = self.conn.cursor()
        cur.executemany(placeholders(sql), [tuple(p) for p in params])
        return cur


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("chat.storage.postgres.migrations").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def check_database(url: str) -> None:
    """Before a server starts: SchemaTooNew if a newer Samtal migrated the database (read only). An unreachable
    server is left to the start itself to report."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
                return
            applied = [v for (v,) in conn.execute("SELECT version FROM schema_migrations")]
    except psycopg.OperationalError:
        return
    refuse_unknown_migrations(applied, [version for version, _ in _migrations()])


def migrate(url: str) -> list[int]:
    """Apply the migrations this database lacks, under an advisory lock (two servers starting at once
    apply each once); returns the versions applied now."""
    done = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
                         " applied_at BIGINT NOT NULL)")
            applied = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
            migrations = _migrations()
            refuse_unknown_migrations(applied, [version for version, _ in migrations])
            for version, sql in migrations:
                if version in applied:
                    continue
                log.info("applying migration", extra={"version": version})
                with conn.transaction():
                    conn.execute(sql.encode("utf-8"))  # bytes: sent as is, several statements in one
                    conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, now_ms()))
                done.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
    return done


class PostgresEngine(SqlEngine):
    IntegrityError = psycopg.IntegrityError
    sole_writer = False  # other server processes write too: nothing read is kept between transactions

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._threads = ThreadPoolExecutor(WRITERS, thread_name_prefix="pg-writer")
        self._pool: ConnectionPool | None = None
        self._readers: AsyncConnectionPool | None = None
        self.failures = FailureBurst()
        self._failures_lock = threading.Lock()  # writes fail and recover on several threads

    async def open(self) -> None:
        await asyncio.to_thread(migrate, self.url)
        self._pool = ConnectionPool(self.url, min_size=1, max_size=WRITERS, open=False, name="samtal-writers")
        await asyncio.to_thread(self._pool.open, True, 30)
        self._readers = AsyncConnectionPool(self.url, min_size=1, max_size=READERS, open=False,
                                            kwargs={"autocommit": True}, name="samtal-readers")
        await self._readers.open(wait=True, timeout=30)
        self.start_batches()

    async def close(self) -> None:
        await self.stop_batches()
        if self._readers is not None:
            await self._readers.close()
            self._readers = None
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
            self._pool = None
        self._threads.shutdown(wait=True)

    @contextlib.contextmanager
    def _failures_told(self, db: PgDb | None = None) -> Iterator[None]:
        """A storage failure raised as StorageUnavailable and logged once per burst; a transaction that wrote
        (`db`) and committed after a burst ends it."""
        try:
            yield
        except Exception as exc:
            failure = storage_failure(exc)
            if failure is None:
                raise
            with self._failures_lock:
                self.failures.failure(failure)
            raise failure from exc
        if db is not None and db.wrote:
            with self._failures_lock:
                self.failures.success()

    def _transaction(self, fn: Callable[[PgDb], T]) -> T:
        assert self._pool is not None, "store is not open"
        with self._failures_told(), self._pool.connection() as conn:
            db = PgDb(conn)
            with self._failures_told(db), conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                return fn(db)

    async def transaction(self, fn: Callable[[Any], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._transaction, fn)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        assert self._readers is not None, "store is not open"
        with self._failures_told():
            async with self._readers.connection() as conn:
                cur = await conn.execute(placeholders(sql), tuple(params))
                return await cur.fetchone()

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        assert self._readers is not None, "store is not open"
        with self._failures_told():
            async with self._readers.connection() as conn:
                cur = await conn.execute(placeholders(sql), tuple(params))
                return await cur.fetchall()
