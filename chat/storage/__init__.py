"""The storage interface: everything the domain asks of a database, in the domain's words.

SQLite (chat/storage/sqlite/) is the embedded default, PostgreSQL (chat/storage/postgres/) the engine for
more than one node; the SQL both run is in chat/storage/sql/. Nothing outside those three holds SQL or
imports a database driver (tests/test_storage_seam.py)."""
from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from chat.audit.chain import AuditEvent, AuditRow
from chat.model import (
    Ack,
    Case,
    CaseActivity,
    CaseKeyState,
    CaseKeyWrap,
    Device,
    MessageMeta,
    Municipality,
    ReceiptMarks,
    StoredMessage,
    Substitution,
    Unit,
    UnitKeyEpoch,
    UnitKeyGrant,
    User,
)
from chat.storage.applications import ApplicationStore
from chat.storage.bookings import BookingStore
from chat.storage.exchange import ExchangeStore
from chat.storage.journal import JournalStore
from chat.storage.key_history import KeyHistoryStore
from chat.storage.key_log import KeyLogStore
from chat.storage.notifications import NotificationStore
from chat.storage.units import ProtectedIdentityStore, UnitSettingsStore


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """An OpenID Connect authorization request in flight (web/login.py)."""

    state_hash: bytes
    kind: str  # citizen | staff
    nonce: str
    code_verifier: str
    binding_hash: bytes  # SHA-256 of the value in the browser's login cookie
    next_path: str
    created_at: int
    used_at: int | None = None


