"""SDK parties (chat/storage/sdk.py; migration 0030 / PostgreSQL 0015), for both engines."""
from __future__ import annotations

from chat.storage.sdk import SdkParty, SdkStore
from chat.storage.sql import Db, Engine

_COLS = "address, organisation, function, label"


class SqlSdkStore(SdkStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def put_party(self, party: SdkParty, at: int) -> None:
        await self.engine.transaction(lambda db: db.execute(
            f"INSERT INTO sdk_parties ({_COLS}, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (address) DO NOTHING",
            (party.address, party.organisation, party.function, party.label, at)))

    async def parties(self) -> list[SdkParty]:
        def read(db: Db) -> list[SdkParty]:
            return [SdkParty(*row) for row in db.execute(f"SELECT {_COLS} FROM sdk_parties ORDER BY address")]
        return list(await self.engine.transaction(read))

    async def party(self, address: str) -> SdkParty | None:
        def read(db: Db) -> SdkParty | None:
            row = db.execute(f"SELECT {_COLS} FROM sdk_parties WHERE address = ?", (address,)).fetchone()
            return SdkParty(*row) if row else None
        return await self.engine.transaction(read)
