"""Representatives' storage (chat/cases/mandates.py): the mandates by which a person acts for a case's
citizen, and the journal entries withheld from a case's guardians after a harm assessment."""
from __future__ import annotations

import abc
from dataclasses import dataclass

from chat.model import Mandate


@dataclass(frozen=True, slots=True)
class Withholding:
    """A published journal entry that the case's guardians do not see (menprövning, DOMAIN rule 5)."""

    entry_id: str
    case_id: str
    reason: str  # the harm assessment's reason, as the caseworker wrote it (metadata the server keeps)
    by: str
    at: int


class MandateStore(abc.ABC):
    @abc.abstractmethod
    async def add(self, mandate: Mandate) -> int:
        """File a new mandate (its id is ignored); returns its id."""

    @abc.abstractmethod
    async def get(self, mandate_id: int) -> Mandate | None: ...

    @abc.abstractmethod
    async def end(self, mandate_id: int, by: str, at: int) -> bool:
        """End a mandate early; False when it was ended already (the first end stands)."""

    @abc.abstractmethod
    async def of_case(self, case_id: str) -> list[Mandate]:
        """Every mandate of the case, ended ones too, oldest first."""

    @abc.abstractmethod
    async def of_person(self, user_id: str) -> list[Mandate]:
        """The mandates a person holds and those over their own cases, not ended early, oldest first."""

    @abc.abstractmethod
    async def of_unit(self, unit_id: str) -> list[Mandate]:
        """Every mandate of the unit's cases, ended ones too (the key work: whose devices hold a case key)."""

    @abc.abstractmethod
    async def lapsed_unsettled(self, at: int) -> list[Mandate]:
        """The mandates over by `at` whose end is not yet settled (their holders' devices still to be cut off
        from the case key: chat/cases/mandates.py)."""

    @abc.abstractmethod
    async def settle(self, mandate_id: int, at: int) -> None:
        """The mandate's end has been acted on (key rotation asked for, live connections cut)."""

    @abc.abstractmethod
    async def withhold(self, withholding: Withholding) -> None:
        """Withhold an entry from the case's guardians; again for the same entry replaces the reason."""

    @abc.abstractmethod
    async def release(self, entry_id: str) -> bool:
        """Show a withheld entry to the guardians again; False when it was not withheld."""

    @abc.abstractmethod
    async def withheld(self, case_id: str) -> list[Withholding]: ...
