"""The one store over an engine, SQLite (chat/storage/sqlite/) or PostgreSQL (chat/storage/postgres/): every
aggregate's SQL, one mixin per core aggregate (accounts, devices, cases, messages, audit, sessions,
security_events beside this module) and one object per feature (`store.journal`, `store.bookings`, ...). The
engine runs write transactions serialised (`transaction`), reads beside them (`one`, `all`) and appends in
batches (`enqueue_message`, `append_audit`)."""
from __future__ import annotations

from chat.model import now_ms
from chat.storage import Storage
from chat.storage.sql.accounts import SqlAccounts
from chat.storage.sql.applications import SqlApplicationStore
from chat.storage.sql.audit import SqlAudit
from chat.storage.sql.bookings import SqlBookingStore
from chat.storage.sql.cases import SqlCases
from chat.storage.sql.core import SqlEngine
from chat.storage.sql.devices import SqlDevicesAndKeys
from chat.storage.sql.exchange import SqlExchangeStore
from chat.storage.sql.journal import SqlJournalStore
from chat.storage.sql.key_history import SqlKeyHistoryStore
from chat.storage.sql.key_log import SqlKeyLogStore
from chat.storage.sql.messages import SqlMessages
from chat.storage.sql.notifications import SqlNotificationStore
from chat.storage.sql.schedule import SqlScheduleStore
from chat.storage.sql.security_events import SqlSecurityEvents
from chat.storage.sql.sessions import SqlSessions
from chat.storage.sql.units import SqlProtectedIdentityStore, SqlUnitSettingsStore

__all__ = ["SqlEngine", "SqlStore"]


class SqlStore(SqlAccounts, SqlDevicesAndKeys, SqlCases, SqlMessages, SqlAudit, SqlSessions, SqlSecurityEvents,
               Storage):
    def __init__(self, engine: SqlEngine) -> None:
        self._init_core(engine)
        self.applications = SqlApplicationStore(engine)
        self.bookings = SqlBookingStore(engine)
        self.exchange = SqlExchangeStore(engine)
        self.journal = SqlJournalStore(engine)
        self.key_history = SqlKeyHistoryStore(engine)
        self.key_log = SqlKeyLogStore(engine)
        self.notifications = SqlNotificationStore(engine)
        self.protected_identities = SqlProtectedIdentityStore(engine)
        self.schedule = SqlScheduleStore(engine)
        self.unit_settings = SqlUnitSettingsStore(engine)

    async def open(self) -> None:
        await self.engine.open()  # applies the migrations

    async def close(self) -> None:
        await self.engine.close()

    # -- the database itself ---------------------------------------------------------------------------
    async def database_generation(self) -> str:
        row = await self._one("SELECT generation FROM database_generation WHERE singleton = 1")
        assert row is not None, "a migration makes the first generation"
        return str(row[0])

    async def probe_write(self) -> None:
        await self._write([("UPDATE database_generation SET probed_at = ? WHERE singleton = 1", (now_ms(),))])
