"""Assignment and substitutes (vikarie): who answers a case now. Supervisors assign cases and set
substitutes by date range; a substitute may answer the absent caseworker's cases in that period and is
sent them live; the citizen is shown who answers instead."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chat.errors import Forbidden, InvalidInput, NotFound
from chat.model import Case, Role, Substitution, User, now_ms
from chat.policy import Action, decide
from chat.storage import AccountStore, CaseStore


class AssignmentStore(CaseStore, AccountStore, Protocol):
    """What assignment needs: cases and substitutes, and the people they go to."""


@dataclass(frozen=True, slots=True)
class Answering:
    user_id: str
    substitute_for: str | None  # the absent caseworker, when a substitute answers
    until: int | None


class Assignments:
    def __init__(self, store: AssignmentStore) -> None:
        self.store = store
        # unit id -> its substitutions not yet ended. Who may answer a case is decided from it, so it must stay
        # true: a change made here is kept here, and with several nodes `changed` tells the others (their node
        # calls `forget`, and when it may have missed notices, forgets every unit).
        self._by_unit: dict[str, list[Substitution]] = {}
        self.changed: Callable[[str], None] = lambda unit_id: None
        self._reloads: set[asyncio.Task[None]] = set()

    async def _unit(self, unit_id: str) -> list[Substitution]:
        if unit_id not in self._by_unit:
            self._by_unit[unit_id] = await self.store.substitutions_of_unit(unit_id, now_ms())
        return self._by_unit[unit_id]

    def forget(self, unit_id: str | None) -> None:
        """Another node changed the unit's substitutions (None: any unit's, perhaps). Read them again now, so
        that live fan-out (`substitutes_now`, no I/O) reaches a new substitute without waiting for a request."""
        units = list(self._by_unit) if unit_id is None else [unit_id]
        for unit in units:
            self._by_unit.pop(unit, None)
            task = asyncio.ensure_future(self._reload(unit))
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)

    async def _reload(self, unit_id: str) -> None:
        try:
            await self._unit(unit_id)
        except Exception:  # noqa: BLE001 (the database away: the next request reads it)
            self._by_unit.pop(unit_id, None)

    def _changed_here(self, unit_id: str) -> None:
        self._by_unit.pop(unit_id, None)
        self.changed(unit_id)

    async def acting_for(self, user: User, unit_id: str, at: int | None = None) -> frozenset[str]:
        """The caseworkers `user` substitutes for at `at` (now by default)."""
        if not user.is_staff or user.unit_id != unit_id:
            return frozenset()
        at = now_ms() if at is None else at
        return frozenset(s.absent_user for s in await self._unit(unit_id) if s.substitute == user.id
                         and s.active_at(at))

    def substitutes_now(self, case: Case) -> list[str]:
        """For live fan-out (no I/O): who covers the case's assigned caseworker now, from the cache."""
        at = now_ms()
        return [s.substitute for s in self._by_unit.get(case.unit_id, ())
                if s.absent_user == case.assigned_to and s.active_at(at)]

    async def answering(self, case: Case) -> Answering | None:
        if case.assigned_to is None:
            return None
        at = now_ms()
        for s in await self._unit(case.unit_id):
            if s.absent_user == case.assigned_to and s.active_at(at):
                return Answering(s.substitute, case.assigned_to, s.ends_at)
        return Answering(case.assigned_to, None, None)

    # -- changes, by supervisors ---------------------------------------------------------------------
    async def _staff_member(self, unit_id: str, user_id: str) -> User:
        user = await self.store.get_user(user_id)
        if user is None or user.unit_id != unit_id or user.role not in (Role.CASEWORKER, Role.SUPERVISOR):
            raise InvalidInput("not a caseworker or supervisor of this unit", code="invalid_field")
        return user

    async def assign(self, actor: User, case: Case, user_id: str | None) -> None:
        decision = decide(actor, Action.CASE_ASSIGN, case=case)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        if user_id is not None:
            await self._staff_member(case.unit_id, user_id)
        await self.store.assign_case(case.id, user_id)

    async def add_substitution(self, actor: User, unit_id: str, absent_user: str, substitute: str,
                               starts_at: int, ends_at: int) -> int:
        decision = decide(actor, Action.UNIT_SUBSTITUTES_MANAGE, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        if absent_user == substitute or ends_at <= starts_at:
            raise InvalidInput("a substitute is another person, for a period that ends after it starts",
                               code="invalid_field")
        await self._staff_member(unit_id, absent_user)
        await self._staff_member(unit_id, substitute)
        new_id = await self.store.add_substitution(Substitution(0, unit_id, absent_user, substitute, starts_at,
                                                                ends_at, actor.id))
        self._changed_here(unit_id)
        return new_id

    async def revoke_substitution(self, actor: User, unit_id: str, substitution_id: int) -> None:
        decision = decide(actor, Action.UNIT_SUBSTITUTES_MANAGE, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        if not await self.store.revoke_substitution(unit_id, substitution_id, now_ms()):
            raise NotFound("no such substitution", code="unknown_substitution")
        self._changed_here(unit_id)

    async def remove_staff(self, actor: User, unit_id: str, user_id: str) -> None:
        """A staff member leaves the unit: every device of theirs is revoked, their cases become unassigned
        (any caseworker of the unit may answer until a supervisor reassigns them), their substitutions end,
        and the unit's key holders are told that the unit key and the case keys must be rotated."""
        decision = decide(actor, Action.UNIT_STAFF_REMOVE, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        if user_id == actor.id:
            raise InvalidInput("a supervisor cannot remove themselves", code="invalid_field")
        target = await self.store.get_user(user_id)
        if target is None or not target.is_staff or target.unit_id != unit_id:
            raise NotFound("not a staff member of this unit", code="unknown_user")
        await self.store.remove_from_unit(user_id, unit_id, now_ms())
        self._changed_here(unit_id)

    async def substitutions(self, actor: User, unit_id: str) -> list[Substitution]:
        decision = decide(actor, Action.UNIT_STAFF_READ, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        return await self.store.substitutions_of_unit(unit_id, now_ms())
