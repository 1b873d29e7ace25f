"""The case journal's storage (dokumentation, docs/documentation.md): its records and the interface that the
SQL implementation (chat/storage/sql/journal.py) keeps. Each call is one transaction: an entry's record goes
in with its grants and status, a publication with the case grants of every signed version, a remark with its
grants and the attachments it names, or nothing does; the rules that depend on stored state (a draft, signed,
published; a dispute to answer) are checked inside that transaction."""
from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from chat.storage.applications import Grant, NewRecord


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    case_id: str
    unit_id: str
    author: str
    created_at: int
    status: str  # draft, signed
    signed_by: str | None
    signed_at: int | None
    published_by: str | None
    published_at: int | None
    source_seq: int | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class Version:
    entry_id: str
    version: int
    record_id: str
    author: str
    author_device: str
    data: bytes
    created_at: int
    signed_at: int | None


@dataclass(frozen=True, slots=True)
class Remark:
    id: str
    case_id: str
    entry_id: str | None
    kind: str  # supplement, comment, dispute, response
    responds_to: str | None
    author: str
    author_device: str
    data: bytes
    created_at: int
    answered_by: str | None
    answered_at: int | None


@dataclass(frozen=True, slots=True)
class DisputeMark:
    """A dispute's metadata only (who objected to which entry, when, and when it was answered): what the home
    pages show as waiting (chat/pending.py). Its text stays sealed."""
    id: str
    case_id: str
    entry_id: str | None
    created_at: int
    answered_at: int | None


@dataclass(frozen=True, slots=True)
class Publication:
    """Who published, when: set on an entry's first publication, and on an entry signed and published at once."""

    by: str
    at: int


class JournalStore(abc.ABC):
    @abc.abstractmethod
    async def entry(self, entry_id: str) -> Entry | None: ...

    @abc.abstractmethod
    async def remark(self, remark_id: str) -> Remark | None: ...

    @abc.abstractmethod
    async def entry_detail(self, entry_id: str) -> tuple[list[Version], int]:
        """An entry's versions and how many disputes of it wait for a response."""

    @abc.abstractmethod
    async def case_journal(self, case_id: str) -> tuple[list[Entry], list[Version], list[Remark], list[Grant]]:
        """Everything of a case's journal, oldest first; the service filters it for the reader."""

    @abc.abstractmethod
    async def create(self, case_id: str, unit_id: str, rec: NewRecord, source_seq: int | None, sign: bool,
                     publication: Publication | None, case_recipient: str, at: int) -> tuple[Entry, bool]:
        """A new entry whose first version is `rec` (the entry's id is the record's). Returns (entry, stored now);
        the same record again returns the stored entry with stored now = False."""

    @abc.abstractmethod
    async def replace_draft(self, entry_id: str, rec: NewRecord, sign: bool, publication: Publication | None,
                            case_recipient: str, at: int) -> Entry:
        """The draft's content becomes `rec` (its old record and grants go: a draft is not yet part of the
        record); with `sign`, it becomes version 1 of a signed entry, and with `publication` published too."""

    @abc.abstractmethod
    async def delete_draft(self, entry_id: str) -> Entry: ...

    @abc.abstractmethod
    async def correct(self, entry_id: str, rec: NewRecord, case_recipient: str, at: int) -> tuple[Entry, int, bool]:
        """A correction (rättelse): version N+1 of a signed entry, signed now. A published entry's correction
        must be granted to the case's current key, so that the citizen sees it. Returns (entry, version,
        stored now)."""

    @abc.abstractmethod
    async def publish(self, entry_id: str, grants: Sequence[tuple[str, str, bytes, bytes]], case_recipient: str,
                      by: str, device: str, at: int) -> tuple[Entry, bool]:
        """Case grants (record id, recipient, grant, signature) for the entry's versions; afterwards every
        version must have one for `case_recipient`. Returns (entry, published now for the first time)."""

    @abc.abstractmethod
    async def add_remark(self, case_id: str, entry_id: str | None, kind: str, responds_to: str | None,
                         rec: NewRecord, at: int) -> tuple[Remark, bool]:
        """A supplement, comment, dispute or response, with its grants and attachments. A response answers its
        dispute (the first response sets answered_by/at). Returns (remark, stored now)."""

    @abc.abstractmethod
    async def disputes(self, case_ids: Sequence[str]) -> list[DisputeMark]:
        """The disputes of these cases (open and answered), oldest first, without their content."""

    @abc.abstractmethod
    async def add_blob(self, blob_id: str, case_id: str, uploaded_by: str, data: bytes, at: int) -> None: ...

    @abc.abstractmethod
    async def blob(self, case_id: str, blob_id: str) -> tuple[bytes, str, bool] | None:
        """(ciphertext, uploaded_by, attached) of one of the case's journal attachments."""
