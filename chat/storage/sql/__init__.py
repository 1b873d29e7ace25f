"""The SQL of every aggregate, written once for both engines (SQLite and PostgreSQL), in the part of SQL both
speak: `?` placeholders, `ON CONFLICT`, `RETURNING`, `CASE` instead of the two-argument `max`. An engine runs a
function of one connection as one transaction (`Engine.transaction`); what the engines do differently (how
writers are serialised, migrations, placeholders) stays in chat/storage/sqlite/ and chat/storage/postgres/."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from chat.audit.chain import AuditEvent

T = TypeVar("T")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """One connection inside a transaction (sqlite3.Connection, or the PostgreSQL engine's adapter)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Cursor: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...


class Engine(Protocol):
    """What the SQL stores need of an engine."""

    # Raised by a unique or foreign key constraint (the engine's own class).
    IntegrityError: type[Exception]

    async def transaction(self, fn: Callable[[Db], T]) -> T:
        """Run fn(db) as one transaction, serialised with every other write transaction."""

    def insert_audit(self, db: Db, events: list[AuditEvent]) -> list[int]:
        """Chain and insert audit rows inside fn's transaction, so that a record and its audit row commit
        together; returns their ids."""

    async def append_audit(self, event: AuditEvent) -> int:
        """Append one audit row (batched with other appends); returns its id."""