class Storage(abc.ABC):
    """All methods are coroutines; implementations are safe to call concurrently from one event loop.

    The core aggregates (accounts, devices and keys, cases, messages, audit, sessions) are methods here; each
    feature's aggregate is an attribute with its own interface, so that a feature reaches its tables only
    through `store.<feature>`."""

    applications: ApplicationStore
    bookings: BookingStore
    exchange: ExchangeStore
    journal: JournalStore
    key_history: KeyHistoryStore
    key_log: KeyLogStore  # unit identity certificates and the key transparency log
    notifications: NotificationStore
    protected_identities: ProtectedIdentityStore
    unit_settings: UnitSettingsStore

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    # The database itself (docs/operations.md, Backup and restore)
    async def database_generation(self) -> str:
        """The database's generation: a random id, new on create and on restore (docs/protocol.md §14.3)."""
        raise NotImplementedError

    async def probe_write(self) -> None:
        """A small real write, for /readyz: raises as a message's commit would when storage fails."""
        raise NotImplementedError

    # Organisation and accounts
    @abc.abstractmethod
    async def add_municipality(self, m: Municipality) -> None: ...

    @abc.abstractmethod
    async def add_unit(self, unit: Unit) -> None: ...

    @abc.abstractmethod
    async def get_unit(self, unit_id: str) -> Unit | None: ...

    @abc.abstractmethod
    async def get_municipality(self, municipality_id: str) -> Municipality | None: ...

    @abc.abstractmethod
    async def all_units(self) -> list[Unit]:
        """Every unit, by municipality and id (an operator's listing)."""

    @abc.abstractmethod
    async def add_user(self, user: User) -> None: ...

    @abc.abstractmethod
    async def get_user(self, user_id: str) -> User | None: ...

    @abc.abstractmethod
    async def get_user_by_username(self, username: str) -> User | None: ...

    @abc.abstractmethod
    async def staff_of_unit(self, unit_id: str) -> list[User]: ...

    # Devices
    @abc.abstractmethod
    async def add_device(self, device: Device) -> None: ...

    @abc.abstractmethod
    async def get_device(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    async def devices_of_user(self, user_id: str) -> list[Device]: ...

    @abc.abstractmethod
    async def revoke_device(self, device_id: str, at: int) -> None: ...

    # Unit key epochs and grants
    @abc.abstractmethod
    async def add_unit_key_epoch(self, epoch: UnitKeyEpoch, grants: Sequence[UnitKeyGrant]) -> None:
        """Raises Conflict when the epoch exists or is not the next one."""

    @abc.abstractmethod
    async def unit_key_epochs(self, unit_id: str) -> list[UnitKeyEpoch]: ...

    @abc.abstractmethod
    async def add_unit_key_grants(self, grants: Sequence[UnitKeyGrant]) -> None: ...

    @abc.abstractmethod
    async def unit_key_grants_for_device(self, unit_id: str, device_id: str) -> list[UnitKeyGrant]: ...

    @abc.abstractmethod
    async def unit_key_grants(self, unit_id: str, epoch: int) -> list[UnitKeyGrant]: ...

    # Cases and case keys
    @abc.abstractmethod
    async def add_case(self, case: Case) -> None: ...

    @abc.abstractmethod
    async def get_case(self, case_id: str) -> Case | None: ...

    @abc.abstractmethod
    async def cases_of_citizen(self, citizen_id: str) -> list[Case]: ...

    @abc.abstractmethod
    async def cases_of_unit(self, unit_id: str) -> list[Case]: ...

    @abc.abstractmethod
    async def current_case_epoch(self, case_id: str) -> int:
        """0 when the case has no key yet."""

    @abc.abstractmethod
    async def add_case_key_epoch(
        self, case_id: str, epoch: int, created_by_device: str, wraps: Sequence[CaseKeyWrap], at: int
    ) -> None:
        """Raises Conflict unless epoch is exactly the current one plus one."""

    @abc.abstractmethod
    async def add_case_key_wraps(self, wraps: Sequence[CaseKeyWrap]) -> None:
        """Adds wraps to existing epochs; an existing (case, epoch, recipient) is left as it was."""

    @abc.abstractmethod
    async def case_key_wraps(self, case_id: str, recipients: Sequence[str] | None = None) -> list[CaseKeyWrap]: ...

    @abc.abstractmethod
    async def case_key_overview(self, unit_id: str) -> list[CaseKeyState]:
        """Every case of the unit with its current key epoch, that epoch's holders and the citizen's devices,
        in a fixed number of queries whatever the number of cases (the pending key work asks often)."""

    # Messages
    @abc.abstractmethod
    def enqueue_message(
        self, case_id: str, msg_id: str, sender_device: str, sender_user: str, envelope: bytes,
        audit: AuditEvent | None = None,
    ) -> asyncio.Future[Ack]:
        """Queue one message for storing; messages get their case's next seqs in the order they are
        queued. The future resolves once the message is durably stored; `audit` is appended to the audit
        log in the same transaction, with the seq added to its detail.

        The same (case, msg_id) with the same envelope bytes resolves to the original Ack with
        duplicate=True and stores nothing; with different bytes the future raises Conflict."""

    async def append_message(
        self, case_id: str, msg_id: str, sender_device: str, sender_user: str, envelope: bytes,
        audit: AuditEvent | None = None,
    ) -> Ack:
        """enqueue_message, awaited."""
        return await self.enqueue_message(case_id, msg_id, sender_device, sender_user, envelope, audit)

    # Audit log: append-only, hash-chained
    @abc.abstractmethod
    async def append_audit(self, event: AuditEvent) -> int:
        """Append one event durably (batched with other writes); returns its row id."""

    @abc.abstractmethod
    async def audit_rows(self, after_id: int = 0, limit: int = 1000) -> list[AuditRow]: ...

    @abc.abstractmethod
    async def messages_after(self, case_id: str, after_seq: int, limit: int) -> list[StoredMessage]: ...

    @abc.abstractmethod
    async def last_seq(self, case_id: str) -> int: ...

    @abc.abstractmethod
    async def case_activity(self, case_id: str, user_id: str) -> CaseActivity: ...

    @abc.abstractmethod
    async def case_activities(self, case_ids: Sequence[str], user_id: str) -> dict[str, tuple[int, CaseActivity]]:
        """(last seq, activity) of many cases at once, for an inbox list: as last_seq and case_activity."""

    @abc.abstractmethod
    async def recent_message_meta(self, case_id: str, limit: int) -> list[MessageMeta]:
        """The newest `limit` messages' metadata, oldest first."""

    @abc.abstractmethod
    async def set_handled(self, case_id: str, user_id: str | None, at: int | None) -> None: ...

    # Log review
    @abc.abstractmethod
    async def audit_search(self, unit_id: str, case_ids: Sequence[str] | None, case_id: str | None,
                           actor: str | None, start: int | None, end: int | None, after_id: int, limit: int,
                           sample: bool) -> list[AuditRow]:
        """The unit's audit rows matching every filter given, in id order after `after_id`, or (sample)
        a uniformly random selection of `limit` of them."""

    @abc.abstractmethod
    async def add_finding(self, unit_id: str, audit_id: int, reviewer: str, verdict: str, note: str,
                          at: int) -> int: ...

    @abc.abstractmethod
    async def findings(self, unit_id: str) -> list[tuple[int, int, str, str, str, int]]:
        """(id, audit_id, reviewer, verdict, note, created_at), newest first."""

    # Assignment and substitutes
    @abc.abstractmethod
    async def assign_case(self, case_id: str, user_id: str | None) -> None: ...

    @abc.abstractmethod
    async def remove_from_unit(self, user_id: str, unit_id: str, at: int) -> None:
        """A staff member leaves the unit: their devices are revoked, their cases unassigned, and they no
        longer belong to the unit. In one transaction."""

    @abc.abstractmethod
    async def add_substitution(self, sub: Substitution) -> int: ...

    @abc.abstractmethod
    async def revoke_substitution(self, unit_id: str, substitution_id: int, at: int) -> bool: ...

    @abc.abstractmethod
    async def substitutions_of_unit(self, unit_id: str, current_or_future_at: int | None = None) -> list[Substitution]:
        """All of the unit's substitutions, or only those not yet ended at the given time."""

    # Attachments (ciphertext)
    @abc.abstractmethod
    async def add_blob(self, blob_id: str, case_id: str, uploaded_by: str, data: bytes, at: int) -> None: ...

    @abc.abstractmethod
    async def get_blob(self, case_id: str, blob_id: str) -> bytes | None: ...

    @abc.abstractmethod
    async def attachment_bytes_of(self, user_id: str) -> int:
        """What the person has uploaded and is kept: case attachments, and those of applications and the
        journal, staged or attached (their quota, SAMTAL_ATTACHMENT_QUOTA_BYTES)."""

    # Receipts
    @abc.abstractmethod
    async def mark_receipt(self, case_id: str, user_id: str, *, delivered_seq: int, read_seq: int) -> ReceiptMarks:
        """Raise the user's high-water marks (never lower them); returns the marks now stored."""

    @abc.abstractmethod
    async def receipts_of_case(self, case_id: str) -> list[ReceiptMarks]: ...

    # Sessions (the id itself is never stored, only its hash)
    @abc.abstractmethod
    async def add_session(self, id_hash: bytes, user_id: str, at: int, expires_at: int) -> None: ...

    @abc.abstractmethod
    async def get_session(self, id_hash: bytes) -> tuple[str, int, int] | None:
        """(user_id, last_seen_at, expires_at)"""

    @abc.abstractmethod
    async def touch_session(self, id_hash: bytes, at: int) -> None: ...

    @abc.abstractmethod
    async def delete_session(self, id_hash: bytes) -> None: ...

    @abc.abstractmethod
    async def delete_sessions_of_user(self, user_id: str) -> int:
        """End every session of the user (sign out everywhere); returns how many there were."""

    # Sign-in: identities, kept only as keyed hashes, and authorization requests in flight
    @abc.abstractmethod
    async def user_by_identity(self, identity_hash: bytes) -> User | None: ...

    @abc.abstractmethod
    async def add_user_with_identity(self, user: User, identity_hash: bytes, kind: str) -> User:
        """Create the user and its identity in one transaction. When the identity exists already (two first
        sign-ins at once), nothing is created and the identity's user is returned."""

    @abc.abstractmethod
    async def update_user(self, user: User) -> None:
        """Display name, role and unit, as the identity provider now says."""

    @abc.abstractmethod
    async def add_login_attempt(self, attempt: LoginAttempt, forget_before: int) -> None:
        """Store an attempt; attempts created before `forget_before` are deleted."""

    @abc.abstractmethod
    async def take_login_attempt(self, state_hash: bytes, at: int) -> LoginAttempt | None:
        """The attempt with this state, marked used at `at` in the same transaction. An attempt used before
        comes back with its first `used_at`: the caller refuses it as a replay."""

    # Security events: append-only
    @abc.abstractmethod
    async def add_security_event(
        self, kind: str, *, user_id: str | None, device_id: str | None, case_id: str | None, detail: str, at: int
    ) -> None: ...

    @abc.abstractmethod
    async def security_events(self, limit: int = 100) -> list[dict[str, object]]: ...
