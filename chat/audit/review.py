"""Log review (loggkontroll): a log reviewer (granskare) searches the audit log of their unit by citizen,
case, staff member and period, draws random samples, and records findings. Every review is itself
audited by the route that serves it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chat.audit.chain import AuditRow
from chat.errors import Forbidden, InvalidInput, NotFound
from chat.model import User, now_ms
from chat.policy import Action, decide
from chat.storage import AccountStore, AuditStore, CaseStore

VERDICTS = ("ok", "question", "violation")
MAX_PAGE = 500
MAX_SAMPLE = 200


class ReviewStore(AuditStore, AccountStore, CaseStore, Protocol):
    """What log review reads: the audit log and its findings, and the unit's people and cases."""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    citizen: str | None = None
    case_id: str | None = None
    staff: str | None = None  # the actor
    start: int | None = None  # ms, inclusive
    end: int | None = None  # ms, exclusive


@dataclass(frozen=True, slots=True)
class Finding:
    id: int
    audit_id: int
    reviewer: str
    verdict: str
    note: str
    created_at: int


class LogReview:
    def __init__(self, store: ReviewStore) -> None:
        self.store = store

    def _require(self, user: User, action: Action) -> str:
        decision = decide(user, action, unit_id=user.unit_id)
        if not decision or user.unit_id is None:
            raise Forbidden(decision.reason, code="forbidden")
        return user.unit_id

    async def people(self, user: User) -> tuple[list[User], list[User]]:
        """The unit's staff and the citizens with a case in the unit, for searching the log by name."""
        unit_id = self._require(user, Action.AUDIT_READ)
        staff = await self.store.staff_of_unit(unit_id)
        reviewers = [u for u in [user] if u not in staff]  # a reviewer searches for their own reviews too
        citizens: dict[str, User] = {}
        for case in await self.store.cases_of_unit(unit_id):
            if case.citizen_id not in citizens and (citizen := await self.store.get_user(case.citizen_id)):
                citizens[citizen.id] = citizen
        return staff + reviewers, sorted(citizens.values(), key=lambda u: u.display_name.casefold())

    async def resolve(self, user: User, query: AuditFilter) -> AuditFilter:
        """`citizen` and `staff` may be a user id or a name (a part of it is enough when one person of the
        unit has it): a reviewer looks for people, not for ids."""
        staff, citizens = await self.people(user)
        return AuditFilter(citizen=_one_person(query.citizen, citizens), case_id=query.case_id,
                           staff=_one_person(query.staff, staff), start=query.start, end=query.end)

    async def _case_ids(self, unit_id: str, query: AuditFilter) -> list[str] | None:
        if query.citizen is None:
            return None
        return [c.id for c in await self.store.cases_of_citizen(query.citizen) if c.unit_id == unit_id]

    async def search(self, user: User, query: AuditFilter, after_id: int, limit: int) -> list[AuditRow]:
        unit_id = self._require(user, Action.AUDIT_READ)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit is 1 to {MAX_PAGE}", code="invalid_field")
        return await self.store.audit_search(unit_id, await self._case_ids(unit_id, query), query.case_id,
                                             query.staff, query.start, query.end, after_id, limit, sample=False)

    async def sample(self, user: User, query: AuditFilter, size: int) -> list[AuditRow]:
        unit_id = self._require(user, Action.AUDIT_READ)
        if not 1 <= size <= MAX_SAMPLE:
            raise InvalidInput(f"a sample is 1 to {MAX_SAMPLE} rows", code="invalid_field")
        return await self.store.audit_search(unit_id, await self._case_ids(unit_id, query), query.case_id,
                                             query.staff, query.start, query.end, 0, size, sample=True)

    async def record(self, user: User, audit_id: int, verdict: str, note: str) -> int:
        unit_id = self._require(user, Action.AUDIT_REVIEW)
        if verdict not in VERDICTS:
            raise InvalidInput(f"verdict is one of {', '.join(VERDICTS)}", code="invalid_field")
        rows = await self.store.audit_search(unit_id, None, None, None, None, None, audit_id - 1, 1, sample=False)
        if not rows or rows[0].id != audit_id:
            raise NotFound("no such audit row in your unit", code="unknown_audit_row")
        return await self.store.add_finding(unit_id, audit_id, user.id, verdict, note.strip()[:2000],
                                            now_ms())

    async def findings(self, user: User) -> list[Finding]:
        unit_id = self._require(user, Action.AUDIT_READ)
        return [Finding(*row) for row in await self.store.findings(unit_id)]


def _one_person(wanted: str | None, people: list[User]) -> str | None:
    if wanted is None:
        return None
    if any(person.id == wanted for person in people):
        return wanted
    needle = " ".join(wanted.split()).casefold()
    exact = [p for p in people if p.display_name.casefold() == needle]
    found = exact or [p for p in people if needle in p.display_name.casefold()]
    if len(found) == 1:
        return found[0].id
    if not found:
        return wanted  # an id of someone no longer in the unit still finds their rows
    raise InvalidInput(f"{len(found)} people match that name; write more of it", code="ambiguous_name")
