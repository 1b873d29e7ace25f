"""Organisation and accounts: municipalities, units, people, and the sign-in identities they are made from."""
from __future__ import annotations

import abc
from typing import Protocol, runtime_checkable

from chat.model import Municipality, Unit, User


@runtime_checkable
class AccountStore(Protocol):
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

    @abc.abstractmethod
    async def update_user(self, user: User) -> None:
        """Display name, role and unit, as the identity provider now says."""

    # Identities, kept only as keyed hashes
    @abc.abstractmethod
    async def user_by_identity(self, identity_hash: bytes) -> User | None: ...

    @abc.abstractmethod
    async def add_user_with_identity(self, user: User, identity_hash: bytes, kind: str) -> User:
        """Create the user and its identity in one transaction. When the identity exists already (two first
        sign-ins at once), nothing is created and the identity's user is returned."""
