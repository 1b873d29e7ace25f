"""Applications' storage (ansökan, docs/applications.md): the records and the interface the SQL
implementation (chat/storage/sql/applications.py) keeps. Each step of an application is one transaction: the
record, its grants, the timeline event, the new status and the attachments it names go in together or not at
all, and a submission finds or opens its case in that same transaction."""
from __future__ import annotations

import abc
import re
from collections.abc import Sequence
from dataclasses import dataclass

from chat.model import Case


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    unit_id: str
    case_id: str
    citizen_id: str
    form_id: str
    form_version: int
    status: str
    submitted_by: str
    on_behalf: bool
    opened_case: bool
    submitted_at: int
    updated_at: int
    due_at: int | None


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    actor: str
    on_behalf: bool
    record_id: str | None
    due_at: int | None
    at: int


@dataclass(frozen=True, slots=True)
class StoredRecord:
    id: str
    kind: str
    author: str
    author_device: str
    data: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class Grant:
    record_id: str
    recipient: str
    grant: bytes
    signature: bytes
    granted_by: str
    granted_by_device: str
    created_at: int


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A checked record and its checked grants, ready to store."""

    id: str
    kind: str
    author: str
    author_device: str
    data: bytes
    grants: Sequence[tuple[str, bytes, bytes]]  # recipient, grant, signature
    blobs: Sequence[str]  # the attachments it names



def case_prefix(unit_id: str) -> str:
    """"ekonomiskt-bistand" -> "eb": the start of the case numbers of a unit's new cases (eb-2026-0003)."""
    letters = "".join(part[0] for part in re.split(r"[^a-z0-9]+", unit_id.lower()) if part)
    return (letters or "case")[:8]


class ApplicationStore(abc.ABC):
    @abc.abstractmethod
    async def get(self, application_id: str) -> Application | None: ...

    @abc.abstractmethod
    async def of_citizen(self, citizen_id: str) -> list[Application]: ...

    @abc.abstractmethod
    async def of_unit(self, unit_id: str, case_id: str | None = None) -> list[Application]: ...

    @abc.abstractmethod
    async def timeline(self, application_id: str) -> tuple[list[Event], list[StoredRecord], list[Grant]]: ...

    @abc.abstractmethod
    async def record(self, record_id: str) -> tuple[str, StoredRecord] | None: ...

    @abc.abstractmethod
    async def add_blob(self, blob_id: str, application_id: str, uploaded_by: str, data: bytes, at: int) -> None: ...

    @abc.abstractmethod
    async def blob(self, application_id: str, blob_id: str) -> tuple[bytes, str, bool] | None:
        """(ciphertext, uploaded_by, attached) of one of the application's blobs."""

    @abc.abstractmethod
    async def submit(self, rec: NewRecord, unit_id: str, citizen_id: str, form_id: str, form_version: int,
                     on_behalf: bool, case_title: str, at: int) -> tuple[Application, Case, bool]:
        """Store a new application: in the citizen's open case in the unit, or in a new case opened for it
        (unassigned, titled by the form). Returns (application, case, stored now); a retry of the same
        record returns what was stored the first time with stored now = False."""

    @abc.abstractmethod
    async def step(self, application_id: str, kind: str, actor: str, on_behalf: bool, at: int,
                   allowed_from: Sequence[str], rec: NewRecord | None = None, due_at: int | None = None
                   ) -> tuple[Application, bool]:
        """One step of the timeline: the status becomes `kind` (with its record, if any), when the status now
        is one of `allowed_from`. Returns (application, stored now); the same record again is a retry."""

    @abc.abstractmethod
    async def add_grants(self, record_id: str, grants: Sequence[tuple[str, bytes, bytes]], granted_by: str,
                         device_id: str, at: int) -> int:
        """Add grants to a stored record; a recipient that has one already keeps it. Returns how many were new."""

    @abc.abstractmethod
    async def units(self) -> dict[str, str]:
        """Every unit's id and name: the units a citizen can apply to, with the forms they offer."""
