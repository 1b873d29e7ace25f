"""The one store over an engine, SQLite (chat/storage/sqlite/) or PostgreSQL (chat/storage/postgres/): every
aggregate's SQL, one mixin per core aggregate (accounts, devices, cases, messages, audit, sessions,
security_events beside this module) and one object per feature (`store.journal`, `store.bookings`, ...). The
engine runs write transactions serialised (`transaction`), reads beside them (`one`, `all`) and appends in
batches (`enqueue_message`, `append_audit`)."""
from __future__ import annotations

from chat.model import Case, Device, now_ms
from chat.storage import Storage
from chat.storage.sql.accounts import SqlAccounts
from chat.storage.sql.applications import SqlApplicationStore
from chat.storage.sql.audit import SqlAudit
from chat.storage.sql.bookings import SqlBookingStore
from chat.storage.sql.cases import SqlCases
from chat.storage.sql.core import SqlEngine
from chat.storage.sql.devices import SqlDevicesAndKeys
from chat.storage.sql.exchange import SqlExchangeStore
from chat.storage.sql.extracts import SqlExtractStore
from chat.storage.sql.journal import SqlJournalStore
from chat.storage.sql.key_history import SqlKeyHistoryStore
from chat.storage.sql.key_log import SqlKeyLogStore
from chat.storage.sql.mandates import SqlMandateStore
from chat.storage.sql.messages import SqlMessages
from chat.storage.sql.notifications import SqlNotificationStore
from chat.storage.sql.retention import SqlRetentionStore
from chat.storage.sql.schedule import SqlScheduleStore
from chat.storage.sql.sdk import SqlSdkStore
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
        self.extracts = SqlExtractStore(engine)
        self.journal = SqlJournalStore(engine)
        self.key_history = SqlKeyHistoryStore(engine)
        self.key_log = SqlKeyLogStore(engine)
        self.mandates = SqlMandateStore(engine)
        self.notifications = SqlNotificationStore(engine)
        self.protected_identities = SqlProtectedIdentityStore(engine)
        self.retention = SqlRetentionStore(engine, self._forget_cases)
        self.schedule = SqlScheduleStore(engine)
        self.sdk = SqlSdkStore(engine)
        self.unit_settings = SqlUnitSettingsStore(engine)

    async def open(self) -> None:
        await self.engine.open()  # applies the migrations

    async def close(self) -> None:
        await self.engine.close()

    def _forget_cases(self, case_ids: list[str]) -> None:
        """The cases were deleted (chat/retention/): the caches must not answer for them."""
        for case_id in case_ids:
            self._cases.pop(case_id, None)
            self._case_epoch.pop(case_id, None)

    # -- the send path's reads, together ---------------------------------------------------------------
    async def send_context(self, device_id: str, case_id: str) -> tuple[Device | None, Case | None, int]:
        if self._caching:  # the only writer: the caches answer, no read at all
            return await self.get_device(device_id), await self.get_case(case_id), await self.current_case_epoch(case_id)
        device_cols = ", ".join(f"d.{c.strip()}" for c in self._DEVICE_COLS.split(","))
        case_cols = ", ".join(f"c.{c.strip()}" for c in self._CASE_COLS.split(","))
        row = await self._one(
            f"SELECT {device_cols}, {case_cols}, (SELECT coalesce(max(epoch), 0) FROM case_key_epochs"
            " WHERE case_id = ?) FROM (SELECT 1 AS one) AS one LEFT JOIN devices d ON d.id = ?"
            " LEFT JOIN cases c ON c.id = ?", (case_id, device_id, case_id))
        split = device_cols.count(",") + 1  # the device's columns, then the case's, then the epoch
        device = Device(*row[:split]) if row[0] is not None else None
        case = Case(*row[split:-1]) if row[split] is not None else None
        return device, case, int(row[-1])

    # -- the database itself ---------------------------------------------------------------------------
    async def database_generation(self) -> str:
        row = await self._one("SELECT generation FROM database_generation WHERE singleton = 1")
        assert row is not None, "a migration makes the first generation"
        return str(row[0])

    async def probe_write(self) -> None:
        await self._write([("UPDATE database_generation SET probed_at = ? WHERE singleton = 1", (now_ms(),))])
