"""The audit log: append-only and hash-chained (chat/audit/chain.py), one chain for the whole database
whichever process appends; and the log reviewers' findings about its rows."""
from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from chat.audit.chain import AuditEvent, AuditRow


@runtime_checkable
class AuditStore(Protocol):
    @abc.abstractmethod
    async def append_audit(self, event: AuditEvent) -> int:
        """Append one event durably (batched with other writes); returns its row id."""

    @abc.abstractmethod
    async def audit_rows(self, after_id: int = 0, limit: int = 1000) -> list[AuditRow]: ...

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
