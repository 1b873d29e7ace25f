"""What waits in a case, for the person looking (#14: a home that says what is waiting). Metadata only: an
application's status and dates, a booking's time, form and place, the dates of disputes and their answers;
never what anyone wrote, which stays sealed to the case key.

For the citizen: requests for completion with their due dates, decisions, the next meeting, open objections
and answered ones, the decision basis shared with them to comment on (kommunicering). For the unit's staff:
open objections, new applications, completions and kommunicering the citizen answered, and requests whose due date is near or past. Which decision or answer the citizen has already
read is the device's own knowledge (web/static/js/seen.js): the server is told nothing of it.

Computed in a few statements for a whole list of cases (one for the applications, one for the disputes, and
for the citizen's few cases one for each case's bookings), so that the inbox of a unit stays one request."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat.model import Case, Role, User, now_ms

if TYPE_CHECKING:
    from chat.storage import Storage

DAY_MS = 24 * 3600 * 1000
# A request for completion whose due date is this close (or past) is a deadline near for the unit: the
# citizen may not answer in time, and the case waits for the unit's next step.
DEADLINE_NEAR_MS = 2 * DAY_MS


@dataclass
class Pending:
    """One case's waiting work, as a JSON-ready dict per role (see view())."""
    completions: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    applications_new: int = 0
    completions_answered: int = 0
    communications: list[dict[str, Any]] | None = None  # kommunicering waiting for the citizen's comments
    communications_answered: int = 0
    appeals_waiting: int = 0  # an appeal waiting for the unit's reconsideration (FL 45 §, 39 §)
    objections_open: int = 0
    objection_since: int | None = None
    answers: list[dict[str, Any]] | None = None
    meeting: dict[str, Any] | None = None

    def view(self, staff: bool, now: int) -> dict[str, Any]:
        if staff:
            due = [c["due_at"] for c in self.completions if c["due_at"] is not None]
            comments_due = [c["due_at"] for c in self.communications or [] if c["due_at"] is not None]
            return {"objections_open": self.objections_open, "objection_since": self.objection_since,
                    "applications_new": self.applications_new, "completions_answered": self.completions_answered,
                    "communications_answered": self.communications_answered, "appeals_waiting": self.appeals_waiting,
                    "completions_waiting": len(self.completions),
                    "deadline_at": min(due) if due else None,
                    # kommunicering: the last day to comment; near or past, the unit's next step comes
                    "comments_due_at": min(comments_due) if comments_due else None,
                    "comments_due_near": any(d - now <= DEADLINE_NEAR_MS for d in comments_due),
                    "deadline_near": any(d - now <= DEADLINE_NEAR_MS for d in due)}
        return {"completions": self.completions, "decisions": self.decisions, "meeting": self.meeting,
                "communications": self.communications or [],
                "objections_open": self.objections_open, "answers": self.answers or []}


async def pending_work(store: Storage, user: User, cases: list[Case], now: int | None = None) -> dict[str, dict[str, Any]]:
    """Each case's waiting work as `user` may see it (the caller decided they may list these cases)."""
    now = now_ms() if now is None else now
    staff = user.role != Role.CITIZEN
    found = {c.id: Pending([], [], answers=[], communications=[]) for c in cases}
    if not cases:
        return {}
    if staff:
        applications = [a for unit in {c.unit_id for c in cases} for a in await store.applications.of_unit(unit)]
    else:
        applications = await store.applications.of_citizen(user.id)
    for a in applications:
        p = found.get(a.case_id)
        if p is None:
            continue
        if a.status == "completion_requested":
            p.completions.append({"application": a.id, "form": a.form_id, "due_at": a.due_at})
        elif a.status == "decided":
            p.decisions.append({"application": a.id, "form": a.form_id, "decided_at": a.updated_at})
        elif a.status == "received":
            p.applications_new += 1
        elif a.status == "supplemented":
            p.completions_answered += 1
        elif a.status == "communicated" and p.communications is not None:
            p.communications.append({"application": a.id, "form": a.form_id, "due_at": a.due_at})
        elif a.status == "communication_answered":
            p.communications_answered += 1
        elif a.status == "appealed":
            p.appeals_waiting += 1
    for d in await store.journal.disputes([c.id for c in cases]):
        p = found[d.case_id]
        if d.answered_at is None:
            p.objections_open += 1
            p.objection_since = d.created_at if p.objection_since is None else min(p.objection_since, d.created_at)
        elif p.answers is not None:
            p.answers.append({"dispute": d.id, "entry": d.entry_id, "answered_at": d.answered_at})
    if not staff:  # a citizen has a few cases: their bookings one case at a time
        for case in cases:
            found[case.id].meeting = await _next_meeting(store, case, now)
    return {case_id: p.view(staff, now) for case_id, p in found.items()}


async def _next_meeting(store: Storage, case: Case, now: int) -> dict[str, Any] | None:
    booked = [b for b in await store.bookings.bookings_of_case(case.id) if b.status == "booked" and b.slot.ends_at > now]
    if not booked:
        return None
    b = min(booked, key=lambda x: x.slot.starts_at)
    with_whom = await store.get_user(b.slot.caseworker)
    return {"booking": b.id, "starts_at": b.slot.starts_at, "ends_at": b.slot.ends_at, "form": b.form,
            "address": b.slot.address if b.form == "in_person" else None,
            "with_name": with_whom.display_name if with_whom else None}
