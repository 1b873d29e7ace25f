"""Unit settings (migration 0011's unit_settings) and protected identities (migration 0015), for both engines."""
from __future__ import annotations

from chat.storage.sql import Engine
from chat.storage.units import ProtectedIdentityStore, UnitSettings, UnitSettingsStore


class SqlUnitSettingsStore(UnitSettingsStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def all(self) -> dict[str, UnitSettings]:
        rows = await self.engine.transaction(lambda db: db.execute(
            "SELECT unit_id, video_link_template, updated_by, updated_at FROM unit_settings").fetchall())
        return {r[0]: UnitSettings(*r) for r in rows}

    async def put(self, settings: UnitSettings) -> None:
        await self.engine.transaction(lambda db: db.execute(
            "INSERT INTO unit_settings (unit_id, video_link_template, updated_by, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (unit_id) DO UPDATE SET video_link_template = excluded.video_link_template,"
            " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (settings.unit_id, settings.video_link_template, settings.updated_by, settings.updated_at)))


class SqlProtectedIdentityStore(ProtectedIdentityStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def protected_users(self) -> set[str]:
        rows = await self.engine.transaction(lambda db: db.execute(
            "SELECT user_id FROM protected_identities").fetchall())
        return {str(r[0]) for r in rows}

    async def set_protected(self, user_id: str, protected: bool, by: str, at: int) -> None:
        if protected:
            await self.engine.transaction(lambda db: db.execute(
                "INSERT INTO protected_identities (user_id, set_by, set_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO NOTHING", (user_id, by, at)))
        else:
            await self.engine.transaction(lambda db: db.execute(
                "DELETE FROM protected_identities WHERE user_id = ?", (user_id,)))
