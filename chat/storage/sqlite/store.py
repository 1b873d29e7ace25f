"""SQLite, the embedded default: one file in the data folder, WAL, foreign keys, numbered migrations
(chat/storage/sqlite/migrations/), one writer thread and one reader connection (writer.py)."""
from __future__ import annotations

from pathlib import Path

from chat.storage.sql.store import SqlStore
from chat.storage.sqlite.writer import MAX_BATCH, SqliteWriter

__all__ = ["MAX_BATCH", "SqliteStore"]


class SqliteStore(SqlStore):
    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = str(path)
        super().__init__(SqliteWriter(self.path, synchronous))
        self.writer: SqliteWriter = self.engine  # type: ignore[assignment]
