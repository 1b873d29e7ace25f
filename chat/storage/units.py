"""Unit settings' and protected identities' storage: a unit's own settings (chat/units/settings.py) and the
citizens whose identity is protected (chat/cases/protection.py). Both are small and change rarely."""
from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitSettings:
    unit_id: str
    video_link_template: str | None = None
    updated_by: str | None = None
    updated_at: int | None = None


class UnitSettingsStore(abc.ABC):
    @abc.abstractmethod
    async def all(self) -> dict[str, UnitSettings]:
        """Every unit's settings that were ever set, by unit id."""

    @abc.abstractmethod
    async def put(self, settings: UnitSettings) -> None:
        """Replace the unit's settings."""


class ProtectedIdentityStore(abc.ABC):
    @abc.abstractmethod
    async def protected_users(self) -> set[str]:
        """The ids of every citizen whose identity is protected."""

    @abc.abstractmethod
    async def set_protected(self, user_id: str, protected: bool, by: str, at: int) -> None:
        """Flag (protected) or clear the citizen; flagging a flagged one, or clearing a clear one, does nothing."""
