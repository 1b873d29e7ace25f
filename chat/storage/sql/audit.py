"""The audit log (chat/storage/audit.py) in SQL, for both engines: its rows as columns, reads and log review.
Appends are chained and batched by the engine (chat/storage/sql/batching.py; the chaining itself:
chat/audit/chain.py)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chat.audit.chain import AuditEvent, AuditRow
from chat.storage.sql import Db
from chat.storage.sql.core import SqlCore

AUDIT_COLS = "id, at, action, outcome, actor, role, unit_id, case_id, reason, detail, prev_hash, hash"


def audit_row(r: Sequence[Any]) -> AuditRow:
    return AuditRow(r[0], AuditEvent(r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9]), r[1]),
                    bytes(r[10]), bytes(r[11]))


class SqlAudit(SqlCore):
    """AuditStore, over the engine."""

    async def append_audit(self, event: AuditEvent) -> int:
        return await self.engine.append_audit(event)

    async def audit_rows(self, after_id: int = 0, limit: int = 1000) -> list[AuditRow]:
        rows = await self._all(f"SELECT {AUDIT_COLS} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
                               (after_id, limit))
        return [audit_row(r) for r in rows]

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

