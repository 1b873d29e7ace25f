"""Skyddade personuppgifter (DOMAIN rule 8): a citizen whose identity is protected is flagged, the unit's
staff see the flag on every case of theirs, and what Samtal could give away of where they are is held back:
their video calls go through the TURN relay only, so the unit's browser never learns their network address
(docs/protocol.md §16), and without a relay there is no video call with them at all (a phone or office
meeting instead). A supervisor of a unit where the person has a case sets and clears the flag; in a real
deployment they do so from the population register's marking (Navet), which Samtal does not read itself.

The flags are few and change rarely; this process makes every change, so it keeps them all in memory."""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from chat.errors import Forbidden
from chat.model import Case, User, now_ms
from chat.policy import Action, decide

if TYPE_CHECKING:
    from chat.storage.sqlite.writer import SqliteWriter


class Protection:
    def __init__(self, writer: SqliteWriter) -> None:
        self.writer = writer
        self._flagged: set[str] | None = None

    async def flagged(self) -> set[str]:
        if self._flagged is None:
            rows = await self.writer.transaction(lambda db: db.execute(
                "SELECT user_id FROM protected_identities").fetchall())
            self._flagged = {str(r[0]) for r in rows}
        return self._flagged

    async def is_protected(self, user_id: str) -> bool:
        return user_id in await self.flagged()

    async def set(self, actor: User, case: Case, protected: bool) -> bool:
        """Flag or clear the case's citizen; True when that changed something."""
        decision = decide(actor, Action.CITIZEN_PROTECT, unit_id=case.unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        flagged = await self.flagged()
        if (case.citizen_id in flagged) == protected:
            return False

        def put(db: sqlite3.Connection) -> None:
            if protected:
                db.execute("INSERT INTO protected_identities (user_id, set_by, set_at) VALUES (?, ?, ?)",
                           (case.citizen_id, actor.id, now_ms()))
            else:
                db.execute("DELETE FROM protected_identities WHERE user_id = ?", (case.citizen_id,))
        await self.writer.transaction(put)
        (flagged.add if protected else flagged.discard)(case.citizen_id)
        return True
