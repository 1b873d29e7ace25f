"""Registerutdrag (GDPR art. 15, docs/extract.md): what Samtal holds about a person, assembled by the server as
metadata and ciphertext; the content is opened on the person's own device, which alone holds their keys.

A citizen asks in the app and gets every unit's part at once (their request is logged and delivered when their
browser offers the document). Staff at a unit's desk make the unit's part for a person who comes in; what
other units hold is asked of them as requests of their own, each tracked to its due date (a month, art. 12.3).
Who may do what is decided in chat.policy (Action.SELF for the citizen, Action.EXTRACT_DESK for staff)."""
from __future__ import annotations

import calendar
import secrets
from datetime import UTC, datetime
from typing import Any

from chat import automation
from chat.errors import Forbidden, Hidden
from chat.model import Case, Role, User, now_ms
from chat.policy import Action, decide
from chat.storage import Storage
from chat.storage.extracts import ExtractRequest
from crypto.encoding import b64u

MAX_AUDIT_ROWS = 20_000  # of one person's cases: more than years of reads; a page of 500 at a time
AUDIT_PAGE = 500


def due_at(requested_at: int) -> int:
    """One month after the request (art. 12.3: "within one month of receipt of the request"): the same day of the
    next month, or its last day when the next month is shorter (31 January -> 28 or 29 February)."""
    start = datetime.fromtimestamp(requested_at / 1000, UTC)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp() * 1000)


def _new_id() -> str:
    return "ru-" + secrets.token_hex(8)


def request_view(r: ExtractRequest, at: int) -> dict[str, Any]:
    return {"id": r.id, "unit_id": r.unit_id, "requested_by": r.requested_by, "on_behalf": r.on_behalf,
            "requested_at": r.requested_at, "due_at": r.due_at, "parent_id": r.parent_id,
            "delivered_at": r.delivered_at, "delivered_by": r.delivered_by,
            "overdue": r.delivered_at is None and at > r.due_at,
            "automated": {"due_at": automation.STEPS["extract_due"]}}  # the due date is computed, not a person's


