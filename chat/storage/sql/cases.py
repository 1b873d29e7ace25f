"""Cases, assignment and substitutes (chat/storage/cases.py) in SQL, for both engines."""
from __future__ import annotations

from chat.model import Case, Substitution, now_ms
from chat.storage.sql import Db
from chat.storage.sql.core import SqlCore


class SqlCases(SqlCore):
    """CaseStore, over the engine."""

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

    async def set_handled(self, case_id: str, user_id: str | None, at: int | None) -> None:
        await self._write([("INSERT INTO case_state (case_id, handled_at, handled_by) VALUES (?, ?, ?)"
                            " ON CONFLICT (case_id) DO UPDATE SET handled_at = excluded.handled_at,"
                            " handled_by = excluded.handled_by", (case_id, at, user_id))])

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
