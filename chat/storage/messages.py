"""Messages and what hangs on them: the per-case sequence of sealed envelopes, receipts, inbox activity and
attachments (ciphertext). The server never sees what a message says."""
from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from chat.audit.chain import AuditEvent
from chat.model import Ack, Case, CaseActivity, Device, MessageMeta, ReceiptMarks, StoredMessage


@runtime_checkable
class MessageStore(Protocol):
    @abc.abstractmethod
    def enqueue_message(
        self, case_id: str, msg_id: str, sender_device: str, sender_user: str, envelope: bytes,
        audit: AuditEvent | None = None, blobs: tuple[str, ...] = (),
    ) -> asyncio.Future[Ack]:
        """Queue one message for storing; messages get their case's next seqs in the order they are
        queued. The future resolves once the message is durably stored; `audit` is appended to the audit
        log in the same transaction, with the seq added to its detail. `blobs`, the case attachments the
        message uses, are bound to it in that transaction: each must be one the sender uploaded to this case
        and not yet bound, or the future raises InvalidInput `unknown_blob` and nothing is stored.

        The same (case, msg_id) with the same envelope bytes resolves to the original Ack with
        duplicate=True and stores nothing; with different bytes the future raises Conflict."""

    async def append_message(
        self, case_id: str, msg_id: str, sender_device: str, sender_user: str, envelope: bytes,
        audit: AuditEvent | None = None, blobs: tuple[str, ...] = (),
    ) -> Ack:
        """enqueue_message, awaited."""
        return await self.enqueue_message(case_id, msg_id, sender_device, sender_user, envelope, audit, blobs)

    @abc.abstractmethod
    async def send_context(self, device_id: str, case_id: str) -> tuple[Device | None, Case | None, int]:
        """What a send is checked against, read together: the sending device, the case, and the case's current
        key epoch (0: none yet); as get_device, get_case and current_case_epoch would answer."""

    @abc.abstractmethod
    async def messages_after(self, case_id: str, after_seq: int, limit: int) -> list[StoredMessage]: ...

    @abc.abstractmethod
    async def messages_stored_since(self, stored_at: int) -> list[tuple[str, int, int]]:
        """(case id, first seq, last seq) of the messages stored at or after `stored_at` (ms), per case: what a
        node that missed wake-ups reads to catch up (chat/messaging/cluster.py)."""

    @abc.abstractmethod
    async def last_seq(self, case_id: str) -> int: ...

    @abc.abstractmethod
    async def recent_message_meta(self, case_id: str, limit: int) -> list[MessageMeta]:
        """The newest `limit` messages' metadata, oldest first."""

    # Inbox activity
    @abc.abstractmethod
    async def case_activity(self, case_id: str, user_id: str) -> CaseActivity: ...

    @abc.abstractmethod
    async def case_activities(self, case_ids: Sequence[str], user_id: str) -> dict[str, tuple[int, CaseActivity]]:
        """(last seq, activity) of many cases at once, for an inbox list: as last_seq and case_activity."""

    # Receipts
    @abc.abstractmethod
    async def mark_receipt(self, case_id: str, user_id: str, *, delivered_seq: int, read_seq: int) -> ReceiptMarks:
        """Raise the user's high-water marks (never lower them); returns the marks now stored."""

    @abc.abstractmethod
    async def receipts_of_case(self, case_id: str) -> list[ReceiptMarks]: ...

    # Attachments (ciphertext)
    @abc.abstractmethod
    async def add_blob(self, blob_id: str, case_id: str, uploaded_by: str, data: bytes, at: int) -> None: ...

    @abc.abstractmethod
    async def get_blob(self, case_id: str, blob_id: str) -> bytes | None: ...

    @abc.abstractmethod
    async def remove_unbound_blobs(self, uploaded_before: int) -> int:
        """Remove the case attachments uploaded before that time that no message was stored with (an upload
        whose message was never sent); returns how many."""

    @abc.abstractmethod
    async def attachment_bytes_of(self, user_id: str) -> int:
        """What the person has uploaded and is kept: case attachments, and those of applications and the
        journal, staged or attached (their quota, SAMTAL_ATTACHMENT_QUOTA_BYTES)."""
