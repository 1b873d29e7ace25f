"""PostgreSQL, for more than one node: the shared SQL (chat/storage/sql/) on the PostgreSQL engine
(engine.py), its schema in chat/storage/postgres/migrations/."""
from __future__ import annotations

from chat.storage.postgres.engine import PostgresEngine
from chat.storage.sql.store import SqlStore


class PostgresStore(SqlStore):
    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(PostgresEngine(url))
