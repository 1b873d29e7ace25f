"""Representatives and guardians (DOMAIN rule 13; docs/representatives.md): staff register who may act for
a case's citizen, on what basis (a power of attorney attached to the case, a court's decision, custody of a
child), within which scopes (read, write, apply, book) and for which period. The representative signs in
with their own e-identification; the policy (chat/policy.py) lets them act in that case only while the
mandate is in force and only within its scopes, and the audit log records each act as on the citizen's
behalf (chat/audit/auditor.py).

A child's custodians (vårdnadshavare) are registered with the child's date of birth: their mandate ends on
the 18th birthday, and from the 15th the child also speaks for themselves in their own case (SoL 2025:400;
docs/representatives.md says which provision and what could not be verified).

When a mandate is over (its period passed, or staff ended it), its end is settled once: the holder's live
connections are cut and the unit's key holders are told the case key must be rotated away from the
holder's devices (chat/keys/service.py pending_tasks)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.model import Case, Mandate, MandateBasis, MandateKind, Role, Scope, User, now_ms
from chat.periodic import Rounds
from chat.policy import Action, decide
from chat.storage import Storage

log = logging.getLogger("samtal.mandates")

ZONE = ZoneInfo("Europe/Stockholm")
SETTLE_PAUSE_SECONDS = 30  # a mandate whose period ran out is acted on within this (access ends at once anyway)
MAX_REFERENCE = 120
GUARDIANS_PER_CHILD = 2  # föräldrabalken 6 kap.: a child has at most two custodians
# Which basis each kind of representative rests on.
BASES = {
    MandateKind.OMBUD: {MandateBasis.POWER_OF_ATTORNEY},
    MandateKind.GOD_MAN: {MandateBasis.COURT_DECISION},
    MandateKind.FORVALTARE: {MandateBasis.COURT_DECISION},
    MandateKind.GUARDIAN: {MandateBasis.CUSTODY, MandateBasis.COURT_DECISION},
}

# Told when a person's mandates changed (registered, ended, lapsed): their live connections are cut, so that
# they reconnect with what holds now; and the unit, whose key holders may have key work to do.
MandateChanged = Callable[[Mandate, str], object]


def birthday(born: date, years: int) -> int:
    """Midnight, Swedish time, of the day `years` after `born` (29 February: 1 March in other years)."""
    try:
        day = born.replace(year=born.year + years)
    except ValueError:
        day = date(born.year + years, 3, 1)
    return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp() * 1000)


class Mandates:
    def __init__(self, store: Storage, on_changed: MandateChanged, pause_seconds: float = SETTLE_PAUSE_SECONDS) -> None:
        self.store = store
        self.on_changed = on_changed
        self._rounds = Rounds("mandate-ends", pause_seconds, self.settle_lapsed, log, "settling ended mandates failed")

    def start(self) -> None:
        self._rounds.start()

    async def stop(self) -> None:
        await self._rounds.stop()

    async def with_mandates(self, user: User) -> User:
        """The signed-in person with the mandates the policy decides on (chat/model.py User.mandates)."""
        if user.role != Role.CITIZEN:
            return user
        return replace(user, mandates=tuple(await self.store.mandates.of_person(user.id)))

    @staticmethod
    def _require(actor: User, case: Case, acting_for: frozenset[str]) -> None:
        decision = decide(actor, Action.MANDATE_MANAGE, case=case, acting_for=acting_for)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")

    async def register(self, actor: User, case: Case, holder: User, *, kind: MandateKind, basis: MandateBasis,
                       reference: str, scopes: Iterable[Scope], starts_at: int, ends_at: int | None,
                       document_blob: str | None = None, child_born: date | None = None,
                       acting_for: frozenset[str] = frozenset()) -> Mandate:
        self._require(actor, case, acting_for)
        if holder.role != Role.CITIZEN or holder.id == case.citizen_id:
            raise InvalidInput("a representative is another person, signed in with e-identification",
                               code="invalid_representative")
        if basis not in BASES[kind]:
            raise InvalidInput(f"a {kind.value} acts on {' or '.join(sorted(b.value for b in BASES[kind]))}",
                               code="invalid_basis")
        if basis == MandateBasis.POWER_OF_ATTORNEY and document_blob is None:
            raise InvalidInput("attach the power of attorney", code="document_required")
        reference = " ".join(reference.split())[:MAX_REFERENCE]
        if basis == MandateBasis.COURT_DECISION and not reference:
            raise InvalidInput("the court's decision: its court and case number", code="invalid_field")
        child_speaks_from = None
        if kind == MandateKind.GUARDIAN:
            if child_born is None:
                raise InvalidInput("a guardian's mandate needs the child's date of birth", code="invalid_field")
            adult = birthday(child_born, 18)
            ends_at = adult if ends_at is None else min(ends_at, adult)
            child_speaks_from = birthday(child_born, 15)
        if ends_at is None or ends_at <= starts_at or ends_at <= now_ms():
            raise InvalidInput("a mandate's period ends after it starts, and not in the past", code="invalid_period")
        existing = [m for m in await self.store.mandates.of_case(case.id) if not m.over(now_ms())]
        if any(m.holder == holder.id for m in existing):
            raise Conflict("this person already has a mandate in the case; end it first", code="mandate_exists")
        if kind == MandateKind.GUARDIAN and \
                sum(m.kind == MandateKind.GUARDIAN for m in existing) >= GUARDIANS_PER_CHILD:
            raise Conflict("a child has at most two guardians", code="too_many_guardians")
        mandate = Mandate(0, case.id, holder.id, case.citizen_id, kind, basis, reference, document_blob,
                          frozenset({Scope.READ, *scopes}), starts_at, ends_at, actor.id, now_ms(),
                          child_speaks_from=child_speaks_from)
        mandate = replace(mandate, id=await self.store.mandates.add(mandate))
        self.on_changed(mandate, case.unit_id)
        return mandate

    async def end(self, actor: User, case: Case, mandate_id: int, acting_for: frozenset[str] = frozenset()) -> Mandate:
        """Staff end a mandate before its period is out (revoked, or the court's decision changed)."""
        self._require(actor, case, acting_for)
        mandate = await self.store.mandates.get(mandate_id)
        if mandate is None or mandate.case_id != case.id:
            raise NotFound("no such mandate in the case", code="unknown_mandate")
        if not await self.store.mandates.end(mandate_id, actor.id, now_ms()):
            raise Conflict("the mandate was ended already", code="mandate_ended")
        await self.settle_lapsed()
        return await self.store.mandates.get(mandate_id) or mandate

    async def of_case(self, user: User, case: Case) -> list[Mandate]:
        """Who acts for the citizen: all of it for the unit's staff and the citizen; a representative sees
        their own mandate."""
        mandates = await self.store.mandates.of_case(case.id)
        if user.is_staff or user.id == case.citizen_id:
            return mandates
        return [m for m in mandates if m.holder == user.id]

    async def represented_cases(self, user: User) -> list[tuple[Case, Mandate]]:
        """The cases `user` may act in for someone else now, with the mandate."""
        at = now_ms()
        out = []
        for mandate in user.mandates:
            if mandate.holder == user.id and mandate.in_force(at):
                case = await self.store.get_case(mandate.case_id)
                if case is not None and decide(user, Action.CASE_READ, case=case):
                    out.append((case, mandate))
        return out

    async def settle_lapsed(self) -> list[Mandate]:
        """Act once on every mandate that is over and not yet settled (scheduled, and at once when staff end
        one): its holder is cut off live and the unit's key holders rotate the case key."""
        at = now_ms()
        settled = []
        for mandate in await self.store.mandates.lapsed_unsettled(at):
            case = await self.store.get_case(mandate.case_id)
            await self.store.mandates.settle(mandate.id, at)
            if case is not None:
                self.on_changed(mandate, case.unit_id)
            settled.append(mandate)
        return settled
