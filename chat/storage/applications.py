"""Applications' storage (ansökan, docs/applications.md): the records and the interface the SQL
implementation (chat/storage/sql/applications.py) keeps. Each step of an application is one transaction: the
record, its grants, the timeline event, the new status and the attachments it names go in together or not at
all, and a submission finds or opens its case in that same transaction."""
from __future__ import annotations

import abc
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    detail: dict[str, Any] | None = None  # the step's metadata (how, in time or late, which decision), no content


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
class Decision:
    """A decision (beslut) as the server knows it: who decided, when, how it reached the citizen and the day they
    received it (delgivning). What was decided is the sealed record `id`, never here."""

    id: str  # the id of its sealed record (kind application.decision)
    application_id: str
    case_id: str
    unit_id: str
    decided_by: str
    decided_device: str  # the staff device that signed it
    decided_at: int
    replaces: str | None  # an earlier decision on the application that this one changes
    delivery: str  # "app", or "post" once it was also sent on paper
    posted_at: int | None  # the day it was posted (ms)
    posted_by: str | None
    received_at: int | None  # delgivning: when the citizen received it (ms); None while not known
    received_via: str | None  # "app": a device of theirs first opened it; "staff": staff recorded the day
    received_device: str | None
    received_by: str | None


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
                   allowed_from: Sequence[str], rec: NewRecord | None = None, due_at: int | None = None,
                   status: str | None = None, detail: dict[str, Any] | None = None) -> tuple[Application, bool]:
        """One step of the timeline, `kind` (with its record and metadata, if any): the status becomes `status`
        (default: `kind`), when the status now is one of `allowed_from`. Returns (application, stored now); the
        same record again is a retry."""

    @abc.abstractmethod
    async def decide(self, application_id: str, rec: NewRecord, at: int, allowed_from: Sequence[str],
                     replaces: str | None = None) -> tuple[Application, Decision, bool]:
        """The `decided` step and its decision row in one transaction. Returns (application, decision, stored
        now); the same record again is a retry."""

    @abc.abstractmethod
    async def decisions(self, application_id: str) -> list[Decision]:
        """The application's decisions, oldest first."""

    @abc.abstractmethod
    async def decision(self, decision_id: str) -> Decision | None: ...

    @abc.abstractmethod
    async def mark_received(self, decision_id: str, at: int, via: str, device_id: str | None, by: str
                            ) -> tuple[Decision, bool]:
        """Record the day the citizen received the decision, if none is recorded yet. Returns (decision, recorded
        now): the first time only; the date never moves afterwards."""

    @abc.abstractmethod
    async def mark_posted(self, decision_id: str, posted_at: int, by: str) -> Decision:
        """The decision was also sent on paper by post, on `posted_at`."""

    @abc.abstractmethod
    async def add_grants(self, record_id: str, grants: Sequence[tuple[str, bytes, bytes]], granted_by: str,
                         device_id: str, at: int) -> int:
        """Add grants to a stored record; a recipient that has one already keeps it. Returns how many were new."""

    @abc.abstractmethod
    async def units(self) -> dict[str, str]:
        """Every unit's id and name: the units a citizen can apply to, with the forms they offer."""
