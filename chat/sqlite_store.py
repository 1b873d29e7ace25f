"""SQLite storage, the embedded default: WAL, foreign keys, one writer that commits appends in batches.

Why batches: a commit is an fsync, and with synchronous=FULL that is the cost that limits throughput.
Message appends queue up while the previous batch commits, so one fsync covers many messages, and no
sender is acknowledged before the commit that holds its message."""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from .audit import GENESIS, AuditEvent, AuditRow, chain_hash
from .errors import Conflict
from .model import (
    Ack,
    Case,
    CaseActivity,
    CaseKeyWrap,
    Device,
    MessageMeta,
    Municipality,
    ReceiptMarks,
    Role,
    StoredMessage,
    Unit,
    UnitKeyEpoch,
    UnitKeyGrant,
    User,
)
from .storage import Storage

log = logging.getLogger("samtal.storage")

# Large enough to amortise one fsync over a burst, small enough that one batch never holds the writer long.
MAX_BATCH = 256
AUDIT_CHECKPOINT_EVERY = 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("chat.migrations").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class _PendingAppend:
    __slots__ = ("case_id", "msg_id", "sender_device", "sender_user", "envelope", "audit", "future")

    def __init__(self, case_id: str, msg_id: str, sender_device: str, sender_user: str, envelope: bytes,
                 audit: AuditEvent | None, future: asyncio.Future[Ack]) -> None:
        self.case_id = case_id
        self.msg_id = msg_id
        self.sender_device = sender_device
        self.sender_user = sender_user
        self.envelope = envelope
        self.audit = audit
        self.future = future


class _PendingAudit:
    __slots__ = ("event", "future")

    def __init__(self, event: AuditEvent, future: asyncio.Future[int]) -> None:
        self.event = event
        self.future = future


