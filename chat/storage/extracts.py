"""Register extracts' storage (registerutdrag, GDPR art. 15, docs/extract.md): each request for an extract
and its delivery, so that a request is answered within its month (art. 12.3) and an overdue one is seen.

A citizen's own request in the app is one row for all units, delivered when their browser offers the
document. A request made at a unit's desk is one row for that unit's part and one for each other unit that
holds something of the person, each answered by that unit's staff."""
from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExtractRequest:
    id: str
    citizen_id: str
    unit_id: str | None  # None: every unit (the citizen's own request in the app)
    requested_by: str  # the citizen, or the staff member at the desk
    on_behalf: bool  # made by staff for the citizen
    requested_at: int
    due_at: int  # one month after the request (GDPR art. 12.3)
    parent_id: str | None = None  # the desk request this part of another unit belongs to
    delivered_at: int | None = None
    delivered_by: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentMeta:
    """An encrypted file a case holds: where it belongs, who uploaded it, its size. Never its content."""

    kind: str  # message, journal, application
    id: str
    case_id: str
    uploaded_by: str
    size: int
    created_at: int
    attached_to: str | None  # the message id, or the application id; None for a supplement's file


class ExtractStore(abc.ABC):
    @abc.abstractmethod
    async def add(self, requests: list[ExtractRequest]) -> None:
        """Store requests together (a desk request and its parts for other units), in one transaction."""

    @abc.abstractmethod
    async def get(self, request_id: str) -> ExtractRequest | None: ...

    @abc.abstractmethod
    async def deliver(self, request_id: str, by: str, at: int) -> ExtractRequest | None:
        """Mark a request delivered, once: the first delivery stays; None when there is no such request."""

    @abc.abstractmethod
    async def of_citizen(self, citizen_id: str) -> list[ExtractRequest]:
        """The person's requests, newest first."""

    @abc.abstractmethod
    async def of_unit(self, unit_id: str) -> list[ExtractRequest]:
        """The unit's requests (its parts of desk requests), not yet delivered first, then by due date."""

    @abc.abstractmethod
    async def attachments(self, case_ids: list[str], citizen_id: str) -> list[AttachmentMeta]:
        """The attached files of the cases: every file sent in a message, and the files the citizen added to
        their applications and documentation. Files not (yet) attached to anything are left out: an upload
        the sender never sent is nobody's record."""
