"""Skyddade personuppgifter (DOMAIN rule 8): a citizen whose identity is protected is flagged, the unit's
staff see the flag on every case of theirs, and what Samtal could give away of where they are is held back:
their video calls go through the TURN relay only, so the unit's browser never learns their network address
(docs/protocol.md §16), and without a relay there is no video call with them at all (a phone or office
meeting instead). A supervisor of a unit where the person has a case sets and clears the flag; in a real
deployment they do so from the population register's marking (Navet), which Samtal does not read itself.

The flags are few and change rarely; this process makes every change, so it keeps them all in memory."""
from __future__ import annotations

from chat.errors import Forbidden
from chat.model import Case, User, now_ms
from chat.policy import Action, decide
from chat.storage.units import ProtectedIdentityStore


class Protection:
    def __init__(self, store: ProtectedIdentityStore) -> None:
        self.store = store
        self._flagged: set[str] | None = None

    async def flagged(self) -> set[str]:
        if self._flagged is None:
            self._flagged = await self.store.protected_users()
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
        await self.store.set_protected(case.citizen_id, protected, actor.id, now_ms())
        (flagged.add if protected else flagged.discard)(case.citizen_id)
        return True
