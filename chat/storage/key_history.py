"""History links between key epochs (docs/protocol.md section 17): the record and the interface the SQL
implementation (chat/storage/sql/key_history.py) keeps; the rules are in chat/keys/history.py."""
from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HistoryLink:
    kind: str  # "unit" or "case"
    target_id: str  # the unit id, or the case id
    unit_id: str
    epoch: int  # the newer epoch, whose key opens the link
    sealed_epoch: int  # the older epoch, whose key is inside
    link: bytes
    signer_device: str
    signature: bytes
    created_at: int


class KeyHistoryStore(abc.ABC):
    @abc.abstractmethod
    async def add(self, links: Sequence[HistoryLink]) -> None:
        """Store links; a pair of epochs already linked keeps its first link (two key holders may race)."""

    @abc.abstractmethod
    async def links(self, kind: str, target_id: str) -> list[HistoryLink]: ...

    @abc.abstractmethod
    async def linked_epochs(self, unit_id: str, kind: str) -> dict[str, set[int]]:
        """For each unit (kind "unit") or case of the unit (kind "case"): the epochs that seal the one before."""
