"""Retention and deletion (chat/storage/retention.py, migration 0028 / PostgreSQL 0013), for both engines."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chat.audit.chain import AuditEvent
from chat.storage.retention import RECORD_KINDS, Deletion, FileCase, Hold, RetentionStore, Rule
from chat.storage.sql import Db, Engine

# What "an entry in the file" is, per case: the newest of these (the case's opening when it has none).
_LAST_ENTRY = (
    "SELECT c.id, c.citizen_id, c.unit_id, c.created_at,"
    " (SELECT max(stored_at) FROM messages WHERE case_id = c.id),"
    " (SELECT max(updated_at) FROM journal_entries WHERE case_id = c.id),"
    " (SELECT max(created_at) FROM journal_remarks WHERE case_id = c.id),"
    " (SELECT max(updated_at) FROM applications WHERE case_id = c.id),"
    " (SELECT max(coalesce(changed_at, created_at)) FROM bookings WHERE case_id = c.id),"
    " (SELECT count(*) FROM legal_holds WHERE case_id = c.id),"
    " (SELECT max(in_sample) FROM research_sample WHERE user_id = c.citizen_id)"
    " FROM cases c")

_JOURNAL_ENTRIES = "SELECT id FROM journal_entries WHERE case_id IN ({})"
_APPLICATIONS = "SELECT id FROM applications WHERE case_id IN ({})"

# Per kind: the statements that delete it (children first), the first statement's table is what is counted.
_DELETE: dict[str, tuple[str, ...]] = {
    "message": ("DELETE FROM messages WHERE case_id IN ({})", "DELETE FROM receipts WHERE case_id IN ({})",
                "DELETE FROM notifications_waiting WHERE case_id IN ({})"),
    "attachment": ("DELETE FROM blobs WHERE case_id IN ({})",),
    "journal": (
        "DELETE FROM journal_grants WHERE record_id IN (SELECT record_id FROM journal_versions WHERE entry_id IN ("
        + _JOURNAL_ENTRIES + ")) OR record_id IN (SELECT id FROM journal_remarks WHERE case_id IN ({}))",
        "DELETE FROM journal_versions WHERE entry_id IN (" + _JOURNAL_ENTRIES + ")",
        "DELETE FROM journal_remarks WHERE case_id IN ({})",
        "DELETE FROM journal_blobs WHERE case_id IN ({})",
        "DELETE FROM journal_entries WHERE case_id IN ({})"),
    "application": (
        "DELETE FROM application_events WHERE application_id IN (" + _APPLICATIONS + ")",
        "DELETE FROM application_decisions WHERE application_id IN (" + _APPLICATIONS + ")",
        "DELETE FROM application_grants WHERE record_id IN (SELECT id FROM application_records WHERE"
        " application_id IN (" + _APPLICATIONS + "))",
        "DELETE FROM application_records WHERE application_id IN (" + _APPLICATIONS + ")",
        "DELETE FROM application_blobs WHERE application_id IN (" + _APPLICATIONS + ")",
        "DELETE FROM applications WHERE case_id IN ({})"),
    "booking": ("DELETE FROM bookings WHERE case_id IN ({})",),
}
# What is counted per kind: a journal's entries and the citizen's remarks; an application (not its steps).
_COUNT: dict[str, tuple[str, ...]] = {
    "message": ("messages",), "attachment": ("blobs",), "journal": ("journal_entries", "journal_remarks"),
    "application": ("applications",), "booking": ("bookings",)}
# A case that has nothing left goes with its keys and marks.
_CASE = ("DELETE FROM case_state WHERE case_id IN ({})", "DELETE FROM receipts WHERE case_id IN ({})",
         "DELETE FROM notifications_waiting WHERE case_id IN ({})", "DELETE FROM case_key_wraps WHERE case_id IN ({})",
         "DELETE FROM case_key_epochs WHERE case_id IN ({})",
         "DELETE FROM key_history_links WHERE kind = 'case' AND target_id IN ({})",
         "DELETE FROM cases WHERE id IN ({})")


def _last(row: Any) -> int:
    return max(int(v) for v in row[3:9] if v is not None)


def _marks(ids: list[str]) -> str:
    return ", ".join("?" for _ in ids)


def _count(db: Db, ids: list[str], kind: str) -> int:
    return sum(int(db.execute(f"SELECT count(*) FROM {table} WHERE case_id IN ({_marks(ids)})",
                              ids).fetchone()[0]) for table in _COUNT[kind])


def _run(db: Db, sql: str, ids: list[str]) -> None:
    n = sql.count("{}")
    db.execute(sql.format(*[_marks(ids)] * n), ids * n)


class SqlRetentionStore(RetentionStore):
    def __init__(self, engine: Engine, forget_cases: Callable[[list[str]], None]) -> None:
        self.engine = engine
        self._forget_cases = forget_cases  # the store's caches of the cases deleted

    async def rules(self) -> list[Rule]:
        rows = await self.engine.transaction(lambda db: db.execute(
            "SELECT unit_id, record_kind, keep_years, updated_at, updated_by FROM retention_rules"
            " ORDER BY unit_id, record_kind").fetchall())
        return [Rule(r[0], r[1], None if r[2] is None else int(r[2]), int(r[3]), r[4]) for r in rows]

    async def set_rule(self, rule: Rule) -> None:
        await self.engine.transaction(lambda db: db.execute(
            "INSERT INTO retention_rules (unit_id, record_kind, keep_years, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (unit_id, record_kind) DO UPDATE SET keep_years ="
            " excluded.keep_years, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (rule.unit_id, rule.record_kind, rule.keep_years, rule.updated_at, rule.updated_by)))

    async def remove_rule(self, unit_id: str, record_kind: str) -> None:
        await self.engine.transaction(lambda db: db.execute(
            "DELETE FROM retention_rules WHERE unit_id = ? AND record_kind = ?", (unit_id, record_kind)))

    async def holds(self) -> list[Hold]:
        rows = await self.engine.transaction(lambda db: db.execute(
            "SELECT case_id, reason, set_at, set_by FROM legal_holds ORDER BY set_at").fetchall())
        return [Hold(r[0], r[1], int(r[2]), r[3]) for r in rows]

    async def set_hold(self, hold: Hold) -> bool:
        def put(db: Db) -> bool:
            return db.execute(
                "INSERT INTO legal_holds (case_id, reason, set_at, set_by) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
                (hold.case_id, hold.reason, hold.set_at, hold.set_by)).fetchone() is not None

        return await self.engine.transaction(put)

    async def lift_hold(self, case_id: str) -> bool:
        return await self.engine.transaction(lambda db: db.execute(
            "DELETE FROM legal_holds WHERE case_id = ? RETURNING case_id", (case_id,)).fetchone() is not None)

    async def research_sample_known(self, user_id: str) -> bool:
        return await self.engine.transaction(lambda db: db.execute(
            "SELECT 1 FROM research_sample WHERE user_id = ?", (user_id,)).fetchone() is not None)

    async def set_research_sample(self, user_id: str, in_sample: bool, at: int) -> None:
        await self.engine.transaction(lambda db: db.execute(
            "INSERT INTO research_sample (user_id, in_sample, derived_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING", (user_id, int(in_sample), at)))

    async def file_cases(self) -> list[FileCase]:
        rows = await self.engine.transaction(lambda db: db.execute(_LAST_ENTRY + " ORDER BY c.id").fetchall())
        return [FileCase(r[0], r[1], r[2], _last(r), bool(r[9]), bool(r[10])) for r in rows]

    async def count(self, case_ids: list[str], record_kind: str) -> int:
        if not case_ids:
            return 0
        return await self.engine.transaction(lambda db: _count(db, case_ids, record_kind))

    async def delete(self, citizen_id: str, unit_id: str, kinds: dict[str, str], not_after: int, at: int,
                     automated: bool = True) -> dict[str, int]:
        def delete(db: Db) -> tuple[dict[str, int], list[str]]:
            rows = db.execute(_LAST_ENTRY + " WHERE c.citizen_id = ? AND c.unit_id = ?",
                              (citizen_id, unit_id)).fetchall()
            if not rows or any(r[10] for r in rows) or max(_last(r) for r in rows) > not_after:
                return {}, []  # in the research sample, or the file has a newer entry since the job looked
            ids = [r[0] for r in rows if not r[9]]
            if not ids:
                return {}, []
            counts: dict[str, int] = {}
            # Lets the journal's triggers pass these deletes (and no others: no other transaction sees it).
            db.execute("INSERT INTO retention_deleting (singleton) VALUES (1)")
            for kind in RECORD_KINDS:
                if kind not in kinds:
                    continue
                found = _count(db, ids, kind)
                if found:
                    for sql in _DELETE[kind]:
                        _run(db, sql, ids)
                    counts[kind] = found
                    db.execute("INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
                               " VALUES (?, ?, ?, ?, ?, ?)", (at, unit_id, kind, kinds[kind], found, int(automated)))
            empty = [i for i in ids if not any(_count(db, [i], kind) for kind in RECORD_KINDS)]
            if empty:
                for sql in _CASE:
                    _run(db, sql, empty)
                counts["case"] = len(empty)
                db.execute("INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
                           " VALUES (?, ?, ?, ?, ?, ?)",
                           (at, unit_id, "case", "empty", len(empty), int(automated)))
            if counts:
                # The audit log says, case by case, that the job (no person: role 'automated') deleted records
                # under these rules: its reviewer sees why a case's history ends (DOMAIN rule 10).
                self.engine.insert_audit(db, [AuditEvent(
                    "retention.deleted", "allowed", role="automated", unit_id=unit_id, case_id=case_id,
                    detail={"rules": {k: kinds[k] for k in RECORD_KINDS if k in counts},
                            "case_deleted": case_id in empty}) for case_id in ids])
            db.execute("DELETE FROM retention_deleting")
            return counts, empty

        counts, gone = await self.engine.transaction(delete)
        if gone:
            self._forget_cases(gone)
        return counts

    async def register(self, limit: int = 200, unit_id: str | None = None) -> list[Deletion]:
        where, params = ("WHERE unit_id = ? OR unit_id = '*'", [unit_id]) if unit_id else ("", [])
        rows = await self.engine.transaction(lambda db: db.execute(
            "SELECT id, at, unit_id, record_kind, rule, count, automated FROM retention_register "
            f"{where} ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall())
        return [Deletion(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), bool(r[6])) for r in rows]

    async def add_register(self, unit_id: str, record_kind: str, rule: str, count: int, at: int,
                           automated: bool = True) -> None:
        await self.engine.transaction(lambda db: db.execute(
            "INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
            " VALUES (?, ?, ?, ?, ?, ?)", (at, unit_id, record_kind, rule, count, int(automated))))
