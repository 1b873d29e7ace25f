"""Mandates and withheld entries (migration 0032, PostgreSQL 0017) in SQL, for both engines."""
from __future__ import annotations

from typing import Any

from chat.errors import NotFound
from chat.model import Mandate, MandateBasis, MandateKind, Scope
from chat.storage.mandates import MandateStore, Withholding
from chat.storage.sql import Db, Engine

_COLS = ("id, case_id, holder, citizen, kind, basis, basis_reference, document_blob, scopes, starts_at, ends_at,"
         " created_by, created_at, ended_at, ended_by, child_speaks_from")


def _mandate(row: Any) -> Mandate:
    (mid, case_id, holder, citizen, kind, basis, reference, blob, scopes, starts, ends, by, at, ended_at, ended_by,
     child) = row
    return Mandate(int(mid), case_id, holder, citizen, MandateKind(kind), MandateBasis(basis), reference, blob,
                   frozenset(Scope(s) for s in scopes.split(",") if s), int(starts), int(ends), by, int(at),
                   None if ended_at is None else int(ended_at), ended_by, None if child is None else int(child))


class SqlMandateStore(MandateStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def add(self, mandate: Mandate) -> int:
        m = mandate

        def insert(db: Db) -> int:
            # The power of attorney is an attachment of the case that no message carries: bound here, so that
            # the sweep of unused attachments leaves it.
            if m.document_blob is not None and not db.execute(
                    "UPDATE blobs SET attached_at = ? WHERE id = ? AND case_id = ? AND attached_at IS NULL",
                    (m.created_at, m.document_blob, m.case_id)).rowcount:
                raise NotFound("no such attachment in the case", code="unknown_blob")
            row = db.execute(
                "INSERT INTO mandates (case_id, holder, citizen, kind, basis, basis_reference, document_blob, scopes,"
                " starts_at, ends_at, created_by, created_at, child_speaks_from)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (m.case_id, m.holder, m.citizen, m.kind.value, m.basis.value, m.basis_reference, m.document_blob,
                 ",".join(sorted(s.value for s in m.scopes)), m.starts_at, m.ends_at, m.created_by, m.created_at,
                 m.child_speaks_from)).fetchone()
            return int(row[0])
        return await self.engine.transaction(insert)

    async def get(self, mandate_id: int) -> Mandate | None:
        row = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {_COLS} FROM mandates WHERE id = ?", (mandate_id,)).fetchone())
        return _mandate(row) if row else None

    async def end(self, mandate_id: int, by: str, at: int) -> bool:
        count = await self.engine.transaction(lambda db: db.execute(
            "UPDATE mandates SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL",
            (at, by, mandate_id)).rowcount)
        return bool(count)

    async def of_case(self, case_id: str) -> list[Mandate]:
        rows = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {_COLS} FROM mandates WHERE case_id = ? ORDER BY id", (case_id,)).fetchall())
        return [_mandate(r) for r in rows]

    async def of_person(self, user_id: str) -> list[Mandate]:
        rows = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {_COLS} FROM mandates WHERE (holder = ? OR citizen = ?) AND ended_at IS NULL ORDER BY id",
            (user_id, user_id)).fetchall())
        return [_mandate(r) for r in rows]

    async def of_unit(self, unit_id: str) -> list[Mandate]:
        columns = ", ".join(f"m.{c.strip()}" for c in _COLS.split(","))
        rows = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {columns} FROM mandates m JOIN cases c ON c.id = m.case_id WHERE c.unit_id = ? ORDER BY m.id",
            (unit_id,)).fetchall())
        return [_mandate(r) for r in rows]

    async def lapsed_unsettled(self, at: int) -> list[Mandate]:
        rows = await self.engine.transaction(lambda db: db.execute(
            f"SELECT {_COLS} FROM mandates WHERE settled_at IS NULL AND (ends_at <= ? OR ended_at IS NOT NULL)"
            " ORDER BY id", (at,)).fetchall())
        return [_mandate(r) for r in rows]

    async def settle(self, mandate_id: int, at: int) -> None:
        await self.engine.transaction(lambda db: db.execute(
            "UPDATE mandates SET settled_at = ? WHERE id = ? AND settled_at IS NULL", (at, mandate_id)))

    async def withhold(self, withholding: Withholding) -> None:
        w = withholding
        await self.engine.transaction(lambda db: db.execute(
            "INSERT INTO withheld_entries (entry_id, case_id, reason, withheld_by, withheld_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (entry_id) DO UPDATE SET reason = excluded.reason, withheld_by = excluded.withheld_by,"
            " withheld_at = excluded.withheld_at", (w.entry_id, w.case_id, w.reason, w.by, w.at)))

    async def release(self, entry_id: str) -> bool:
        count = await self.engine.transaction(lambda db: db.execute(
            "DELETE FROM withheld_entries WHERE entry_id = ?", (entry_id,)).rowcount)
        return bool(count)

    async def withheld(self, case_id: str) -> list[Withholding]:
        rows = await self.engine.transaction(lambda db: db.execute(
            "SELECT entry_id, case_id, reason, withheld_by, withheld_at FROM withheld_entries WHERE case_id = ?"
            " ORDER BY withheld_at, entry_id", (case_id,)).fetchall())
        return [Withholding(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]
