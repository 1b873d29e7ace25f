"""Register extract requests (chat/storage/extracts.py, migration 0029 / PostgreSQL 0014), for both engines."""
from __future__ import annotations

from typing import Any

from chat.storage.extracts import AttachmentMeta, ExtractRequest, ExtractStore
from chat.storage.sql import Db, Engine

_COLS = "id, citizen_id, unit_id, requested_by, on_behalf, requested_at, due_at, parent_id, delivered_at, delivered_by"


def _row(r: Any) -> ExtractRequest:
    return ExtractRequest(r[0], r[1], r[2], r[3], bool(r[4]), int(r[5]), int(r[6]), r[7],
                          None if r[8] is None else int(r[8]), r[9])


class SqlExtractStore(ExtractStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def add(self, requests: list[ExtractRequest]) -> None:
        await self.engine.transaction(lambda db: db.executemany(
            f"INSERT INTO extract_requests ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.id, r.citizen_id, r.unit_id, r.requested_by, int(r.on_behalf), r.requested_at, r.due_at, r.parent_id,
              r.delivered_at, r.delivered_by) for r in requests]))

    async def get(self, request_id: str) -> ExtractRequest | None:
        row = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {_COLS} FROM extract_requests WHERE id = ?", (request_id,)).fetchone())
        return None if row is None else _row(row)

    async def deliver(self, request_id: str, by: str, at: int) -> ExtractRequest | None:
        def deliver(db: Db) -> Any:
            db.execute("UPDATE extract_requests SET delivered_at = ?, delivered_by = ?"
                       " WHERE id = ? AND delivered_at IS NULL", (at, by, request_id))
            return db.execute(f"SELECT {_COLS} FROM extract_requests WHERE id = ?", (request_id,)).fetchone()

        row = await self.engine.transaction(deliver)
        return None if row is None else _row(row)

    async def of_citizen(self, citizen_id: str) -> list[ExtractRequest]:
        rows = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {_COLS} FROM extract_requests WHERE citizen_id = ? ORDER BY requested_at DESC, id",
            (citizen_id,)).fetchall())
        return [_row(r) for r in rows]

    async def of_unit(self, unit_id: str) -> list[ExtractRequest]:
        rows = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {_COLS} FROM extract_requests WHERE unit_id = ?"
            " ORDER BY delivered_at IS NOT NULL, due_at, id", (unit_id,)).fetchall())
        return [_row(r) for r in rows]

    async def attachments(self, case_ids: list[str], citizen_id: str) -> list[AttachmentMeta]:
        if not case_ids:
            return []
        marks = ", ".join("?" for _ in case_ids)
        rows = await self.engine.transaction(lambda db: db.execute(
            f"SELECT 'message', id, case_id, uploaded_by, size, created_at, msg_id FROM blobs"
            f" WHERE case_id IN ({marks}) AND attached_at IS NOT NULL"
            f" UNION ALL SELECT 'journal', id, case_id, uploaded_by, size, created_at, NULL FROM journal_blobs"
            f" WHERE case_id IN ({marks}) AND attached_at IS NOT NULL AND uploaded_by = ?"
            f" UNION ALL SELECT 'application', b.id, a.case_id, b.uploaded_by, b.size, b.created_at, a.id"
            f" FROM application_blobs b JOIN applications a ON a.id = b.application_id"
            f" WHERE a.case_id IN ({marks}) AND b.attached_at IS NOT NULL AND b.uploaded_by = ?"
            f" ORDER BY 6, 2", (*case_ids, *case_ids, citizen_id, *case_ids, citizen_id)).fetchall())
        return [AttachmentMeta(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), r[6]) for r in rows]