class Extracts:
    def __init__(self, store: Storage) -> None:
        self.store = store
        self._names: dict[str, str | None] = {}

    async def _name(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self._names:
            user = await self.store.get_user(user_id)
            self._names[user_id] = user.display_name if user else None
        return self._names[user_id]

    # -- the citizen's own request -----------------------------------------------------------------------------
    async def request_own(self, user: User) -> tuple[ExtractRequest, dict[str, Any]]:
        """A citizen's request in the app: logged as a request for every unit, and answered at once with the
        server's part (the browser adds what it opens and marks it delivered)."""
        if user.role != Role.CITIZEN:
            raise Forbidden("a citizen asks for their own extract; staff make one at the desk", code="forbidden")
        at = now_ms()
        request = ExtractRequest(_new_id(), user.id, None, user.id, False, at, due_at(at))
        await self.store.extracts.add([request])
        return request, await self.assemble(user, None, request, at)

    async def deliver_own(self, user: User, request_id: str) -> ExtractRequest:
        request = await self.store.extracts.get(request_id)
        if request is None or request.citizen_id != user.id or request.unit_id is not None:
            raise Hidden("extract", "unknown" if request is None else "forbidden")
        delivered = await self.store.extracts.deliver(request_id, user.id, now_ms())
        assert delivered is not None
        return delivered

    # -- the desk --------------------------------------------------------------------------------------------
    def _require_desk(self, user: User, unit_id: str) -> None:
        decision = decide(user, Action.EXTRACT_DESK, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")

    async def _person_of_unit(self, unit_id: str, citizen_id: str) -> tuple[User, list[Case]]:
        """The person and their cases, when they have a case in the unit: staff find people of their own unit
        only, never learn whether someone is known elsewhere."""
        cases = await self.store.cases_of_citizen(citizen_id)
        citizen = await self.store.get_user(citizen_id)
        if citizen is None or citizen.role != Role.CITIZEN or not any(c.unit_id == unit_id for c in cases):
            raise Hidden("person", "unknown" if citizen is None else "forbidden")
        return citizen, cases

    async def desk_request(self, staff: User, unit_id: str, citizen_id: str) -> list[ExtractRequest]:
        """A person asks at the desk: the unit's own part, and one request to each other unit that holds a
        case of theirs, all due in a month. The first is the unit's; the rest are the other units'."""
        self._require_desk(staff, unit_id)
        _, cases = await self._person_of_unit(unit_id, citizen_id)
        at = now_ms()
        own = ExtractRequest(_new_id(), citizen_id, unit_id, staff.id, True, at, due_at(at))
        others = sorted({c.unit_id for c in cases} - {unit_id})
        parts = [ExtractRequest(_new_id(), citizen_id, other, staff.id, True, at, due_at(at), parent_id=own.id)
                 for other in others]
        await self.store.extracts.add([own, *parts])
        return [own, *parts]

    async def _unit_request(self, staff: User, unit_id: str, request_id: str) -> ExtractRequest:
        self._require_desk(staff, unit_id)
        request = await self.store.extracts.get(request_id)
        if request is None or request.unit_id != unit_id:
            raise Hidden("extract", "unknown" if request is None else "forbidden")
        return request

    async def unit_part(self, staff: User, unit_id: str, request_id: str) -> dict[str, Any]:
        """The unit's part of a desk request (its own, or one another unit asked of it)."""
        request = await self._unit_request(staff, unit_id, request_id)
        citizen = await self.store.get_user(request.citizen_id)
        assert citizen is not None
        return await self.assemble(citizen, unit_id, request, now_ms())

    async def deliver_part(self, staff: User, unit_id: str, request_id: str) -> ExtractRequest:
        await self._unit_request(staff, unit_id, request_id)
        delivered = await self.store.extracts.deliver(request_id, staff.id, now_ms())
        assert delivered is not None
        return delivered

    async def of_unit(self, staff: User, unit_id: str) -> list[dict[str, Any]]:
        """The unit's requests, open ones first by due date, each with the person's name (the unit holds a case
        of theirs) and, for its own desk requests, how the other units' parts stand: how many, how many
        delivered, the latest due date; never which units (that a person has a case elsewhere is that unit's
        secret, sekretess between units of the same board)."""
        self._require_desk(staff, unit_id)
        at, out = now_ms(), []
        for r in await self.store.extracts.of_unit(unit_id):
            view = request_view(r, at) | {"citizen_id": r.citizen_id, "citizen_name": await self._name(r.citizen_id)}
            if r.parent_id is None:
                parts = [p for p in await self.store.extracts.of_citizen(r.citizen_id) if p.parent_id == r.id]
                view["other_units"] = {"count": len(parts), "delivered": sum(p.delivered_at is not None for p in parts),
                                       "overdue": sum(p.delivered_at is None and at > p.due_at for p in parts)}
            out.append(view)
        return out

    # -- what is held ----------------------------------------------------------------------------------------
    async def assemble(self, person: User, unit_id: str | None, request: ExtractRequest, at: int) -> dict[str, Any]:
        """Everything held about `person` (in `unit_id`'s cases only, for a unit's part): metadata as stored,
        content as the ciphertext the server holds. Nothing of another person's cases: every row is reached
        from the person's own cases."""
        cases = [c for c in await self.store.cases_of_citizen(person.id) if unit_id in (None, c.unit_id)]
        out: dict[str, Any] = {
            "format": "samtal.register-extract/1", "made_at": at, "request": request_view(request, at),
            "person": {"id": person.id, "name": person.display_name},
            "scope": "all_units" if unit_id is None else "unit", "unit_id": unit_id,
            "cases": [await self._case(person, c) for c in cases]}
        if unit_id is None:  # the account itself is the person's, in no unit
            prefs = await self.store.notifications.preferences(person.id)
            out["account"] = {"contact_email": await self.store.bookings.contact_email(person.id),
                              "notifications": {"email_opt_in": prefs.email_opt_in, "language": prefs.language}}
            out["devices"] = [{"id": d.id, "label": d.label, "created_at": d.created_at, "revoked_at": d.revoked_at,
                               "proven_by_e_identification": d.binding is not None}
                              for d in await self.store.devices_of_user(person.id)]
            out["extract_requests"] = [request_view(r, at) for r in await self.store.extracts.of_citizen(person.id)
                                       if r.unit_id is None or r.parent_id is None]
        out["attachments"] = [{"kind": a.kind, "id": a.id, "case_id": a.case_id, "size": a.size,
                               "uploaded_at": a.created_at, "uploaded_by_name": await self._name(a.uploaded_by),
                               "attached_to": a.attached_to}
                              for a in await self.store.extracts.attachments([c.id for c in cases], person.id)]
        out["staff_access"] = await self._staff_access(person, cases)
        return out

    async def _case(self, person: User, case: Case) -> dict[str, Any]:
        unit = await self.store.get_unit(case.unit_id)
        messages = []
        after = 0
        while page := await self.store.messages_after(case.id, after, 500):
            messages += [{"seq": m.seq, "msg_id": m.msg_id, "sender": m.sender_user,
                          "sender_name": await self._name(m.sender_user), "sender_device": m.sender_device,
                          "stored_at": m.stored_at, "env": b64u(m.envelope)} for m in page]
            after = page[-1].seq
        return {"id": case.id, "unit_id": case.unit_id, "unit_name": unit.name if unit else None, "title": case.title,
                "status": case.status, "created_at": case.created_at,
                "caseworker": await self._name(case.assigned_to), "messages": messages,
                "applications": await self._applications(person, case),
                "journal": await self._journal(case), "bookings": await self._bookings(case),
                "representatives": await self._representatives(case)}

    async def _representatives(self, case: Case) -> list[dict[str, Any]]:
        """Who may act for the person in the case (ombud, god man, förvaltare, vårdnadshavare), ended ones too.
        The mandates a person holds over someone else's case are that person's, not in their extract."""
        return [{"id": m.id, "holder": m.holder, "holder_name": await self._name(m.holder), "kind": m.kind.value,
                 "basis": m.basis.value, "basis_reference": m.basis_reference, "scopes": sorted(s.value for s in m.scopes),
                 "starts_at": m.starts_at, "ends_at": m.ends_at, "ended_at": m.ended_at,
                 "registered_by_name": await self._name(m.created_by), "registered_at": m.created_at}
                for m in await self.store.mandates.of_case(case.id)]

    async def _applications(self, person: User, case: Case) -> list[dict[str, Any]]:
        out = []
        for a in [a for a in await self.store.applications.of_citizen(person.id) if a.case_id == case.id]:
            events, records, _ = await self.store.applications.timeline(a.id)
            out.append({"id": a.id, "form_id": a.form_id, "form_version": a.form_version, "status": a.status,
                        "submitted_at": a.submitted_at, "submitted_by_name": await self._name(a.submitted_by),
                        "on_behalf": a.on_behalf, "due_at": a.due_at,
                        "events": [{"kind": e.kind, "at": e.at, "by": e.actor, "by_name": await self._name(e.actor),
                                    "on_behalf": e.on_behalf, "due_at": e.due_at, "record_id": e.record_id}
                                   for e in events],
                        "decisions": [{"id": d.id, "decided_by": d.decided_by,
                                       "decided_by_name": await self._name(d.decided_by), "decided_at": d.decided_at,
                                       "replaces": d.replaces, "delivery": d.delivery, "posted_at": d.posted_at,
                                       "received_at": d.received_at}
                                      for d in await self.store.applications.decisions(a.id)],
                        "records": [{"id": r.id, "kind": r.kind, "author_name": await self._name(r.author),
                                     "created_at": r.created_at, "record": b64u(r.data)} for r in records]})
        return out

    async def _journal(self, case: Case) -> dict[str, Any]:
        """What the citizen sees of the documentation (chat.journal.service.Journal.view's rule): published
        entries and their signed versions, and the remarks (theirs, and the unit's responses to them)."""
        entries, versions, remarks, _ = await self.store.journal.case_journal(case.id)
        shown = {e.id for e in entries if e.published_at is not None}
        return {
            "entries": [{"id": e.id, "signed_by_name": await self._name(e.signed_by), "signed_at": e.signed_at,
                         "published_by_name": await self._name(e.published_by), "published_at": e.published_at,
                         "versions": [{"version": v.version, "record_id": v.record_id, "signed_at": v.signed_at,
                                       "author_name": await self._name(v.author), "record": b64u(v.data)}
                                      for v in versions if v.entry_id == e.id and v.signed_at is not None]}
                        for e in entries if e.id in shown],
            "remarks": [{"id": r.id, "kind": r.kind, "entry_id": r.entry_id if r.entry_id in shown else None,
                         "responds_to": r.responds_to, "author_name": await self._name(r.author),
                         "created_at": r.created_at, "answered_at": r.answered_at, "record": b64u(r.data)}
                        for r in remarks]}

    async def _bookings(self, case: Case) -> list[dict[str, Any]]:
        return [{"id": b.id, "form": b.form, "status": b.status, "starts_at": b.slot.starts_at,
                 "ends_at": b.slot.ends_at, "with_name": await self._name(b.slot.caseworker), "address": b.slot.address,
                 "booked_by_name": await self._name(b.booked_by), "on_behalf": b.on_behalf, "booked_at": b.created_at,
                 "changed_at": b.changed_at, "changed_by_name": await self._name(b.changed_by)}
                for b in await self.store.bookings.bookings_of_case(case.id)]

    async def _staff_access(self, person: User, cases: list[Case]) -> list[dict[str, Any]]:
        """Who at the units read or wrote the person's case data, and when: the audit log's rows of their cases
        by anyone but themselves (staff, and log reviewers reading them)."""
        rows: list[dict[str, Any]] = []
        for unit_id in sorted({c.unit_id for c in cases}):
            case_ids = [c.id for c in cases if c.unit_id == unit_id]
            after = 0
            while len(rows) < MAX_AUDIT_ROWS and (page := await self.store.audit_search(
                    unit_id, case_ids, None, None, None, None, after, AUDIT_PAGE, False)):
                rows += [{"at": r.event.at, "by": r.event.actor, "by_name": await self._name(r.event.actor),
                          "role": r.event.role, "unit_id": unit_id, "case_id": r.event.case_id,
                          "action": r.event.action, "outcome": r.event.outcome}
                         for r in page if r.event.actor not in (None, person.id) and r.event.outcome == "allowed"]
                after = page[-1].id
        return sorted(rows, key=lambda r: r["at"])

