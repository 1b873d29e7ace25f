"""Appends of messages and audit rows, committed in batches, for both engines.

Why batches: a commit is an fsync (SQLite with synchronous=FULL, PostgreSQL with synchronous_commit=on), and
that is what limits throughput. Appends queue up while the previous batch commits, one commit covers them
all, and nobody is acknowledged before that commit. An engine subclass says how a transaction runs
(`transaction`) and whether it is the database's only writer (then it keeps each case's last seq in memory)."""
from __future__ import annotations

import abc
import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from chat.audit.chain import GENESIS, AuditEvent, chain_hash
from chat.errors import Conflict, InvalidInput, StorageUnavailable
from chat.model import Ack, now_ms
from chat.storage.sql import Db

log = logging.getLogger("samtal.storage")

# Large enough to amortise one commit over a burst, small enough that one batch never holds the writer long.
MAX_BATCH = 256
AUDIT_CHECKPOINT_EVERY = 1000
T = TypeVar("T")


@dataclass
class _PendingAppend:
    case_id: str
    msg_id: str
    sender_device: str
    sender_user: str
    envelope: bytes
    audit: AuditEvent | None
    future: asyncio.Future[Ack]
    blobs: tuple[str, ...] = ()  # the case attachments the message uses, bound to it in its transaction


@dataclass
class _PendingAudit:
    event: AuditEvent
    future: asyncio.Future[int]


class BatchingWriter(abc.ABC):
    # Raised by a unique or foreign key constraint (the engine's own class).
    IntegrityError: type[Exception] = Exception
    # True when no other process writes this database: each case's last seq may then be kept in memory.
    sole_writer = True

    def __init__(self) -> None:
        self._pending: list[_PendingAppend] = []
        self._pending_audit: list[_PendingAudit] = []
        self._wake = asyncio.Event()
        self._batcher: asyncio.Task[None] | None = None
        # Touched only inside write transactions: each case's last seq, so that appends need not read it
        # back. Dropped when a transaction rolls back.
        self._last_seq: dict[str, int] = {}

    @abc.abstractmethod
    async def transaction(self, fn: Callable[[Db], T]) -> T:
        """Run `fn(db)` as one write transaction, serialised with every other write transaction."""

    async def write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        statements = list(statements)

        def apply(db: Db) -> None:
            for sql, params in statements:
                db.execute(sql, params)

        await self.transaction(apply)

    def start_batches(self) -> None:
        self._batcher = asyncio.create_task(self._run_batches(), name="append-batcher")

    async def stop_batches(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
            try:
                await self._batcher
            except asyncio.CancelledError:
                pass
            self._batcher = None
        futures: list[asyncio.Future[Any]] = [p.future for p in self._pending]
        futures += [p.future for p in self._pending_audit]
        for future in futures:
            if not future.done():
                future.set_exception(RuntimeError("storage closed"))
        self._pending.clear()
        self._pending_audit.clear()

    # -- batched appends -------------------------------------------------------------------------
    def enqueue_message(self, case_id: str, msg_id: str, sender_device: str, sender_user: str,
                        envelope: bytes, audit: AuditEvent | None = None,
                        blobs: tuple[str, ...] = ()) -> asyncio.Future[Ack]:
        """Queue an append now (appends are committed in the order they are queued); the future resolves
        after the commit."""
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending.append(_PendingAppend(case_id, msg_id, sender_device, sender_user, envelope, audit, future,
                                            blobs))
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

    def _insert_all(self, db: Db, batch: list[_PendingAppend],
                    audits: list[_PendingAudit]) -> tuple[list[Ack | Exception], list[int]]:
        results = self._insert_messages(db, batch) if batch else []
        # A send's audit row names the seq its message got, known only here.
        events = [replace(p.audit, detail={**p.audit.detail, "seq": r.seq, "duplicate": r.duplicate})
                  for p, r in zip(batch, results) if p.audit is not None and isinstance(r, Ack)]
        ids = self.insert_audit(db, events + [a.event for a in audits])
        return results, ids[len(events):]

    def _insert_messages(self, db: Db, batch: list[_PendingAppend]) -> list[Ack | Exception]:
        values = ",".join(["(?, ?)"] * len(batch))
        flat = [x for p in batch for x in (p.case_id, p.msg_id)]
        # The sub-select lets SQLite use the (case_id, msg_id) index; a bare row-value IN (VALUES ...)
        # scanned the whole table, so every commit grew slower as messages accumulated.
        existing: dict[tuple[str, str], tuple[int, int, bytes]] = {
            (case_id, msg_id): (seq, stored_at, env) for case_id, msg_id, seq, stored_at, env in db.execute(
                f"SELECT case_id, msg_id, seq, stored_at, envelope FROM messages WHERE (case_id, msg_id) IN"
                f" (SELECT column1, column2 FROM (VALUES {values}) AS v)", flat)}
        if not self.sole_writer:  # another process may have appended since: read every case's last seq
            self._last_seq.clear()
        missing = sorted({p.case_id for p in batch} - self._last_seq.keys())
        if missing:  # one statement for every case of the batch (on PostgreSQL, each one is a round trip)
            found = dict(db.execute(f"SELECT case_id, max(seq) FROM messages WHERE case_id IN"
                                    f" ({','.join('?' * len(missing))}) GROUP BY case_id", missing).fetchall())
            for case_id in missing:
                self._last_seq[case_id] = int(found.get(case_id) or 0)
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
            if p.blobs and not _bind_blobs(db, p, now):
                results.append(InvalidInput("an attachment the message names was not uploaded for it by its "
                                            "sender, or another message uses it", code="unknown_blob"))
                continue
            seq = self._last_seq[p.case_id] + 1
            self._last_seq[p.case_id] = seq
            existing[key] = (seq, now, p.envelope)  # a retry inside the same batch
            rows.append((p.case_id, seq, p.msg_id, p.sender_device, p.sender_user, p.envelope, now))
            results.append(Ack(p.case_id, p.msg_id, seq, now))
        db.executemany("INSERT INTO messages (case_id, seq, msg_id, sender_device, sender_user, envelope, stored_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return results

    def insert_audit(self, db: Db, events: list[AuditEvent]) -> list[int]:
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


def _bind_blobs(db: Db, p: _PendingAppend, at: int) -> bool:
    """Bind the message's attachments to it: each one its sender uploaded to this case and no message has yet.
    Checked before any is bound, so that a refused message binds none."""
    wanted = sorted(set(p.blobs))
    marks = ",".join("?" * len(wanted))
    (free,) = db.execute(f"SELECT count(*) FROM blobs WHERE id IN ({marks}) AND case_id = ? AND uploaded_by = ?"
                         " AND attached_at IS NULL", [*wanted, p.case_id, p.sender_user]).fetchone()
    if free != len(wanted):
        return False
    db.execute(f"UPDATE blobs SET attached_at = ?, msg_id = ? WHERE id IN ({marks})", [at, p.msg_id, *wanted])
    return True
