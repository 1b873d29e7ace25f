"""The history links of unit and case key epochs (migration 0016, docs/protocol.md section 17), for both
engines."""
from __future__ import annotations

from collections.abc import Sequence

from chat.storage.key_history import HistoryLink, KeyHistoryStore
from chat.storage.sql import Db, Engine

_COLS = "kind, target_id, unit_id, epoch, sealed_epoch, link, signer_device, signature, created_at"


class SqlKeyHistoryStore(KeyHistoryStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def add(self, links: Sequence[HistoryLink]) -> None:
        rows = [(k.kind, k.target_id, k.unit_id, k.epoch, k.sealed_epoch, k.link, k.signer_device, k.signature,
                 k.created_at) for k in links]
        await self.engine.transaction(lambda db: db.executemany(
            f"INSERT INTO key_history_links ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows))

    async def links(self, kind: str, target_id: str) -> list[HistoryLink]:
        def read(db: Db) -> list[HistoryLink]:
            return [HistoryLink(*r) for r in db.execute(
                f"SELECT {_COLS} FROM key_history_links WHERE kind = ? AND target_id = ?"
                " ORDER BY epoch, sealed_epoch", (kind, target_id))]
        return await self.engine.transaction(read)

    async def linked_epochs(self, unit_id: str, kind: str) -> dict[str, set[int]]:
        def read(db: Db) -> dict[str, set[int]]:
            out: dict[str, set[int]] = {}
            for target, epoch in db.execute("SELECT target_id, epoch FROM key_history_links WHERE unit_id = ? AND"
                                            " kind = ? AND sealed_epoch = epoch - 1", (unit_id, kind)):
                out.setdefault(target, set()).add(epoch)
            return out
        return await self.engine.transaction(read)
