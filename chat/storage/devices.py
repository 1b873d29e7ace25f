"""Devices and keys: people's devices, the unit key epochs and their grants, the case key epochs and their
wraps. Epochs only grow, one at a time; a grant or wrap once stored is never replaced."""
from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from chat.model import CaseKeyState, CaseKeyWrap, Device, UnitKeyEpoch, UnitKeyGrant


@runtime_checkable
class DeviceKeyStore(Protocol):
    # Devices
    @abc.abstractmethod
    async def add_device(self, device: Device) -> None: ...

    @abc.abstractmethod
    async def get_device(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    async def bind_device(self, device_id: str, binding: str) -> bool:
        """Set a device's binding (docs/protocol.md §21) if it has none; False when it had one (the first stays)."""

    @abc.abstractmethod
    async def devices_of_user(self, user_id: str) -> list[Device]: ...

    @abc.abstractmethod
    async def revoke_device(self, device_id: str, at: int) -> None: ...

    # Unit key epochs and grants
    @abc.abstractmethod
    async def add_unit_key_epoch(self, epoch: UnitKeyEpoch, grants: Sequence[UnitKeyGrant]) -> None:
        """Raises Conflict when the epoch exists or is not the next one."""

    @abc.abstractmethod
    async def unit_key_epochs(self, unit_id: str) -> list[UnitKeyEpoch]: ...

    @abc.abstractmethod
    async def add_unit_key_grants(self, grants: Sequence[UnitKeyGrant]) -> None: ...

    @abc.abstractmethod
    async def unit_key_grants_for_device(self, unit_id: str, device_id: str) -> list[UnitKeyGrant]: ...

    @abc.abstractmethod
    async def unit_key_grants(self, unit_id: str, epoch: int) -> list[UnitKeyGrant]: ...

    # Case keys
    @abc.abstractmethod
    async def current_case_epoch(self, case_id: str) -> int:
        """0 when the case has no key yet."""

    @abc.abstractmethod
    async def add_case_key_epoch(
        self, case_id: str, epoch: int, created_by_device: str, wraps: Sequence[CaseKeyWrap], at: int
    ) -> None:
        """Raises Conflict unless epoch is exactly the current one plus one."""

    @abc.abstractmethod
    async def add_case_key_wraps(self, wraps: Sequence[CaseKeyWrap]) -> None:
        """Adds wraps to existing epochs; an existing (case, epoch, recipient) is left as it was."""

    @abc.abstractmethod
    async def case_key_wraps(self, case_id: str, recipients: Sequence[str] | None = None) -> list[CaseKeyWrap]: ...

    @abc.abstractmethod
    async def case_key_overview(self, unit_id: str) -> list[CaseKeyState]:
        """Every case of the unit with its current key epoch, that epoch's holders and the citizen's devices,
        in a fixed number of queries whatever the number of cases (the pending key work asks often)."""
