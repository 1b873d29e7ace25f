"""Cases and their assignment: who the case is with, substitutes while someone is away, handled marks, and a
staff member leaving the unit."""
from __future__ import annotations

import abc
from typing import Protocol, runtime_checkable

from chat.model import Case, Substitution


@runtime_checkable
class CaseStore(Protocol):
    @abc.abstractmethod
    async def add_case(self, case: Case) -> None: ...

    @abc.abstractmethod
    async def get_case(self, case_id: str) -> Case | None: ...

    @abc.abstractmethod
    async def cases_of_citizen(self, citizen_id: str) -> list[Case]: ...

    @abc.abstractmethod
    async def cases_of_unit(self, unit_id: str) -> list[Case]: ...

    @abc.abstractmethod
    async def set_handled(self, case_id: str, user_id: str | None, at: int | None) -> None: ...

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
