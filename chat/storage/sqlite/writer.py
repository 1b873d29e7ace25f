"""The SQLite writer: one connection on one dedicated thread, every write transaction run there as a
single call, and appends (messages and audit rows) committed in batches.

Why a thread of its own: each call into a database thread costs a turn of the event loop, and under load
a turn is tens of milliseconds. A batch used to take about six such turns; now it takes one. Why batches:
a commit is an fsync, and with synchronous=FULL that is what limits throughput. Appends queue up while the
previous batch commits, one fsync covers them all, and nobody is acknowledged before that commit."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, TypeVar

from chat.audit.chain import GENESIS, AuditEvent, chain_hash
from chat.errors import Conflict, StorageUnavailable
from chat.model import Ack, now_ms
from chat.storage.sqlite.failures import FailureBurst, storage_failure
from chat.storage.sqlite.schema_guard import refuse_unknown_migrations

log = logging.getLogger("samtal.storage")

# Large enough to amortise one fsync over a burst, small enough that one batch never holds the writer long.
MAX_BATCH = 256
AUDIT_CHECKPOINT_EVERY = 1000
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


@dataclass
class _PendingAppend:
    case_id: str
    msg_id: str
    sender_device: str
    sender_user: str
    envelope: bytes
    audit: AuditEvent | None
    future: asyncio.Future[Ack]


@dataclass
class _PendingAudit:
    event: AuditEvent
    future: asyncio.Future[int]


class SqliteWriter:
    IntegrityError = sqlite3.IntegrityError

    def __init__(self, path: str, synchronous: str) -> None:
        self.path = path
        self.synchronous = synchronous
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._db: sqlite3.Connection | None = None
        self._pending: list[_PendingAppend] = []
        self._pending_audit: list[_PendingAudit] = []
        self._wake = asyncio.Event()
        self._batcher: asyncio.Task[None] | None = None
        # Touched only on the writer thread: each case's last seq, so that appends need not read it back.
        # Dropped when a transaction rolls back.
        self._last_seq: dict[str, int] = {}
        self.failures = FailureBurst()  # touched only on the writer thread

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        await self.run(self._open_sync)
        self._batcher = asyncio.create_task(self._run_batches(), name="sqlite-append-batcher")

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
        for version, sql in migrations:
            if version not in applied:
                log.info("applying migration", extra={"version": version})
                db.executescript(f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations VALUES ({version},"
                                 f" {now_ms()});\nCOMMIT;")

    async def close(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
            try:
                await self._batcher
            except asyncio.CancelledError:
                pass
            self._batcher = None
        for pending in [*self._pending, *self._pending_audit]:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("storage closed"))
        self._pending.clear()
        self._pending_audit.clear()
        if self._db is not None:
            await self.run(self._db.close)
            self._db = None
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

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(db)` in one immediate transaction on the writer thread."""
        return await self.run(self._transaction, fn)

    async def write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        statements = list(statements)

        def apply(db: sqlite3.Connection) -> None:
            for sql, params in statements:
                db.execute(sql, params)

        await self.transaction(apply)

    # -- batched appends -------------------------------------------------------------------------
    def enqueue_message(self, case_id: str, msg_id: str, sender_device: str, sender_user: str,
                        envelope: bytes, audit: AuditEvent | None = None) -> asyncio.Future[Ack]:
        """Queue an append now (appends are committed in the order they are queued); the future resolves
        after the commit."""
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending.append(_PendingAppend(case_id, msg_id, sender_device, sender_user, envelope, audit, future))
        self._wake.set()
        return future

    async def append_audit(self, event: AuditEvent) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending_audit.append(_PendingAudit(event, future))
        self._wake.set()
        return await future

    async def _run_batches(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending or self._pending_audit:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                audits, self._pending_audit = self._pending_audit[:MAX_BATCH], self._pending_audit[MAX_BATCH:]
                waiting = [p.future for p in batch] + [a.future for a in audits]
                try:
                    await self._commit_batch(batch, audits)
                except asyncio.CancelledError:
                    for future in waiting:
                        if not future.done():
                            future.set_exception(RuntimeError("storage closed"))
                    raise
                except Exception as exc:  # the whole batch failed: nobody is acknowledged
                    if not isinstance(exc, StorageUnavailable):  # that one is logged once per burst
                        log.exception("append batch failed")
                    for future in waiting:
                        if not future.done():
                            future.set_exception(exc)

    async def _commit_batch(self, batch: list[_PendingAppend], audits: list[_PendingAudit]) -> None:
        results, audit_ids = await self.transaction(lambda db: self._insert_all(db, batch, audits))
        for p, result in zip(batch, results):
            if p.future.done():  # the sender went away; the message is stored all the same
                continue
            if isinstance(result, Exception):
                p.future.set_exception(result)
            else:
                p.future.set_result(result)
        for pending, row_id in zip(audits, audit_ids):
            if not pending.future.done():
                pending.future.set_result(row_id)

    def _insert_all(self, db: sqlite3.Connection, batch: list[_PendingAppend],
                    audits: list[_PendingAudit]) -> tuple[list[Ack | Exception], list[int]]:
        results = self._insert_messages(db, batch) if batch else []
        # A send's audit row names the seq its message got, known only here.
        events = [replace(p.audit, detail={**p.audit.detail, "seq": r.seq, "duplicate": r.duplicate})
                  for p, r in zip(batch, results) if p.audit is not None and isinstance(r, Ack)]
        ids = self.insert_audit(db, events + [a.event for a in audits])
        return results, ids[len(events):]

    def _insert_messages(self, db: sqlite3.Connection, batch: list[_PendingAppend]) -> list[Ack | Exception]:
        values = ",".join(["(?, ?)"] * len(batch))
        flat = [x for p in batch for x in (p.case_id, p.msg_id)]
        # The sub-select lets SQLite use the (case_id, msg_id) index; a bare row-value IN (VALUES ...)
        # scanned the whole table, so every commit grew slower as messages accumulated.
        existing: dict[tuple[str, str], tuple[int, int, bytes]] = {
            (case_id, msg_id): (seq, stored_at, env) for case_id, msg_id, seq, stored_at, env in db.execute(
                f"SELECT case_id, msg_id, seq, stored_at, envelope FROM messages WHERE (case_id, msg_id) IN"
                f" (SELECT column1, column2 FROM (VALUES {values}))", flat)}
        for case_id in {p.case_id for p in batch} - self._last_seq.keys():
            (self._last_seq[case_id],) = db.execute(
                "SELECT coalesce(max(seq), 0) FROM messages WHERE case_id = ?", (case_id,)).fetchone()
        now = now_ms()
        rows: list[tuple[Any, ...]] = []
        results: list[Ack | Exception] = []
        for p in batch:
            key = (p.case_id, p.msg_id)
            if key in existing:
                seq, stored_at, env = existing[key]
                if env == p.envelope:
                    results.append(Ack(p.case_id, p.msg_id, seq, stored_at, duplicate=True))
                else:
                    results.append(Conflict("this msg_id was used for another message", code="msg_id_conflict"))
                continue
            seq = self._last_seq[p.case_id] + 1
            self._last_seq[p.case_id] = seq
            existing[key] = (seq, now, p.envelope)  # a retry inside the same batch
            rows.append((p.case_id, seq, p.msg_id, p.sender_device, p.sender_user, p.envelope, now))
            results.append(Ack(p.case_id, p.msg_id, seq, now))
        db.executemany("INSERT INTO messages (case_id, seq, msg_id, sender_device, sender_user, envelope, stored_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return results

    def insert_audit(self, db: sqlite3.Connection, events: list[AuditEvent]) -> list[int]:
        """Chain and insert audit rows; only inside a transaction on the writer thread (`transaction(fn)`),
        so that a record and the audit row that proves it commit together."""
        if not events:
            return []
        # The head is read inside this (immediate) transaction, never cached: an admin command in another
        # process may have appended since, and a cached head would then collide with its rows.
        row = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:  # empty, or every row was pruned: the chain goes on from the anchor (samtal audit prune)
            row = db.execute("SELECT last_pruned_id, last_pruned_hash FROM audit_anchor").fetchone()
        first_id, head_hash = (row[0], bytes(row[1])) if row else (0, GENESIS)
        rows, ids, now, head_id = [], [], now_ms(), first_id
        for event in events:
            event = event if event.at else replace(event, at=now)
            head_id += 1
            digest = chain_hash(head_hash, head_id, event)
            rows.append((head_id, event.at, event.action, event.outcome, event.actor, event.role, event.unit_id,
                         event.case_id, event.reason, json.dumps(event.detail, sort_keys=True), head_hash, digest))
            ids.append(head_id)
            head_hash = digest
        db.executemany("INSERT INTO audit_log (id, at, action, outcome, actor, role, unit_id, case_id, reason,"
                       " detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if head_id // AUDIT_CHECKPOINT_EVERY > first_id // AUDIT_CHECKPOINT_EVERY:
            # Logged to the (separately kept) service log: a head noted outside the database lets
            # `samtal audit verify --expect-head` notice rows cut from the end, which a chain alone cannot.
            log.info("audit checkpoint", extra={"audit_id": head_id, "audit_hash": head_hash.hex()})
        return ids
