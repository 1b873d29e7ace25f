"""The history links of unit and case key epochs (migration 0016, docs/protocol.md section 17), through the
single SQLite writer."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from chat.keys.history import HistoryLink
from chat.storage.sqlite.writer import SqliteWriter

_COLS = "kind, target_id, unit_id, epoch, sealed_epoch, link, signer_device, signature, created_at"


class SqliteKeyHistory:
    def __init__(self, writer: SqliteWriter) -> None:
        self.writer = writer

    async def add(self, links: Sequence[HistoryLink]) -> None:
        """Store links; a pair of epochs already linked keeps its first link (two key holders may race)."""
        rows = [(k.kind, k.target_id, k.unit_id, k.epoch, k.sealed_epoch, k.link, k.signer_device, k.signature,
                 k.created_at) for k in links]
        await self.writer.write([(f"INSERT OR IGNORE INTO key_history_links ({_COLS}) VALUES"
                                  " (?, ?, ?, ?, ?, ?, ?, ?, ?)", row) for row in rows])

    async def links(self, kind: str, target_id: str) -> list[HistoryLink]:
        def read(db: sqlite3.Connection) -> list[HistoryLink]:
            return [HistoryLink(*r) for r in db.execute(
                f"SELECT {_COLS} FROM key_history_links WHERE kind = ? AND target_id = ?"
                " ORDER BY epoch, sealed_epoch", (kind, target_id))]
        return await self.writer.transaction(read)

    async def linked_epochs(self, unit_id: str, kind: str) -> dict[str, set[int]]:
        """For each unit (kind "unit") or case of the unit (kind "case"): the epochs that seal the one before."""
        def read(db: sqlite3.Connection) -> dict[str, set[int]]:
            out: dict[str, set[int]] = {}
            for target, epoch in db.execute("SELECT target_id, epoch FROM key_history_links WHERE unit_id = ? AND"
                                            " kind = ? AND sealed_epoch = epoch - 1", (unit_id, kind)):
                out.setdefault(target, set()).add(epoch)
            return out
        return await self.writer.transaction(read)
