"""What every aggregate's SQL (the mixins beside this module) shares: the engine, its reads and writes, the
send path's read-through caches, and the column lists more than one aggregate reads."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chat.model import Case, Device, User
from chat.storage.sql.batching import BatchingWriter


class SqlEngine(BatchingWriter):
    """What SqlStore needs of an engine beyond the batching writer: its life cycle and reads."""

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError


class SqlCore:
    """The state the aggregates' mixins share; SqlStore (store.py) sets it up."""

    engine: SqlEngine
    # Read-through caches for the send path, kept only when this process is the database's only writer
    # (SQLite), which keeps them true; with several writers (PostgreSQL) every read goes to the database.
    _caching: bool
    _devices: dict[str, Device]
    _cases: dict[str, Case]
    _users: dict[str, User]
    _case_epoch: dict[str, int]
    # Bumped by every device write: a read that started before a revocation must not cache what it read.
    _device_generation: int

    _USER_COLS = "id, username, display_name, role, unit_id"
    _DEVICE_COLS = "id, user_id, sign_pub, kem_pub, label, created_at, revoked_at, registration_proof, binding"
    _CASE_COLS = "id, unit_id, citizen_id, assigned_to, title, status, created_at"

    def _init_core(self, engine: SqlEngine) -> None:
        self.engine = engine
        self._caching = engine.sole_writer
        self._devices, self._cases, self._users, self._case_epoch = {}, {}, {}, {}
        self._device_generation = 0

    async def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        await self.engine.write(statements)

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self.engine.one(sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self.engine.all(sql, params)
