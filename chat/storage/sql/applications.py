"""The application tables (migration 0012), for both engines. Each step of an application is
one transaction: the record, its grants, the timeline event, the new status and the attachments it names go
in together or not at all, and a submission finds or opens its case in that same transaction."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from chat.errors import Conflict, NotFound
from chat.model import Case
from chat.storage.applications import (
    Application,
    ApplicationStore,
    Decision,
    Event,
    Grant,
    NewRecord,
    StoredRecord,
    case_prefix,
)
from chat.storage.sql import Db, Engine
from chat.storage.sql.staged_blobs import StagedBlobs

# Attachments wait for the record that names them, at most 40 per person and application id.
BLOBS = StagedBlobs("application_blobs", "application_id", 40, "one application")
_APP_COLS = ("id, unit_id, case_id, citizen_id, form_id, form_version, status, submitted_by, on_behalf,"
             " opened_case, submitted_at, updated_at, due_at")
_CASE_COLS = "id, unit_id, citizen_id, assigned_to, title, status, created_at"
_DECISION_COLS = ("id, application_id, case_id, unit_id, decided_by, decided_device, decided_at, replaces, delivery,"
                  " posted_at, posted_by, received_at, received_via, received_device, received_by")


def _application(r: Any) -> Application:
    return Application(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), bool(r[9]), r[10], r[11], r[12])


class SqlApplicationStore(ApplicationStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def _run(self, fn: Callable[[Db], Any]) -> Any:
        return await self.engine.transaction(fn)

    # -- reading ---------------------------------------------------------------------------------------
    @staticmethod
    def _get(db: Db, application_id: str) -> Application | None:
        row = db.execute(f"SELECT {_APP_COLS} FROM applications WHERE id = ?", (application_id,)).fetchone()
        return None if row is None else _application(row)

    async def get(self, application_id: str) -> Application | None:
        return await self._run(lambda db: self._get(db, application_id))  # type: ignore[no-any-return]

    async def of_citizen(self, citizen_id: str) -> list[Application]:
        rows = await self._run(lambda db: db.execute(
            f"SELECT {_APP_COLS} FROM applications WHERE citizen_id = ? ORDER BY submitted_at DESC LIMIT 500",
            (citizen_id,)).fetchall())
        return [_application(r) for r in rows]

    async def of_unit(self, unit_id: str, case_id: str | None = None) -> list[Application]:
        where, args = "unit_id = ?", [unit_id]
        if case_id:
            where += " AND case_id = ?"
            args.append(case_id)
        rows = await self._run(lambda db: db.execute(
            f"SELECT {_APP_COLS} FROM applications WHERE {where} ORDER BY updated_at DESC LIMIT 1000",
            args).fetchall())
        return [_application(r) for r in rows]

    async def timeline(self, application_id: str) -> tuple[list[Event], list[StoredRecord], list[Grant]]:
        def read(db: Db) -> tuple[list[Event], list[StoredRecord], list[Grant]]:
            events = [Event(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], json.loads(r[7]) if r[7] else None)
                      for r in db.execute(
                "SELECT id, kind, actor, on_behalf, record_id, due_at, at, detail FROM application_events"
                " WHERE application_id = ? ORDER BY id", (application_id,))]
            records = [StoredRecord(*r) for r in db.execute(
                "SELECT id, kind, author, author_device, data, created_at FROM application_records"
                " WHERE application_id = ? ORDER BY created_at, id", (application_id,))]
            grants = [Grant(*r) for r in db.execute(
                "SELECT g.record_id, g.recipient, g.grant_data, g.signature, g.granted_by, g.granted_by_device,"
                " g.created_at FROM application_grants g JOIN application_records r ON r.id = g.record_id"
                " WHERE r.application_id = ? ORDER BY g.created_at", (application_id,))]
            return events, records, grants
        return await self._run(read)  # type: ignore[no-any-return]

    async def record(self, record_id: str) -> tuple[str, StoredRecord] | None:
        row = await self._run(lambda db: db.execute(
            "SELECT application_id, id, kind, author, author_device, data, created_at FROM application_records"
            " WHERE id = ?", (record_id,)).fetchone())
        return None if row is None else (row[0], StoredRecord(*row[1:]))

    # -- attachments -------------------------------------------------------------------------------------
    async def add_blob(self, blob_id: str, application_id: str, uploaded_by: str, data: bytes, at: int) -> None:
        await self._run(lambda db: BLOBS.add(db, blob_id, application_id, uploaded_by, data, at))

    async def blob(self, application_id: str, blob_id: str) -> tuple[bytes, str, bool] | None:
        """(ciphertext, uploaded_by, attached) of one of the application's blobs."""
        return await self._run(lambda db: BLOBS.get(db, application_id, blob_id))  # type: ignore[no-any-return]

    # -- writing -----------------------------------------------------------------------------------------
    @staticmethod
    def _insert_record(db: Db, application_id: str, rec: NewRecord, at: int) -> None:
        db.execute("INSERT INTO application_records (id, application_id, kind, author, author_device, data,"
                   " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (rec.id, application_id, rec.kind, rec.author, rec.author_device, rec.data, at))
        for recipient, grant, signature in rec.grants:
            db.execute("INSERT INTO application_grants (record_id, recipient, grant_data, signature, granted_by,"
                       " granted_by_device, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (rec.id, recipient, grant, signature, rec.author, rec.author_device, at))
        BLOBS.attach(db, application_id, rec.author, rec.blobs, at)

    @staticmethod
    def _record_exists(db: Db, rec: NewRecord) -> bool:
        """True when this very record is stored already (a retry); Conflict when its id holds other bytes."""
        row = db.execute("SELECT data FROM application_records WHERE id = ?", (rec.id,)).fetchone()
        if row is None:
            return False
        if bytes(row[0]) != rec.data:
            raise Conflict("a record with this id exists with other content", code="record_exists")
        return True

    async def submit(self, rec: NewRecord, unit_id: str, citizen_id: str, form_id: str, form_version: int,
                     on_behalf: bool, case_title: str, at: int) -> tuple[Application, Case, bool]:
        """Store a new application: in the citizen's open case in the unit, or in a new case opened for it
        (unassigned, titled by the form). Returns (application, case, stored now); a retry of the same
        record returns what was stored the first time with stored now = False."""
        def submit(db: Db) -> tuple[Application, Case, bool]:
            if self._record_exists(db, rec):
                app = self._get(db, rec.id)
                if app is None:
                    raise Conflict("a record with this id exists", code="record_exists")
                return app, Case(*db.execute(f"SELECT {_CASE_COLS} FROM cases WHERE id = ?",
                                             (app.case_id,)).fetchone()), False
            row = db.execute(f"SELECT {_CASE_COLS} FROM cases WHERE unit_id = ? AND citizen_id = ? AND"
                             " status = 'open' ORDER BY created_at DESC, id DESC LIMIT 1",
                             (unit_id, citizen_id)).fetchone()
            opened = row is None
            case = Case(*row) if row else self._open_case(db, unit_id, citizen_id, case_title, at)
            db.execute(f"INSERT INTO applications ({_APP_COLS}) VALUES (?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?, ?,"
                       " NULL)", (rec.id, unit_id, case.id, citizen_id, form_id, form_version, rec.author,
                                  int(on_behalf), int(opened), at, at))
            self._insert_record(db, rec.id, rec, at)
            db.execute("INSERT INTO application_events (application_id, kind, actor, on_behalf, record_id, at)"
                       " VALUES (?, 'received', ?, ?, ?, ?)", (rec.id, rec.author, int(on_behalf), rec.id, at))
            return self._get(db, rec.id), case, True  # type: ignore[return-value]
        return await self._run(submit)  # type: ignore[no-any-return]

    @staticmethod
    def _open_case(db: Db, unit_id: str, citizen_id: str, title: str, at: int) -> Case:
        prefix = f"{case_prefix(unit_id)}-{datetime.fromtimestamp(at / 1000, UTC).year}-"
        (count,) = db.execute("SELECT count(*) FROM cases WHERE id LIKE ? ESCAPE '\\'",
                              (prefix.replace("_", "\\_") + "%",)).fetchone()
        number = count + 1
        while db.execute("SELECT 1 FROM cases WHERE id = ?", (f"{prefix}{number:04d}",)).fetchone():
            number += 1
        case = Case(f"{prefix}{number:04d}", unit_id, citizen_id, None, title, "open", at)
        db.execute(f"INSERT INTO cases ({_CASE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (case.id, case.unit_id, case.citizen_id, case.assigned_to, case.title, case.status,
                    case.created_at))
        return case

    async def step(self, application_id: str, kind: str, actor: str, on_behalf: bool, at: int,
                   allowed_from: Sequence[str], rec: NewRecord | None = None, due_at: int | None = None,
                   status: str | None = None, detail: dict[str, Any] | None = None) -> tuple[Application, bool]:
        """One step of the timeline, `kind` (with its record and metadata, if any): the status becomes `status`
        (default: `kind`), when the status now is one of `allowed_from`. Returns (application, stored now); the
        same record again is a retry."""
        return await self._run(lambda db: self._step(  # type: ignore[no-any-return]
            db, application_id, kind, actor, on_behalf, at, allowed_from, rec, due_at, status, detail))

    def _step(self, db: Db, application_id: str, kind: str, actor: str, on_behalf: bool, at: int,
              allowed_from: Sequence[str], rec: NewRecord | None, due_at: int | None, status: str | None = None,
              detail: dict[str, Any] | None = None) -> tuple[Application, bool]:
        app = self._get(db, application_id)
        if app is None:
            raise NotFound("no such application", code="unknown_application")
        if rec is not None and self._record_exists(db, rec):
            return app, False
        if app.status not in allowed_from:
            raise Conflict(f"an application that is {app.status} cannot become {kind}", code="wrong_status")
        if rec is not None:
            self._insert_record(db, application_id, rec, at)
        db.execute("INSERT INTO application_events (application_id, kind, actor, on_behalf, record_id,"
                   " due_at, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (application_id, kind, actor, int(on_behalf), rec.id if rec else None, due_at, at,
                    json.dumps(detail, sort_keys=True) if detail else None))
        db.execute("UPDATE applications SET status = ?, updated_at = ?, due_at = ? WHERE id = ?",
                   (status or kind, at, due_at, application_id))
        return self._get(db, application_id), True  # type: ignore[return-value]

    # -- decisions -----------------------------------------------------------------------------------------
    @staticmethod
    def _decision(db: Db, decision_id: str) -> Decision | None:
        row = db.execute(f"SELECT {_DECISION_COLS} FROM application_decisions WHERE id = ?",
                         (decision_id,)).fetchone()
        return None if row is None else Decision(*row)

    async def decide(self, application_id: str, rec: NewRecord, at: int, allowed_from: Sequence[str],
                     replaces: str | None = None) -> tuple[Application, Decision, bool]:
        """The `decided` step and its decision row in one transaction. Returns (application, decision, stored
        now); the same record again is a retry."""
        def decide(db: Db) -> tuple[Application, Decision, bool]:
            if replaces is not None:
                old = self._decision(db, replaces)
                if old is None or old.application_id != application_id:
                    raise NotFound("no such decision on this application", code="unknown_decision")
            app, new = self._step(db, application_id, "decided", rec.author, False, at, allowed_from, rec, None)
            if new:
                db.execute(f"INSERT INTO application_decisions ({_DECISION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                           " 'app', NULL, NULL, NULL, NULL, NULL, NULL)",
                           (rec.id, application_id, app.case_id, app.unit_id, rec.author, rec.author_device, at,
                            replaces))
            decision = self._decision(db, rec.id)
            if decision is None:  # a retry of a record stored as another step
                raise Conflict("a record with this id exists", code="record_exists")
            return app, decision, new
        return await self._run(decide)  # type: ignore[no-any-return]

    async def decisions(self, application_id: str) -> list[Decision]:
        rows = await self._run(lambda db: db.execute(
            f"SELECT {_DECISION_COLS} FROM application_decisions WHERE application_id = ?"
            " ORDER BY decided_at, id", (application_id,)).fetchall())
        return [Decision(*r) for r in rows]

    async def decision(self, decision_id: str) -> Decision | None:
        return await self._run(lambda db: self._decision(db, decision_id))  # type: ignore[no-any-return]

    async def mark_received(self, decision_id: str, at: int, via: str, device_id: str | None, by: str
                            ) -> tuple[Decision, bool]:
        """Record the day the citizen received the decision, if none is recorded yet (the first time only)."""
        def mark(db: Db) -> tuple[Decision, bool]:
            changed = db.execute(
                "UPDATE application_decisions SET received_at = ?, received_via = ?, received_device = ?,"
                " received_by = ? WHERE id = ? AND received_at IS NULL",
                (at, via, device_id, by, decision_id)).rowcount
            decision = self._decision(db, decision_id)
            if decision is None:
                raise NotFound("no such decision", code="unknown_decision")
            return decision, changed > 0
        return await self._run(mark)  # type: ignore[no-any-return]

    async def mark_posted(self, decision_id: str, posted_at: int, by: str) -> Decision:
        def mark(db: Db) -> Decision:
            db.execute("UPDATE application_decisions SET delivery = 'post', posted_at = ?, posted_by = ?"
                       " WHERE id = ?", (posted_at, by, decision_id))
            decision = self._decision(db, decision_id)
            if decision is None:
                raise NotFound("no such decision", code="unknown_decision")
            return decision
        return await self._run(mark)  # type: ignore[no-any-return]

    async def add_grants(self, record_id: str, grants: Sequence[tuple[str, bytes, bytes]], granted_by: str,
                         device_id: str, at: int) -> int:
        """Add grants to a stored record; a recipient that has one already keeps it. Returns how many were new."""
        def add(db: Db) -> int:
            added = 0
            for recipient, grant, signature in grants:
                added += db.execute(
                    "INSERT INTO application_grants (record_id, recipient, grant_data, signature, granted_by,"
                    " granted_by_device, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (record_id, recipient, grant, signature, granted_by, device_id, at)).rowcount
            return added
        return int(await self._run(add))

    async def units(self) -> dict[str, str]:
        """Every unit's id and name: the units a citizen can apply to, with the forms they offer."""
        rows = await self._run(lambda db: db.execute("SELECT id, name FROM units ORDER BY name").fetchall())
        return {str(r[0]): str(r[1]) for r in rows}
