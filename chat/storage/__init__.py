"""The storage interface: everything the domain asks of a database, in the domain's words.

Each aggregate has its typed interface in a module of its own here (accounts, devices, cases, messages,
audit, sessions, security_events; and the features': applications, bookings, journal, exchange, ...).
SQLite (chat/storage/sqlite/) is the embedded default, PostgreSQL (chat/storage/postgres/) the engine for
more than one node; the SQL both run is in chat/storage/sql/. Nothing outside those three holds SQL or
imports a database driver (tests/test_storage_seam.py)."""
from __future__ import annotations

import abc

from chat.storage.accounts import AccountStore
from chat.storage.applications import ApplicationStore
from chat.storage.audit import AuditStore
from chat.storage.bookings import BookingStore
from chat.storage.cases import CaseStore
from chat.storage.devices import DeviceKeyStore
from chat.storage.exchange import ExchangeStore
from chat.storage.extracts import ExtractStore
from chat.storage.journal import JournalStore
from chat.storage.key_history import KeyHistoryStore
from chat.storage.key_log import KeyLogStore
from chat.storage.mandates import MandateStore
from chat.storage.messages import MessageStore
from chat.storage.notifications import NotificationStore
from chat.storage.retention import RetentionStore
from chat.storage.schedule import ScheduleStore
from chat.storage.sdk import SdkStore
from chat.storage.security_events import SecurityEventStore
from chat.storage.sessions import LoginAttempt, SessionStore
from chat.storage.units import ProtectedIdentityStore, UnitSettingsStore

__all__ = ["AccountStore", "AuditStore", "CaseStore", "DeviceKeyStore", "LoginAttempt", "MessageStore",
           "SecurityEventStore", "SessionStore", "Storage"]


class Storage(AccountStore, DeviceKeyStore, CaseStore, MessageStore, AuditStore, SessionStore,
              SecurityEventStore, abc.ABC):
    """All methods are coroutines; implementations are safe to call concurrently from one event loop.

    The one store implements every aggregate's interface: the core aggregates' interfaces (accounts, devices
    and keys, cases and assignment, messages, audit, sessions and sign-in, security events) are its bases,
    so that domain code can be typed against the narrow one it uses; each feature's aggregate is an attribute
    with its own interface, so that a feature reaches its tables only through `store.<feature>`."""

    applications: ApplicationStore
    bookings: BookingStore
    exchange: ExchangeStore
    extracts: ExtractStore  # register extract requests and their deliveries (GDPR art. 15)
    journal: JournalStore
    key_history: KeyHistoryStore
    key_log: KeyLogStore  # unit identity certificates and the key transparency log
    mandates: MandateStore  # representatives and guardians, and entries withheld from guardians
    notifications: NotificationStore
    protected_identities: ProtectedIdentityStore
    retention: RetentionStore  # retention rules, legal holds, the research sample, deletion (gallring)
    schedule: ScheduleStore  # scheduled work claimed per item, once across server processes
    sdk: SdkStore  # SDK parties behind exchange addresses (docs/sdk.md)
    unit_settings: UnitSettingsStore

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    # The database itself (docs/operations.md, Backup and restore)
    @abc.abstractmethod
    async def database_generation(self) -> str:
        """The database's generation: a random id, new on create and on restore (docs/protocol.md §14.3)."""

    @abc.abstractmethod
    async def probe_write(self) -> None:
        """A small real write, for /readyz: raises as a message's commit would when storage fails."""
