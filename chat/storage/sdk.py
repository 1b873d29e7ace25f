"""SDK parties (docs/sdk.md): the organisations at a functional address that Samtal has received from or may
send to, each shown in the exchange directory as an address of its own. The table says which SDK
organisation and functional address an exchange address stands for, so that a reply finds its way back."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class SdkParty:
    address: str  # the exchange address (chat/exchange/sdk/bridge.py party_address)
    organisation: str  # participant id, 0203:<org>
    function: str  # the SDK functional address
    label: str


@runtime_checkable
class SdkStore(Protocol):
    @abc.abstractmethod
    async def put_party(self, party: SdkParty, at: int) -> None:
        """Remember the party (a party already known keeps its first label)."""

    @abc.abstractmethod
    async def parties(self) -> list[SdkParty]: ...

    @abc.abstractmethod
    async def party(self, address: str) -> SdkParty | None: ...
