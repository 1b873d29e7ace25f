"""Organisation and accounts (chat/storage/accounts.py) in SQL, for both engines."""
from __future__ import annotations

from typing import Any

from chat.model import Municipality, Role, Unit, User, now_ms
from chat.storage.sql import Db
from chat.storage.sql.core import SqlCore


class SqlAccounts(SqlCore):
    """AccountStore, over the engine."""

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

    async def update_user(self, user: User) -> None:
        await self._write([("UPDATE users SET display_name = ?, role = ?, unit_id = ? WHERE id = ?",
                            (user.display_name, user.role.value, user.unit_id, user.id))])
        self._users.pop(user.id, None)

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
