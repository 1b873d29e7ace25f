"""Claims of scheduled work (chat/storage/schedule.py, migration 0026 / PostgreSQL 0011), for both engines."""
from __future__ import annotations

from chat.storage.schedule import ScheduleStore
from chat.storage.sql import Db, Engine

WEEK_MS = 7 * 24 * 3600_000


class SqlScheduleStore(ScheduleStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def claim(self, kind: str, item: str, node: str, at: int, lease_ms: int) -> bool:
        def claim(db: Db) -> bool:
            # Taken over only when unfinished and past its lease; the write lock serialises two nodes' claims.
            row = db.execute(
                "INSERT INTO scheduled_claims (kind, item, node, claimed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, item) DO UPDATE SET node = excluded.node, claimed_at = excluded.claimed_at"
                " WHERE scheduled_claims.finished_at IS NULL AND scheduled_claims.claimed_at <= ?"
                " RETURNING node", (kind, item, node, at, at - lease_ms)).fetchone()
            return row is not None and row[0] == node

        return await self.engine.transaction(claim)

    async def release(self, kind: str, item: str, node: str) -> None:
        await self.engine.transaction(lambda db: db.execute(
            "DELETE FROM scheduled_claims WHERE kind = ? AND item = ? AND node = ? AND finished_at IS NULL",
            (kind, item, node)))

    async def finish(self, kind: str, item: str, at: int) -> None:
        def finish(db: Db) -> None:
            db.execute("UPDATE scheduled_claims SET finished_at = ? WHERE kind = ? AND item = ?", (at, kind, item))
            db.execute("DELETE FROM scheduled_claims WHERE finished_at < ?", (at - WEEK_MS,))

        await self.engine.transaction(finish)