class SqliteStore(Storage):
    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = str(path)
        self.synchronous = synchronous
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._pending: list[_PendingAppend] = []
        self._pending_audit: list[_PendingAudit] = []
        # (id, hash) of the newest audit row; only the writer appends, so it can chain from memory.
        self._audit_head: tuple[int, bytes] | None = None
        self._wake = asyncio.Event()
        self._batcher: asyncio.Task[None] | None = None
        self._last_seq: dict[str, int] = {}
        # Read-through caches for the send path; this process is the only writer, so it keeps them true.
        self._devices: dict[str, Device] = {}
        self._cases: dict[str, Case] = {}
        self._users: dict[str, User] = {}
        self._case_epoch: dict[str, int] = {}
        # Bumped by every device write: a read that started before a revocation must not cache what it read.
        self._device_generation = 0

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = await aiosqlite.connect(self.path, isolation_level=None)
        await self._pragmas(self._writer)
        await self._migrate()
        self._reader = await aiosqlite.connect(self.path, isolation_level=None)
        await self._pragmas(self._reader)
        await self._reader.execute("PRAGMA query_only = ON")
        self._batcher = asyncio.create_task(self._run_batches(), name="sqlite-append-batcher")

    async def _pragmas(self, db: aiosqlite.Connection) -> None:
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA busy_timeout = 5000")
        await db.execute(f"PRAGMA synchronous = {self.synchronous}")

    async def _migrate(self) -> None:
        db = self._w
        await db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        async with db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations") as cur:
            (current,) = await cur.fetchone()  # type: ignore[misc]
        for version, sql in _migrations():
            if version <= current:
                continue
            log.info("applying migration", extra={"version": version})
            await db.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations VALUES ({version}, {_now_ms()});\nCOMMIT;")

    async def close(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
            try:
                await self._batcher
            except asyncio.CancelledError:
                pass
            self._batcher = None
        for pending in self._pending:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("storage closed"))
        self._pending.clear()
        for db in (self._reader, self._writer):
            if db is not None:
                await db.close()
        self._reader = self._writer = None

    @property
    def _w(self) -> aiosqlite.Connection:
        assert self._writer is not None, "store is not open"
        return self._writer

    @property
    def _r(self) -> aiosqlite.Connection:
        assert self._reader is not None, "store is not open"
        return self._reader

    async def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Run statements in one immediate transaction on the writer."""
        async with self._write_lock:
            db = self._w
            await db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    await db.execute(sql, params)
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    # Each read is one call on the reader's thread (execute and fetch together). Separate execute and
    # fetch calls let concurrent reads interleave, so a statement was always active on the shared reader
    # connection, its read transaction never ended, and it kept reading an old snapshot (a session
    # committed a moment ago was not found).
    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._r.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._r.execute_fetchall(sql, params))

    # -- organisation and accounts ---------------------------------------------------------------
    async def add_municipality(self, m: Municipality) -> None:
        await self._write([("INSERT INTO municipalities (id, name) VALUES (?, ?)", (m.id, m.name))])

    async def add_unit(self, unit: Unit) -> None:
        await self._write([("INSERT INTO units (id, municipality_id, name) VALUES (?, ?, ?)",
                            (unit.id, unit.municipality_id, unit.name))])

    async def get_unit(self, unit_id: str) -> Unit | None:
        row = await self._one("SELECT id, municipality_id, name FROM units WHERE id = ?", (unit_id,))
        return Unit(*row) if row else None

    async def add_user(self, user: User) -> None:
        await self._write([(
            "INSERT INTO users (id, username, display_name, role, unit_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (user.id, user.username, user.display_name, user.role.value, user.unit_id, _now_ms()))])

    _USER_COLS = "id, username, display_name, role, unit_id"

    @staticmethod
    def _user(row: Any) -> User:
        return User(row[0], row[1], row[2], Role(row[3]), row[4])

    async def get_user(self, user_id: str) -> User | None:
        if (cached := self._users.get(user_id)) is not None:
            return cached
        row = await self._one(f"SELECT {self._USER_COLS} FROM users WHERE id = ?", (user_id,))
        if row is None:
            return None
        self._users[user_id] = user = self._user(row)
        return user

    async def get_user_by_username(self, username: str) -> User | None:
        row = await self._one(f"SELECT {self._USER_COLS} FROM users WHERE username = ?", (username,))
        return self._user(row) if row else None

    async def staff_of_unit(self, unit_id: str) -> list[User]:
        rows = await self._all(
            f"SELECT {self._USER_COLS} FROM users WHERE unit_id = ? AND role IN (?, ?, ?) ORDER BY username",
            (unit_id, Role.CASEWORKER.value, Role.SUPERVISOR.value, Role.UNIT_ADMIN.value))
        return [self._user(r) for r in rows]

    # -- devices -----------------------------------------------------------------------------------
    _DEVICE_COLS = "id, user_id, sign_pub, kem_pub, label, created_at, revoked_at"

    async def add_device(self, device: Device) -> None:
        await self._write([(
            f"INSERT INTO devices ({self._DEVICE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (device.id, device.user_id, device.sign_pub, device.kem_pub, device.label, device.created_at,
             device.revoked_at))])
        self._device_generation += 1
        self._devices.pop(device.id, None)

    async def get_device(self, device_id: str) -> Device | None:
        if (cached := self._devices.get(device_id)) is not None:
            return cached
        generation = self._device_generation
        row = await self._one(f"SELECT {self._DEVICE_COLS} FROM devices WHERE id = ?", (device_id,))
        if row is None:
            return None
        device = Device(*row)
        if generation == self._device_generation:
            self._devices[device_id] = device
        return device

    async def devices_of_user(self, user_id: str) -> list[Device]:
        rows = await self._all(f"SELECT {self._DEVICE_COLS} FROM devices WHERE user_id = ? ORDER BY created_at",
                               (user_id,))
        return [Device(*r) for r in rows]

    async def revoke_device(self, device_id: str, at: int) -> None:
        await self._write([("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                            (at, device_id))])
        self._device_generation += 1
        self._devices.pop(device_id, None)

    # -- unit keys ---------------------------------------------------------------------------------
    @staticmethod
    def _grant_row(g: UnitKeyGrant) -> tuple[Any, ...]:
        return (g.unit_id, g.epoch, g.device_id, g.enc, g.ct, g.granted_by_device, g.signature, g.created_at)

    _GRANT_INSERT = ("INSERT OR IGNORE INTO unit_key_grants (unit_id, epoch, device_id, enc, ct, granted_by_device,"
                     " signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")

    async def add_unit_key_epoch(self, epoch: UnitKeyEpoch, grants: Sequence[UnitKeyGrant]) -> None:
        async with self._write_lock:
            db = self._w
            await db.execute("BEGIN IMMEDIATE")
            try:
                async with db.execute("SELECT coalesce(max(epoch), 0) FROM unit_key_epochs WHERE unit_id = ?",
                                      (epoch.unit_id,)) as cur:
                    (current,) = await cur.fetchone()  # type: ignore[misc]
                if epoch.epoch != current + 1:
                    raise Conflict(f"unit key epoch must be {current + 1}", code="epoch_exists")
                await db.execute(
                    "INSERT INTO unit_key_epochs (unit_id, epoch, public_key, created_by_device, signature, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (epoch.unit_id, epoch.epoch, epoch.public_key, epoch.created_by_device, epoch.signature,
                     epoch.created_at))
                await db.executemany(self._GRANT_INSERT, [self._grant_row(g) for g in grants])
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def unit_key_epochs(self, unit_id: str) -> list[UnitKeyEpoch]:
        rows = await self._all(
            "SELECT unit_id, epoch, public_key, created_by_device, signature, created_at FROM unit_key_epochs"
            " WHERE unit_id = ? ORDER BY epoch", (unit_id,))
        return [UnitKeyEpoch(*r) for r in rows]

    async def add_unit_key_grants(self, grants: Sequence[UnitKeyGrant]) -> None:
        await self._write([(self._GRANT_INSERT, self._grant_row(g)) for g in grants])

    _GRANT_COLS = "unit_id, epoch, device_id, enc, ct, granted_by_device, signature, created_at"

    async def unit_key_grants_for_device(self, unit_id: str, device_id: str) -> list[UnitKeyGrant]:
        rows = await self._all(f"SELECT {self._GRANT_COLS} FROM unit_key_grants WHERE unit_id = ? AND device_id = ?"
                               " ORDER BY epoch", (unit_id, device_id))
        return [UnitKeyGrant(*r) for r in rows]

    async def unit_key_grants(self, unit_id: str, epoch: int) -> list[UnitKeyGrant]:
        rows = await self._all(f"SELECT {self._GRANT_COLS} FROM unit_key_grants WHERE unit_id = ? AND epoch = ?",
                               (unit_id, epoch))
        return [UnitKeyGrant(*r) for r in rows]

    # -- cases and case keys -----------------------------------------------------------------------
    _CASE_COLS = "id, unit_id, citizen_id, assigned_to, title, status, created_at"

    async def add_case(self, case: Case) -> None:
        await self._write([(f"INSERT INTO cases ({self._CASE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (case.id, case.unit_id, case.citizen_id, case.assigned_to, case.title, case.status,
                             case.created_at))])
        self._cases.pop(case.id, None)

    async def get_case(self, case_id: str) -> Case | None:
        if (cached := self._cases.get(case_id)) is not None:
            return cached
        row = await self._one(f"SELECT {self._CASE_COLS} FROM cases WHERE id = ?", (case_id,))
        if row is None:
            return None
        self._cases[case_id] = case = Case(*row)
        return case

    async def cases_of_citizen(self, citizen_id: str) -> list[Case]:
        rows = await self._all(f"SELECT {self._CASE_COLS} FROM cases WHERE citizen_id = ? ORDER BY created_at, id",
                               (citizen_id,))
        return [Case(*r) for r in rows]

    async def cases_of_unit(self, unit_id: str) -> list[Case]:
        rows = await self._all(f"SELECT {self._CASE_COLS} FROM cases WHERE unit_id = ? ORDER BY created_at, id",
                               (unit_id,))
        return [Case(*r) for r in rows]

    async def current_case_epoch(self, case_id: str) -> int:
        if (cached := self._case_epoch.get(case_id)) is not None:
            return cached
        row = await self._one("SELECT coalesce(max(epoch), 0) FROM case_key_epochs WHERE case_id = ?", (case_id,))
        # Epochs only grow: a new epoch committed while this read was in flight must not be rolled back.
        epoch = max(int(row[0]), self._case_epoch.get(case_id, 0))
        self._case_epoch[case_id] = epoch
        return epoch

    _WRAP_INSERT = ("INSERT OR IGNORE INTO case_key_wraps (case_id, epoch, recipient, enc, ct, wrapped_by_device,"
                    " signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")

    @staticmethod
    def _wrap_row(w: CaseKeyWrap) -> tuple[Any, ...]:
        return (w.case_id, w.epoch, w.recipient, w.enc, w.ct, w.wrapped_by_device, w.signature, w.created_at)

    async def add_case_key_epoch(self, case_id: str, epoch: int, created_by_device: str,
                                 wraps: Sequence[CaseKeyWrap], at: int) -> None:
        async with self._write_lock:
            db = self._w
            await db.execute("BEGIN IMMEDIATE")
            try:
                async with db.execute("SELECT coalesce(max(epoch), 0) FROM case_key_epochs WHERE case_id = ?",
                                      (case_id,)) as cur:
                    (current,) = await cur.fetchone()  # type: ignore[misc]
                if epoch != current + 1:
                    raise Conflict(f"case key epoch must be {current + 1}", code="epoch_exists")
                await db.execute("INSERT INTO case_key_epochs (case_id, epoch, created_by_device, created_at)"
                                 " VALUES (?, ?, ?, ?)", (case_id, epoch, created_by_device, at))
                await db.executemany(self._WRAP_INSERT, [self._wrap_row(w) for w in wraps])
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
        self._case_epoch[case_id] = epoch

    async def add_case_key_wraps(self, wraps: Sequence[CaseKeyWrap]) -> None:
        await self._write([(self._WRAP_INSERT, self._wrap_row(w)) for w in wraps])

    async def case_key_wraps(self, case_id: str, recipients: Sequence[str] | None = None) -> list[CaseKeyWrap]:
        cols = "case_id, epoch, recipient, enc, ct, wrapped_by_device, signature, created_at"
        if recipients is None:
            rows = await self._all(f"SELECT {cols} FROM case_key_wraps WHERE case_id = ? ORDER BY epoch, recipient",
                                   (case_id,))
        else:
            marks = ",".join("?" * len(recipients)) or "NULL"
            rows = await self._all(f"SELECT {cols} FROM case_key_wraps WHERE case_id = ? AND recipient IN ({marks})"
                                   " ORDER BY epoch, recipient", (case_id, *recipients))
        return [CaseKeyWrap(*r) for r in rows]

    # -- messages ----------------------------------------------------------------------------------
    async def append_message(self, case_id: str, msg_id: str, sender_device: str, sender_user: str,
                             envelope: bytes, audit: AuditEvent | None = None) -> Ack:
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending.append(_PendingAppend(case_id, msg_id, sender_device, sender_user, envelope, audit, future))
        self._wake.set()
        return await future

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
                    log.exception("append batch failed")
                    for future in waiting:
                        if not future.done():
                            future.set_exception(exc)

    async def _commit_batch(self, batch: list[_PendingAppend], audits: list[_PendingAudit]) -> None:
        async with self._write_lock:
            db = self._w
            await db.execute("BEGIN IMMEDIATE")
            try:
                results = await self._insert_batch(db, batch) if batch else []
                # A send's audit row names the seq its message got, known only here.
                events = [replace(p.audit, detail={**p.audit.detail, "seq": r.seq, "duplicate": r.duplicate})
                          for p, r in zip(batch, results) if p.audit is not None and isinstance(r, Ack)]
                audit_ids = await self._insert_audit(db, events + [a.event for a in audits])
            except BaseException:
                await db.execute("ROLLBACK")
                for p in batch:  # the cached seqs may have moved past what was committed
                    self._last_seq.pop(p.case_id, None)
                self._audit_head = None
                raise
            await db.execute("COMMIT")
        for p, result in zip(batch, results):
            if p.future.done():  # the sender went away; the message is stored all the same
                continue
            if isinstance(result, Exception):
                p.future.set_exception(result)
            else:
                p.future.set_result(result)
        for pending, row_id in zip(audits, audit_ids[len(events):]):
            if not pending.future.done():
                pending.future.set_result(row_id)

    async def _insert_audit(self, db: aiosqlite.Connection, events: list[AuditEvent]) -> list[int]:
        if not events:
            return []
        if self._audit_head is None:
            async with db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1") as cur:
                row = await cur.fetchone()
            self._audit_head = (row[0], bytes(row[1])) if row else (0, GENESIS)
        head_id, head_hash = self._audit_head
        rows, ids, now = [], [], _now_ms()
        for event in events:
            if not event.at:
                event = replace(event, at=now)
            head_id += 1
            digest = chain_hash(head_hash, head_id, event)
            rows.append((head_id, event.at, event.action, event.outcome, event.actor, event.role, event.unit_id,
                         event.case_id, event.reason, json.dumps(event.detail, sort_keys=True), head_hash, digest))
            ids.append(head_id)
            head_hash = digest
        await db.executemany("INSERT INTO audit_log (id, at, action, outcome, actor, role, unit_id, case_id, reason,"
                             " detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if head_id // AUDIT_CHECKPOINT_EVERY > self._audit_head[0] // AUDIT_CHECKPOINT_EVERY:
            # Logged to the (separately kept) service log: a head noted outside the database lets
            # `samtal audit verify --expect-head` notice rows cut from the end, which a chain alone cannot.
            log.info("audit checkpoint", extra={"audit_id": head_id, "audit_hash": head_hash.hex()})
        self._audit_head = (head_id, head_hash)
        return ids

    async def audit_rows(self, after_id: int = 0, limit: int = 1000) -> list[AuditRow]:
        rows = await self._all(
            "SELECT id, at, action, outcome, actor, role, unit_id, case_id, reason, detail, prev_hash, hash"
            " FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit))
        return [AuditRow(r[0], AuditEvent(r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9]), r[1]),
                         bytes(r[10]), bytes(r[11])) for r in rows]

    async def _insert_batch(self, db: aiosqlite.Connection, batch: list[_PendingAppend]) -> list[Ack | Exception]:
        keys = [(p.case_id, p.msg_id) for p in batch]
        values = ",".join(["(?, ?)"] * len(keys))
        flat = [x for key in keys for x in key]
        existing: dict[tuple[str, str], tuple[int, int, bytes]] = {}
        # The sub-select lets SQLite use the (case_id, msg_id) index; a bare row-value IN (VALUES ...)
        # scanned the whole table, so every commit grew slower as messages accumulated.
        async with db.execute(
                f"SELECT case_id, msg_id, seq, stored_at, envelope FROM messages WHERE (case_id, msg_id) IN"
                f" (SELECT column1, column2 FROM (VALUES {values}))", flat) as cur:
            for case_id, msg_id, seq, stored_at, env in await cur.fetchall():
                existing[(case_id, msg_id)] = (seq, stored_at, env)
        for case_id in {p.case_id for p in batch} - self._last_seq.keys():
            async with db.execute("SELECT coalesce(max(seq), 0) FROM messages WHERE case_id = ?", (case_id,)) as cur:
                (self._last_seq[case_id],) = await cur.fetchone()  # type: ignore[misc]
        now = _now_ms()
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
        if rows:
            await db.executemany(
                "INSERT INTO messages (case_id, seq, msg_id, sender_device, sender_user, envelope, stored_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return results

    async def messages_after(self, case_id: str, after_seq: int, limit: int) -> list[StoredMessage]:
        rows = await self._all(
            "SELECT case_id, seq, msg_id, sender_device, sender_user, envelope, stored_at FROM messages"
            " WHERE case_id = ? AND seq > ? ORDER BY seq LIMIT ?", (case_id, after_seq, limit))
        return [StoredMessage(*r) for r in rows]

    async def last_seq(self, case_id: str) -> int:
        row = await self._one("SELECT coalesce(max(seq), 0) FROM messages WHERE case_id = ?", (case_id,))
        return int(row[0])

    # -- inbox activity ------------------------------------------------------------------------------
    async def case_activity(self, case_id: str, user_id: str) -> CaseActivity:
        row = await self._one(
            "WITH m AS (SELECT messages.seq, messages.stored_at, messages.sender_user,"
            "                  users.role = 'citizen' AS from_citizen"
            "           FROM messages JOIN users ON users.id = messages.sender_user WHERE messages.case_id = ?),"
            " last_staff AS (SELECT coalesce(max(seq), 0) AS seq FROM m WHERE NOT from_citizen)"
            " SELECT (SELECT max(stored_at) FROM m),"
            "        (SELECT min(stored_at) FROM m, last_staff WHERE from_citizen AND m.seq > last_staff.seq),"
            "        (SELECT max(stored_at) FROM m WHERE from_citizen),"
            "        (SELECT count(*) FROM m WHERE sender_user != ? AND seq > coalesce("
            "            (SELECT read_seq FROM receipts WHERE case_id = ? AND user_id = ?), 0)),"
            "        (SELECT handled_at FROM case_state WHERE case_id = ?)",
            (case_id, user_id, case_id, user_id, case_id))
        return CaseActivity(*row)

    async def recent_message_meta(self, case_id: str, limit: int) -> list[MessageMeta]:
        rows = await self._all(
            "SELECT * FROM (SELECT messages.case_id, messages.seq, messages.sender_user, users.role = 'citizen',"
            " messages.stored_at FROM messages JOIN users ON users.id = messages.sender_user"
            " WHERE messages.case_id = ? ORDER BY messages.seq DESC LIMIT ?) ORDER BY seq", (case_id, limit))
        return [MessageMeta(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    async def set_handled(self, case_id: str, user_id: str | None, at: int | None) -> None:
        await self._write([("INSERT INTO case_state (case_id, handled_at, handled_by) VALUES (?, ?, ?)"
                            " ON CONFLICT (case_id) DO UPDATE SET handled_at = excluded.handled_at,"
                            " handled_by = excluded.handled_by", (case_id, at, user_id))])

    # -- attachments -------------------------------------------------------------------------------
    async def add_blob(self, blob_id: str, case_id: str, uploaded_by: str, data: bytes, at: int) -> None:
        await self._write([("INSERT INTO blobs (id, case_id, uploaded_by, size, data, created_at)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (blob_id, case_id, uploaded_by, len(data), data, at))])

    async def get_blob(self, case_id: str, blob_id: str) -> bytes | None:
        row = await self._one("SELECT data FROM blobs WHERE id = ? AND case_id = ?", (blob_id, case_id))
        return bytes(row[0]) if row else None

    # -- receipts ----------------------------------------------------------------------------------
    async def mark_receipt(self, case_id: str, user_id: str, *, delivered_seq: int, read_seq: int) -> ReceiptMarks:
        delivered_seq = max(delivered_seq, read_seq)  # what was read was delivered
        await self._write([(
            "INSERT INTO receipts (case_id, user_id, delivered_seq, read_seq, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (case_id, user_id) DO UPDATE SET"
            " delivered_seq = max(delivered_seq, excluded.delivered_seq),"
            " read_seq = max(read_seq, excluded.read_seq), updated_at = excluded.updated_at",
            (case_id, user_id, delivered_seq, read_seq, _now_ms()))])
        row = await self._one("SELECT delivered_seq, read_seq FROM receipts WHERE case_id = ? AND user_id = ?",
                              (case_id, user_id))
        return ReceiptMarks(case_id, user_id, row[0], row[1])

    async def receipts_of_case(self, case_id: str) -> list[ReceiptMarks]:
        rows = await self._all("SELECT case_id, user_id, delivered_seq, read_seq FROM receipts WHERE case_id = ?"
                               " ORDER BY user_id", (case_id,))
        return [ReceiptMarks(*r) for r in rows]

    # -- sessions ----------------------------------------------------------------------------------
    async def add_session(self, id_hash: bytes, user_id: str, at: int, expires_at: int) -> None:
        await self._write([("INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at)"
                            " VALUES (?, ?, ?, ?, ?)", (id_hash, user_id, at, at, expires_at))])

    async def get_session(self, id_hash: bytes) -> tuple[str, int, int] | None:
        row = await self._one("SELECT user_id, last_seen_at, expires_at FROM sessions WHERE id_hash = ?", (id_hash,))
        return (row[0], row[1], row[2]) if row else None

    async def touch_session(self, id_hash: bytes, at: int) -> None:
        await self._write([("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (at, id_hash))])

    async def delete_session(self, id_hash: bytes) -> None:
        await self._write([("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))])

    # -- security events ---------------------------------------------------------------------------
    async def add_security_event(self, kind: str, *, user_id: str | None, device_id: str | None,
                                 case_id: str | None, detail: str, at: int) -> None:
        await self._write([("INSERT INTO security_events (at, kind, user_id, device_id, case_id, detail)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (at, kind, user_id, device_id, case_id, detail))])

    async def security_events(self, limit: int = 100) -> list[dict[str, object]]:
        rows = await self._all("SELECT id, at, kind, user_id, device_id, case_id, detail FROM security_events"
                               " ORDER BY id DESC LIMIT ?", (limit,))
        keys = ("id", "at", "kind", "user_id", "device_id", "case_id", "detail")
        return [dict(zip(keys, r)) for r in rows]


def read_audit_rows(path: Path | str, page: int = 5000) -> Iterator[AuditRow]:
    """Every audit row in id order, read-only and without the server (for `samtal audit verify`)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        after = 0
        while True:
            rows = db.execute(
                "SELECT id, at, action, outcome, actor, role, unit_id, case_id, reason, detail, prev_hash, hash"
                " FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", (after, page)).fetchall()
            for r in rows:
                yield AuditRow(r[0], AuditEvent(r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9]), r[1]),
                               bytes(r[10]), bytes(r[11]))
            if len(rows) < page:
                return
            after = rows[-1][0]
