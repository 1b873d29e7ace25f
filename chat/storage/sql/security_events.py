"""Security events (chat/storage/security_events.py) in SQL, for both engines."""
from __future__ import annotations

from chat.storage.sql.core import SqlCore


class SqlSecurityEvents(SqlCore):
    """SecurityEventStore, over the engine."""

    async def add_security_event(self, kind: str, *, user_id: str | None, device_id: str | None,
                                 case_id: str | None, detail: str, at: int) -> None:
        await self._write([("INSERT INTO security_events (at, kind, user_id, device_id, case_id, detail)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (at, kind, user_id, device_id, case_id, detail))])

    async def security_events(self, limit: int = 100) -> list[dict[str, object]]:
        rows = await self._all("SELECT id, at, kind, user_id, device_id, case_id, detail FROM security_events"
                               " ORDER BY id DESC LIMIT ?", (limit,))
        keys = ("id", "at", "kind", "user_id", "device_id", "case_id", "detail")
        return [dict(zip(keys, r)) for r in rows]
