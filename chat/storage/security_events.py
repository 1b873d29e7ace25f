"""Security events (refused signatures, replays, revoked devices at work ...): append-only, for operators."""
from __future__ import annotations

import abc
from typing import Protocol, runtime_checkable


@runtime_checkable
class SecurityEventStore(Protocol):
    @abc.abstractmethod
    async def add_security_event(
        self, kind: str, *, user_id: str | None, device_id: str | None, case_id: str | None, detail: str, at: int
    ) -> None: ...

    @abc.abstractmethod
    async def security_events(self, limit: int = 100) -> list[dict[str, object]]: ...
