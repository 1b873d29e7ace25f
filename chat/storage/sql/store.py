"""The core aggregates' SQL (accounts, devices and keys, cases, messages and receipts, the audit log,
sessions and sign-in, security events) over an engine: SQLite (chat/storage/sqlite/) or PostgreSQL
(chat/storage/postgres/). The engine runs write transactions serialised (`transaction`), reads beside them
(`one`, `all`) and appends in batches (`enqueue_message`, `append_audit`)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from chat.audit.chain import AuditEvent, AuditRow
from chat.errors import Conflict
from chat.model import (
    Ack,
    Case,
    CaseActivity,
    CaseKeyState,
    CaseKeyWrap,
    Device,
    MessageMeta,
    Municipality,
    ReceiptMarks,
    Role,
    StoredMessage,
    Substitution,
    Unit,
    UnitKeyEpoch,
    UnitKeyGrant,
    User,
    now_ms,
)
from chat.storage import LoginAttempt, Storage
from chat.storage.sql import Db
from chat.storage.sql.applications import SqlApplicationStore
from chat.storage.sql.audit import AUDIT_COLS, audit_row
from chat.storage.sql.batching import BatchingWriter
from chat.storage.sql.bookings import SqlBookingStore
from chat.storage.sql.exchange import SqlExchangeStore
from chat.storage.sql.journal import SqlJournalStore
from chat.storage.sql.key_history import SqlKeyHistoryStore
from chat.storage.sql.key_log import SqlKeyLogStore
from chat.storage.sql.notifications import SqlNotificationStore
from chat.storage.sql.units import SqlProtectedIdentityStore, SqlUnitSettingsStore


class SqlEngine(BatchingWriter):
    """What SqlStore needs of an engine beyond the batching writer: its life cycle and reads."""

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError


class SqlStore(Storage):
    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine
        self.applications = SqlApplicationStore(engine)
        self.bookings = SqlBookingStore(engine)
        self.exchange = SqlExchangeStore(engine)
        self.journal = SqlJournalStore(engine)
        self.key_history = SqlKeyHistoryStore(engine)
        self.key_log = SqlKeyLogStore(engine)
        self.notifications = SqlNotificationStore(engine)
        self.protected_identities = SqlProtectedIdentityStore(engine)
        self.unit_settings = SqlUnitSettingsStore(engine)
        # Read-through caches for the send path, kept only when this process is the database's only writer
        # (SQLite), which keeps them true; with several writers (PostgreSQL) every read goes to the database.
        self._caching = engine.sole_writer
        self._devices: dict[str, Device] = {}
        self._cases: dict[str, Case] = {}
        self._users: dict[str, User] = {}
        self._case_epoch: dict[str, int] = {}
        # Bumped by every device write: a read that started before a revocation must not cache what it read.
        self._device_generation = 0

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        await self.engine.open()  # applies the migrations

    async def close(self) -> None:
        await self.engine.close()

    async def database_generation(self) -> str:
        row = await self._one("SELECT generation FROM database_generation WHERE singleton = 1")
        assert row is not None, "a migration makes the first generation"
        return str(row[0])

    async def probe_write(self) -> None:
        await self._write([("UPDATE database_generation SET probed_at = ? WHERE singleton = 1", (now_ms(),))])

    async def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        await self.engine.write(statements)

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self.engine.one(sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self.engine.all(sql, params)

    # -- organisation and accounts ---------------------------------------------------------------
    async def add_municipality(self, m: Municipality) -> None:
        await self._write([("INSERT INTO municipalities (id, name) VALUES (?, ?)", (m.id, m.name))])

    async def add_unit(self, unit: Unit) -> None:
        await self._write([("INSERT INTO units (id, municipality_id, name) VALUES (?, ?, ?)",
                            (unit.id, unit.municipality_id, unit.name))])

    async def get_unit(self, unit_id: str) -> Unit | None:
        row = await self._one("SELECT id, municipality_id, name FROM units WHERE id = ?", (unit_id,))
        return Unit(*row) if row else None

    async def get_municipality(self, municipality_id: str) -> Municipality | None:
        row = await self._one("SELECT id, name FROM municipalities WHERE id = ?", (municipality_id,))
        return Municipality(*row) if row else None

    async def all_units(self) -> list[Unit]:
        rows = await self._all("SELECT id, municipality_id, name FROM units ORDER BY municipality_id, id")
        return [Unit(*r) for r in rows]

    async def add_user(self, user: User) -> None:
        await self._write([(
            "INSERT INTO users (id, username, display_name, role, unit_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (user.id, user.username, user.display_name, user.role.value, user.unit_id, now_ms()))])

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
        user = self._user(row)
        if self._caching:
            self._users[user_id] = user
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
    _DEVICE_COLS = "id, user_id, sign_pub, kem_pub, label, created_at, revoked_at, registration_proof"

    async def add_device(self, device: Device) -> None:
        await self._write([(
            f"INSERT INTO devices ({self._DEVICE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (device.id, device.user_id, device.sign_pub, device.kem_pub, device.label, device.created_at,
             device.revoked_at, device.proof))])
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
        if generation == self._device_generation and self._caching:
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

    _GRANT_INSERT = ("INSERT INTO unit_key_grants (unit_id, epoch, device_id, enc, ct, granted_by_device,"
                     " signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")

    async def add_unit_key_epoch(self, epoch: UnitKeyEpoch, grants: Sequence[UnitKeyGrant]) -> None:
        def add(db: Db) -> None:
            (current,) = db.execute("SELECT coalesce(max(epoch), 0) FROM unit_key_epochs WHERE unit_id = ?",
                                    (epoch.unit_id,)).fetchone()
            if epoch.epoch != current + 1:
                raise Conflict(f"unit key epoch must be {current + 1}", code="epoch_exists")
            db.execute("INSERT INTO unit_key_epochs (unit_id, epoch, public_key, created_by_device, signature,"
                       " created_at) VALUES (?, ?, ?, ?, ?, ?)", (epoch.unit_id, epoch.epoch, epoch.public_key,
                                                                   epoch.created_by_device, epoch.signature,
                                                                   epoch.created_at))
            db.executemany(self._GRANT_INSERT, [self._grant_row(g) for g in grants])

        await self.engine.transaction(add)

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
        case = Case(*row)
        if self._caching:
            self._cases[case_id] = case
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
        if self._caching:
            self._case_epoch[case_id] = epoch
        return epoch

    _WRAP_INSERT = ("INSERT INTO case_key_wraps (case_id, epoch, recipient, enc, ct, wrapped_by_device,"
                    " signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")

    @staticmethod
    def _wrap_row(w: CaseKeyWrap) -> tuple[Any, ...]:
        return (w.case_id, w.epoch, w.recipient, w.enc, w.ct, w.wrapped_by_device, w.signature, w.created_at)

    async def add_case_key_epoch(self, case_id: str, epoch: int, created_by_device: str,
                                 wraps: Sequence[CaseKeyWrap], at: int) -> None:
        def add(db: Db) -> None:
            (current,) = db.execute("SELECT coalesce(max(epoch), 0) FROM case_key_epochs WHERE case_id = ?",
                                    (case_id,)).fetchone()
            if epoch != current + 1:
                raise Conflict(f"case key epoch must be {current + 1}", code="epoch_exists")
            db.execute("INSERT INTO case_key_epochs (case_id, epoch, created_by_device, created_at)"
                       " VALUES (?, ?, ?, ?)", (case_id, epoch, created_by_device, at))
            db.executemany(self._WRAP_INSERT, [self._wrap_row(w) for w in wraps])

        await self.engine.transaction(add)
        if self._caching:
            self._case_epoch[case_id] = max(epoch, self._case_epoch.get(case_id, 0))

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

    async def case_key_overview(self, unit_id: str) -> list[CaseKeyState]:
        # Three reads, each consistent in itself; a commit between them can only make a task appear one
        # call early or late, and the writes that tasks lead to refuse duplicates (epoch_exists).
        cases = await self._all(
            f"SELECT {self._CASE_COLS}, (SELECT coalesce(max(epoch), 0) FROM case_key_epochs e"
            " WHERE e.case_id = cases.id) FROM cases WHERE unit_id = ? ORDER BY created_at, id", (unit_id,))
        holders = await self._all(
            "SELECT w.case_id, w.recipient FROM case_key_wraps w JOIN cases c ON c.id = w.case_id"
            " WHERE c.unit_id = ? AND w.epoch = (SELECT max(epoch) FROM case_key_epochs e WHERE e.case_id = w.case_id)",
            (unit_id,))
        devices = await self._all(
            f"SELECT {self._DEVICE_COLS} FROM devices WHERE user_id IN (SELECT citizen_id FROM cases"
            " WHERE unit_id = ?) ORDER BY created_at", (unit_id,))
        held: dict[str, set[str]] = {}
        for case_id, recipient in holders:
            held.setdefault(case_id, set()).add(recipient)
        of_citizen: dict[str, list[Device]] = {}
        for row in devices:
            of_citizen.setdefault(row[1], []).append(Device(*row))
        out = []
        for *case_cols, epoch in cases:
            case = Case(*case_cols)
            # Epochs only grow: never report one older than a commit this process has already seen.
            epoch = max(int(epoch), self._case_epoch.get(case.id, 0))
            out.append(CaseKeyState(case, epoch, frozenset(held.get(case.id, ())),
                                    tuple(of_citizen.get(case.citizen_id, ()))))
        return out

    # -- messages ----------------------------------------------------------------------------------
    def enqueue_message(self, case_id: str, msg_id: str, sender_device: str, sender_user: str,
                        envelope: bytes, audit: AuditEvent | None = None) -> asyncio.Future[Ack]:
        return self.engine.enqueue_message(case_id, msg_id, sender_device, sender_user, envelope, audit)

    async def append_audit(self, event: AuditEvent) -> int:
        return await self.engine.append_audit(event)

    async def audit_rows(self, after_id: int = 0, limit: int = 1000) -> list[AuditRow]:
        rows = await self._all(f"SELECT {AUDIT_COLS} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
                               (after_id, limit))
        return [audit_row(r) for r in rows]

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

    # Cases per statement of case_activities: well within SQLite's limit on variables.
    ACTIVITY_CHUNK = 400

    async def case_activities(self, case_ids: Sequence[str], user_id: str) -> dict[str, tuple[int, CaseActivity]]:
        """One pass over the cases' messages per chunk (grouped by case) instead of two statements a case:
        the inbox list of a unit with 2,000 cases went from 6,000 statements to a handful (bench/inbox_list.py)."""
        found: dict[str, tuple[int, CaseActivity]] = {}
        for start in range(0, len(case_ids), self.ACTIVITY_CHUNK):
            chunk = list(case_ids[start:start + self.ACTIVITY_CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = await self._all(
                "WITH m AS (SELECT messages.case_id, messages.seq, messages.stored_at, messages.sender_user,"
                "                  users.role = 'citizen' AS from_citizen"
                f"          FROM messages JOIN users ON users.id = messages.sender_user WHERE messages.case_id IN ({marks})),"
                " last_staff AS (SELECT case_id, max(seq) AS seq FROM m WHERE NOT from_citizen GROUP BY case_id)"
                " SELECT m.case_id, max(m.seq), max(m.stored_at),"
                "        min(CASE WHEN m.from_citizen AND m.seq > coalesce(ls.seq, 0) THEN m.stored_at END),"
                "        max(CASE WHEN m.from_citizen THEN m.stored_at END),"
                "        sum(CASE WHEN m.sender_user != ? AND m.seq > coalesce(r.read_seq, 0) THEN 1 ELSE 0 END),"
                "        (SELECT handled_at FROM case_state WHERE case_state.case_id = m.case_id)"
                " FROM m LEFT JOIN last_staff ls ON ls.case_id = m.case_id"
                " LEFT JOIN receipts r ON r.case_id = m.case_id AND r.user_id = ?"
                " GROUP BY m.case_id", (*chunk, user_id, user_id))
            for case_id, last_seq, *activity in rows:
                found[case_id] = (int(last_seq), CaseActivity(*activity))
            quiet = [c for c in chunk if c not in found]  # no messages yet; a case may still be marked handled
            handled = dict(await self._all(
                f"SELECT case_id, handled_at FROM case_state WHERE case_id IN ({','.join('?' * len(quiet))})",
                quiet)) if quiet else {}
            for case_id in quiet:
                found[case_id] = (0, CaseActivity(None, None, None, 0, handled.get(case_id)))
        return found

    async def recent_message_meta(self, case_id: str, limit: int) -> list[MessageMeta]:
        rows = await self._all(
            "SELECT * FROM (SELECT messages.case_id, messages.seq, messages.sender_user, users.role = 'citizen',"
            " messages.stored_at FROM messages JOIN users ON users.id = messages.sender_user"
            " WHERE messages.case_id = ? ORDER BY messages.seq DESC LIMIT ?) AS recent ORDER BY seq", (case_id, limit))
        return [MessageMeta(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    async def set_handled(self, case_id: str, user_id: str | None, at: int | None) -> None:
        await self._write([("INSERT INTO case_state (case_id, handled_at, handled_by) VALUES (?, ?, ?)"
                            " ON CONFLICT (case_id) DO UPDATE SET handled_at = excluded.handled_at,"
                            " handled_by = excluded.handled_by", (case_id, at, user_id))])

    # -- log review ----------------------------------------------------------------------------------
    async def audit_search(self, unit_id: str, case_ids: Sequence[str] | None, case_id: str | None,
                           actor: str | None, start: int | None, end: int | None, after_id: int, limit: int,
                           sample: bool) -> list[AuditRow]:
        where, params = ["unit_id = ?", "id > ?"], [unit_id, after_id]
        if case_ids is not None:
            where.append(f"case_id IN ({','.join('?' * len(case_ids)) or 'NULL'})")
            params += case_ids
        for column, op, value in (("case_id", "=", case_id), ("actor", "=", actor), ("at", ">=", start),
                                  ("at", "<", end)):
            if value is not None:
                where.append(f"{column} {op} ?")
                params.append(value)
        order = "random()" if sample else "id"
        rows = await self._all(f"SELECT {AUDIT_COLS} FROM audit_log WHERE {' AND '.join(where)}"
                               f" ORDER BY {order} LIMIT ?", (*params, limit))
        found = [audit_row(r) for r in rows]
        return sorted(found, key=lambda row: row.id) if sample else found

    async def add_finding(self, unit_id: str, audit_id: int, reviewer: str, verdict: str, note: str,
                          at: int) -> int:
        def add(db: Db) -> int:
            cur = db.execute("INSERT INTO audit_findings (unit_id, audit_id, reviewer, verdict, note, created_at)"
                             " VALUES (?, ?, ?, ?, ?, ?) RETURNING id", (unit_id, audit_id, reviewer, verdict, note, at))
            return int(cur.fetchone()[0])
        return await self.engine.transaction(add)

    async def findings(self, unit_id: str) -> list[tuple[int, int, str, str, str, int]]:
        rows = await self._all("SELECT id, audit_id, reviewer, verdict, note, created_at FROM audit_findings"
                               " WHERE unit_id = ? ORDER BY id DESC", (unit_id,))
        return [tuple(r) for r in rows]

    # -- assignment and substitutes --------------------------------------------------------------------
    async def assign_case(self, case_id: str, user_id: str | None) -> None:
        await self._write([("UPDATE cases SET assigned_to = ? WHERE id = ?", (user_id, case_id))])
        self._cases.pop(case_id, None)

    async def remove_from_unit(self, user_id: str, unit_id: str, at: int) -> None:
        def remove(db: Db) -> None:
            db.execute("UPDATE devices SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (at, user_id))
            db.execute("UPDATE cases SET assigned_to = NULL WHERE assigned_to = ? AND unit_id = ?", (user_id, unit_id))
            db.execute("UPDATE substitutions SET revoked_at = ? WHERE (absent_user = ? OR substitute = ?)"
                       " AND revoked_at IS NULL", (at, user_id, user_id))
            db.execute("UPDATE users SET unit_id = NULL WHERE id = ? AND unit_id = ?", (user_id, unit_id))
        await self.engine.transaction(remove)
        self._device_generation += 1
        self._devices.clear()
        self._cases.clear()
        self._users.pop(user_id, None)

    async def add_substitution(self, sub: Substitution) -> int:
        def add(db: Db) -> int:
            cur = db.execute("INSERT INTO substitutions (unit_id, absent_user, substitute, starts_at, ends_at,"
                             " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                             (sub.unit_id, sub.absent_user, sub.substitute, sub.starts_at, sub.ends_at,
                              sub.created_by, now_ms()))
            return int(cur.fetchone()[0])
        return await self.engine.transaction(add)

    async def revoke_substitution(self, unit_id: str, substitution_id: int, at: int) -> bool:
        def revoke(db: Db) -> bool:
            cur = db.execute("UPDATE substitutions SET revoked_at = ? WHERE id = ? AND unit_id = ?"
                             " AND revoked_at IS NULL", (at, substitution_id, unit_id))
            return cur.rowcount == 1
        return await self.engine.transaction(revoke)

    async def substitutions_of_unit(self, unit_id: str, current_or_future_at: int | None = None) -> list[Substitution]:
        cols = "id, unit_id, absent_user, substitute, starts_at, ends_at, created_by, revoked_at"
        if current_or_future_at is None:
            rows = await self._all(f"SELECT {cols} FROM substitutions WHERE unit_id = ? ORDER BY starts_at, id",
                                   (unit_id,))
        else:
            rows = await self._all(f"SELECT {cols} FROM substitutions WHERE unit_id = ? AND ends_at > ?"
                                   " AND revoked_at IS NULL ORDER BY starts_at, id", (unit_id, current_or_future_at))
        return [Substitution(*r) for r in rows]

    # -- attachments -------------------------------------------------------------------------------
    async def add_blob(self, blob_id: str, case_id: str, uploaded_by: str, data: bytes, at: int) -> None:
        await self._write([("INSERT INTO blobs (id, case_id, uploaded_by, size, data, created_at)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (blob_id, case_id, uploaded_by, len(data), data, at))])

    async def get_blob(self, case_id: str, blob_id: str) -> bytes | None:
        row = await self._one("SELECT data FROM blobs WHERE id = ? AND case_id = ?", (blob_id, case_id))
        return bytes(row[0]) if row else None

    async def attachment_bytes_of(self, user_id: str) -> int:
        row = await self._one("SELECT (SELECT coalesce(sum(size), 0) FROM blobs WHERE uploaded_by = ?)"
                              " + (SELECT coalesce(sum(size), 0) FROM application_blobs WHERE uploaded_by = ?)"
                              " + (SELECT coalesce(sum(size), 0) FROM journal_blobs WHERE uploaded_by = ?)",
                              (user_id, user_id, user_id))
        return int(row[0])

    # -- receipts ----------------------------------------------------------------------------------
    async def mark_receipt(self, case_id: str, user_id: str, *, delivered_seq: int, read_seq: int) -> ReceiptMarks:
        delivered_seq = max(delivered_seq, read_seq)  # what was read was delivered
        await self._write([(
            "INSERT INTO receipts (case_id, user_id, delivered_seq, read_seq, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (case_id, user_id) DO UPDATE SET"
            " delivered_seq = CASE WHEN excluded.delivered_seq > receipts.delivered_seq THEN excluded.delivered_seq"
            " ELSE receipts.delivered_seq END,"
            " read_seq = CASE WHEN excluded.read_seq > receipts.read_seq THEN excluded.read_seq"
            " ELSE receipts.read_seq END, updated_at = excluded.updated_at",
            (case_id, user_id, delivered_seq, read_seq, now_ms()))])
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

    async def delete_sessions_of_user(self, user_id: str) -> int:
        return await self.engine.transaction(
            lambda db: db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,)).rowcount)

    # -- sign-in -------------------------------------------------------------------------------------
    async def user_by_identity(self, identity_hash: bytes) -> User | None:
        row = await self._one("SELECT user_id FROM identities WHERE identity_hash = ?", (identity_hash,))
        return await self.get_user(row[0]) if row else None

    async def add_user_with_identity(self, user: User, identity_hash: bytes, kind: str) -> User:
        def add(db: Db) -> str:
            row = db.execute("SELECT user_id FROM identities WHERE identity_hash = ?", (identity_hash,)).fetchone()
            if row:
                return str(row[0])
            now = now_ms()
            db.execute("INSERT INTO users (id, username, display_name, role, unit_id, created_at)"
                       " VALUES (?, ?, ?, ?, ?, ?)", (user.id, user.username, user.display_name, user.role.value,
                                                      user.unit_id, now))
            db.execute("INSERT INTO identities (identity_hash, kind, user_id, created_at) VALUES (?, ?, ?, ?)",
                       (identity_hash, kind, user.id, now))
            return user.id

        user_id = await self.engine.transaction(add)
        return user if user_id == user.id else await self.get_user(user_id)  # type: ignore[return-value]

    async def update_user(self, user: User) -> None:
        await self._write([("UPDATE users SET display_name = ?, role = ?, unit_id = ? WHERE id = ?",
                            (user.display_name, user.role.value, user.unit_id, user.id))])
        self._users.pop(user.id, None)

    _ATTEMPT_COLS = "state_hash, kind, nonce, code_verifier, binding_hash, next_path, created_at, used_at"

    async def add_login_attempt(self, attempt: LoginAttempt, forget_before: int) -> None:
        await self._write([
            ("DELETE FROM login_attempts WHERE created_at < ?", (forget_before,)),
            (f"INSERT INTO login_attempts ({self._ATTEMPT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
             (attempt.state_hash, attempt.kind, attempt.nonce, attempt.code_verifier, attempt.binding_hash,
              attempt.next_path, attempt.created_at, attempt.used_at))])

    async def take_login_attempt(self, state_hash: bytes, at: int) -> LoginAttempt | None:
        def take(db: Db) -> LoginAttempt | None:
            row = db.execute(f"SELECT {self._ATTEMPT_COLS} FROM login_attempts WHERE state_hash = ?",
                             (state_hash,)).fetchone()
            if row is None:
                return None
            if row[7] is None:
                db.execute("UPDATE login_attempts SET used_at = ? WHERE state_hash = ?", (at, state_hash))
            return LoginAttempt(bytes(row[0]), row[1], row[2], row[3], bytes(row[4]), row[5], row[6], row[7])

        return await self.engine.transaction(take)

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


