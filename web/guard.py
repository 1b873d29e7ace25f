"""Authorization in one place (behörighet) for HTTP routes and WebSocket frames alike: the route and frame
machinery (web/httpapi.py, web/ws.py) asks here before any handler runs, with the policy action the route or
frame declares and the names its path or frame carries; the handler gets the resolved case.

Where the resource comes from:
- a unit: `unit_id` (what else the path names is the unit's, e.g. an application about to be sent);
- a case: `case_id`, or the case of `application_id`, `decision_id`, `entry_id` or `remark_id`;
- for a unit action with neither, the staff member's own unit;
- nothing: the account's own actions (self, case list, device keys, forms).

A case the user may not read answers exactly as a case that does not exist (404 with the kind's `unknown_*`
code), so that case ids cannot be counted; only the audit log and the security events tell the two apart. A
case the user may read but not act on this way answers 403 `forbidden` with the policy's reason."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat.errors import Forbidden, Hidden
from chat.model import Case, User, now_ms
from chat.policy import UNIT_ACTIONS, Action, decide

if TYPE_CHECKING:
    from web.app import Services


@dataclass(frozen=True)
class Resolved:
    """What a route or frame acts on, once the policy has allowed it."""

    case: Case | None = None
    unit_id: str | None = None


NOBODY = Resolved()


# The names that lead to a case, and the word their refusal uses.
CASE_NAMES = (("case_id", "case"), ("application_id", "application"), ("decision_id", "decision"),
              ("entry_id", "entry"), ("remark_id", "remark"))


async def _case_id(services: Services, name: str, value: str) -> str | None:
    """The id of the case that `value` (a `name`) belongs to, or None when there is no such thing."""
    if name == "case_id":
        return value
    if name == "application_id":
        app = await services.store.applications.get(value)
        return app.case_id if app else None
    if name == "decision_id":
        decision = await services.store.applications.decision(value)
        return decision.case_id if decision else None
    if name == "entry_id":
        entry = await services.store.journal.entry(value)
        return entry.case_id if entry else None
    remark = await services.store.journal.remark(value)
    return remark.case_id if remark else None


async def resolve(services: Services, user: User, action: Action, names: Mapping[str, Any]) -> Resolved:
    """Decide `action` for `user` on what `names` (path parameters, or a frame's fields) point at. Raises
    Hidden (404), or Forbidden (403) with the policy's reason; returns the resolved case or unit."""
    unit_id = names.get("unit_id")
    for name, kind in CASE_NAMES if unit_id is None else ():  # a unit's path is about the unit
        value = names.get(name)
        if value is None:
            continue
        case_id = await _case_id(services, name, value) if isinstance(value, str) and value else None
        case = await services.store.get_case(case_id) if case_id else None
        if case is None:
            raise Hidden(kind, "unknown")
        if not decide(user, Action.CASE_READ, case=case):
            raise Hidden(kind, "forbidden")
        acting_for = await services.assignments.acting_for(user, case.unit_id) if user.is_staff else frozenset()
        booked_with = await _booked_with(services, case, names.get("booking_id")) \
            if action == Action.CALL_JOIN else None
        decision = decide(user, action, case=case, unit_id=case.unit_id, acting_for=acting_for,
                          booked_with=booked_with)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        return Resolved(case, case.unit_id)
    if unit_id is None and action in UNIT_ACTIONS:
        unit_id = user.unit_id  # a unit route without a unit in its path acts on the staff member's own unit
    decision = decide(user, action, unit_id=unit_id if isinstance(unit_id, str) else None)
    if not decision:
        raise Forbidden(decision.reason, code="forbidden")
    return Resolved(None, unit_id if isinstance(unit_id, str) else None)


async def _booked_with(services: Services, case: Case, booking_id: Any) -> str | None:
    """Whose time a call's meeting was booked on (a call is also with them: chat.policy._call)."""
    if type(booking_id) is not int:
        return None
    booking = await services.store.bookings.booking(booking_id)
    return booking.slot.caseworker if booking is not None and booking.case_id == case.id else None


async def record_refusal(services: Services, user: User | None, action: str, error: Exception,
                         names: Mapping[str, Any], detail: dict[str, Any]) -> None:
    """Audit a refusal of the machinery; a hidden one with its real reason, and as a security event (someone
    tried a case id that is not theirs, or made one up)."""
    reason = error.audit_reason if isinstance(error, Hidden) else getattr(error, "code", "refused")
    known_case = names.get("case_id") if isinstance(names.get("case_id"), str) else None
    await services.messages.auditor.record(user, action, "denied", case_id=known_case,
                                           unit_id=names.get("unit_id") if isinstance(names.get("unit_id"), str)
                                           else None, reason=reason, detail=detail)
    if isinstance(error, Hidden):
        await services.store.add_security_event(error.audit_reason, user_id=user.id if user else None,
                                                device_id=detail.get("device"), case_id=known_case,
                                                detail=f"{action} refused as unknown", at=now_ms())
