"""The unit identities' certificates and the key transparency log (docs/protocol.md §18-19): the records and
the interface that the SQL implementation (chat/storage/sql/key_log.py) keeps; the rules are in
chat/keys/transparency.py."""
from __future__ import annotations

import abc
from dataclasses import dataclass

from crypto.unitcert import UnitCert


@dataclass(frozen=True, slots=True)
class FiledCert:
    id: int
    cert: UnitCert
    log_row: int | None  # the key_log row id; its log index is the row's position in the log
    logged_at: int | None


@dataclass(frozen=True, slots=True)
class IdentitySeal:
    """The unit identity seed sealed to one staff device, signed by the identity key (docs/protocol.md §18)."""

    unit_id: str
    identity_key: bytes
    device_id: str
    enc: bytes
    ct: bytes
    signature: bytes
    sealed_by_device: str
    created_at: int


class KeyLogStore(abc.ABC):
    @abc.abstractmethod
    async def add_certificate(self, cert: UnitCert, at: int) -> int: ...

    @abc.abstractmethod
    async def certificates(self, unit_id: str) -> list[FiledCert]:
        """The unit's certificates in log order (those not logged yet last, in the order filed)."""

    @abc.abstractmethod
    async def log_new_records(self, at: int, after_row: int) -> list[tuple[int, bytes]]:
        """In one transaction: append a leaf for every key record not yet in the log (devices, revocations,
        unit key epochs, certificates, each in the order stored), then return (row id, leaf) of every row after
        `after_row`."""

    @abc.abstractmethod
    async def all_leaves(self) -> list[tuple[int, bytes]]:
        """(row id, leaf) of the whole log in order; a leaf's log index is its position in this list."""

    @abc.abstractmethod
    async def leaves(self, start: int, count: int) -> list[bytes]:
        """`count` leaves from log index `start`."""

    @abc.abstractmethod
    async def leaves_of(self, subject: str) -> list[tuple[int, bytes]]:
        """(row id, leaf) of every leaf about one user ("user:<id>") or unit ("unit:<id>")."""

    @abc.abstractmethod
    async def put_identity_seal(self, seal: IdentitySeal) -> None:
        """Keep a seal; a second seal of the same key to the same device replaces the first."""

    @abc.abstractmethod
    async def identity_seals(self, unit_id: str, identity_key: bytes) -> list[IdentitySeal]:
        """Every seal of the unit's identity key `identity_key`, oldest first."""
