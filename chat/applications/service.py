"""Ansökan: citizens apply to a unit with one of its forms; staff register paper applications on a citizen's
behalf; the unit assesses, asks for completion (komplettering), and decides (beslut). The answers, what is
asked, what the citizen adds and the decision are sealed records the server cannot open (crypto/record.py);
the server keeps the form, the case, the status timeline and who did what, and checks every upload
(chat/records.py) and every grant's recipient. See docs/applications.md."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chat.applications.deadline import swedish_day
from chat.applications.forms import FormCatalogue
from chat.cases.assignment import Assignments
from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.model import Case, Device, Role, UnitKeyEpoch, User, now_ms
from chat.notifications import notices as notifications
from chat.policy import Action, decide
from chat.records import GrantUpload, check_grants, check_record_upload, session_device
from chat.storage import Storage
from chat.storage.applications import (
    Application,
    ApplicationStore,
    Decision,
    Event,
    Grant,
    NewRecord,
    StoredRecord,
)
from crypto.record import SealedRecord, parse_record

KIND_APPLICATION = "application"
KIND_COMPLETION = "application.completion"  # what the unit asks the citizen to add
KIND_SUPPLEMENT = "application.supplement"  # what the citizen adds
KIND_DECISION = "application.decision"  # beslut
KIND_COMMUNICATION = "application.communication"  # kommunicering (FL 25 §): the decision basis shared with the citizen
KIND_COMMUNICATION_REPLY = "application.communication_reply"  # the citizen's answer to it
NOTIFY_KIND = "application"  # chat/notifications/notices.py: something waits for the citizen in an application
# The statuses an application can have (the database keeps no list of its own: migration 0031).
STATUSES = ("received", "assessing", "completion_requested", "supplemented", "communicated",
            "communication_answered", "decided", "withdrawn",
            "appealed", "appeal_reconsidered", "appeal_forwarded", "appeal_dismissed")  # chat/applications/appeals.py
# Not yet decided: the unit may still ask, share the decision basis and decide; the citizen may withdraw.
OPEN = ("received", "assessing", "completion_requested", "supplemented", "communicated", "communication_answered")
# How kommunicering was done: in Samtal, or (recorded by staff, DOMAIN rule 13) by phone, in person, by letter.
COMMUNICATION_METHODS = ("app", "phone", "in_person", "letter")
MAX_GRANTS = 20
MAX_BLOBS = 60
DAY_MS = 24 * 3600 * 1000
MAX_DUE_MS = 366 * DAY_MS

# (application, case, what happened): the web layer pushes a status frame to the case's people.
Notify = Callable[[Application, Case, str], None]


@dataclass(frozen=True, slots=True)
class ApplicationView:
    application: Application
    case: Case
    events: list[Event]
    records: list[StoredRecord]
    grants: list[Grant]  # those the asking device could open
    decisions: list[Decision]


def unit_recipient(epoch: int) -> str:
    return f"unit:{epoch}"


class Applications:
    def __init__(self, store: Storage, astore: ApplicationStore, catalogue: FormCatalogue,
                 assignments: Assignments, notify: Notify, keys_pending: Callable[[str], None],
                 decision_texts: dict[str, Any] | None = None) -> None:
        self.store = store
        # What decision documents offer to choose from (chat/applications/decision_texts.py); public, not content.
        self.decision_texts = decision_texts or {}
        self.astore = astore
        self.catalogue = catalogue
        self.assignments = assignments
        self.notify = notify
        self.keys_pending = keys_pending  # a new case needs its key: wake the unit's key holders

    # -- access -------------------------------------------------------------------------------------
    @staticmethod
    def _require(decision_of: object) -> None:
        if not decision_of:
            raise Forbidden(decision_of.reason, code="forbidden")  # type: ignore[attr-defined]

    async def _application(self, user: User, application_id: str, action: Action) -> tuple[Application, Case]:
        """The application and its case, if the user may do `action` on it. Unknown and forbidden look the
        same to the caller (neither says which applications exist)."""
        app = await self.astore.get(application_id)
        case = await self.store.get_case(app.case_id) if app else None
        if app is None or case is None:
            raise NotFound("no such application", code="unknown_application")
        acting_for = await self.assignments.acting_for(user, case.unit_id) if action == Action.APPLICATION_HANDLE \
            else frozenset()
        self._require(decide(user, action, case=case, acting_for=acting_for))
        return app, case

    # -- forms ----------------------------------------------------------------------------------------
    async def forms(self) -> tuple[dict[str, Any], dict[str, UnitKeyEpoch | None]]:
        """The units that take applications, their forms, and each unit's current (signed) key epoch."""
        names = await self.astore.units()
        listing = self.catalogue.as_json(names)
        listing["decisions"] = {"units": {u: t for u, t in self.decision_texts.get("units", {}).items() if u in names},
                                "appeal": self.decision_texts.get("appeal")}
        epochs: dict[str, UnitKeyEpoch | None] = {}
        for unit in listing["units"]:
            known = await self.store.unit_key_epochs(unit["id"])
            epochs[unit["id"]] = known[-1] if known else None
        return listing, epochs

    # -- checking uploads ---------------------------------------------------------------------------------
    async def _grants(self, signer: Device, rec: SealedRecord, uploads: Sequence[GrantUpload], unit_id: str,
                      citizen_id: str, case: Case | None, require_unit: bool = True) -> list[tuple[str, bytes, bytes]]:
        """Checked grants: signed by the uploading device, each to the unit's key (an existing epoch), a
        device of the citizen, or an existing key epoch of the case; one to the unit's current epoch."""
        epochs = [e.epoch for e in await self.store.unit_key_epochs(unit_id)]
        if not epochs:
            raise Conflict("the unit has no key yet; try again later", code="no_unit_key")
        citizen_devices = {d.id for d in await self.store.devices_of_user(citizen_id) if d.active}
        case_epoch = await self.store.current_case_epoch(case.id) if case else 0
        allowed = {unit_recipient(e) for e in epochs} | citizen_devices | {f"case:{e}" for e in
                                                                            range(1, case_epoch + 1)}
        out = check_grants(signer, rec.header.record_id, uploads, allowed, MAX_GRANTS)
        seen = {recipient for recipient, _, _ in out}
        if require_unit and unit_recipient(epochs[-1]) not in seen:
            raise InvalidInput("a record must be granted to the unit's current key", code="grant_missing")
        return out

    async def _record(self, user: User, device_id: str, raw: bytes, kind: str, unit_id: str, case_id: str | None,
                      grants: Sequence[GrantUpload], citizen_id: str, case: Case | None,
                      blobs: Sequence[str]) -> NewRecord:
        rec = await check_record_upload(self.store, user, device_id, raw, kinds={kind}, unit_id=unit_id,
                                        case_id=case_id)
        if len(blobs) > MAX_BLOBS or len(set(blobs)) != len(blobs):
            raise InvalidInput(f"at most {MAX_BLOBS} different attachments", code="invalid_field")
        signer = await session_device(self.store, user, device_id)
        checked = await self._grants(signer, rec, grants, unit_id, citizen_id, case)
        return NewRecord(rec.header.record_id, kind, user.id, device_id, rec.raw, checked, tuple(blobs))

    # -- submitting -----------------------------------------------------------------------------------------
    async def submit(self, user: User, device_id: str, unit_id: str, form_id: str, form_version: int, raw: bytes,
                     grants: Sequence[GrantUpload], blobs: Sequence[str], citizen_id: str | None = None,
                     assign_to_me: bool = True) -> tuple[Application, Case, bool]:
        """A citizen's own application, or (staff, with `citizen_id`) a paper application registered on the
        citizen's behalf. Joins the citizen's open case in the unit, or opens one; a case a paper application
        opens is assigned to the caseworker who registered it (it lands in their Mina ärenden, not
        unassigned) unless `assign_to_me` is False."""
        self._require(decide(user, Action.APPLICATION_SUBMIT, unit_id=unit_id))
        form = self.catalogue.offered(unit_id, form_id)
        if form is None:
            raise NotFound("the unit does not take applications on that form", code="unknown_form")
        if form_version != form.version:
            raise Conflict(f"the form is at version {form.version}; reload it", code="form_changed")
        on_behalf = user.role != Role.CITIZEN
        if not on_behalf:
            if citizen_id not in (None, user.id):
                raise Forbidden("a citizen applies for themselves", code="forbidden")
            citizen_id = user.id
        else:
            # A citizen of the unit's cases, or one the desk found or registered by personal identity number
            # (POST /api/units/{unit_id}/citizens): an account either way, never a made-up id.
            citizen = await self.store.get_user(citizen_id) if citizen_id else None
            if citizen is None or citizen.role != Role.CITIZEN:
                raise InvalidInput("a paper application is registered for a citizen's account",
                                   code="unknown_citizen")
        assert citizen_id is not None
        rec = await self._record(user, device_id, raw, KIND_APPLICATION, unit_id, None, grants, citizen_id, None,
                                 blobs)
        app, case, new = await self.astore.submit(rec, unit_id, citizen_id, form.id, form.version, on_behalf,
                                                  form.case_title, now_ms())
        if new and app.opened_case and on_behalf and assign_to_me and user.role in (Role.CASEWORKER,
                                                                                     Role.SUPERVISOR):
            await self.store.assign_case(case.id, user.id)
            case = replace(case, assigned_to=user.id)
        if new:
            if app.opened_case:
                self.keys_pending(unit_id)  # the new case needs its key (the demo steward, or a staff browser)
            self.notify(app, case, "received")
            await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)  # a paper one: news
        return app, case, new

    # -- reading ---------------------------------------------------------------------------------------------
    async def list(self, user: User, case_id: str | None = None) -> list[Application]:
        if user.role == Role.CITIZEN:
            return [a for a in await self.astore.of_citizen(user.id) if case_id in (None, a.case_id)]
        if user.is_staff and user.unit_id:
            return await self.astore.of_unit(user.unit_id, case_id)
        raise Forbidden("this role has no applications", code="forbidden")

    async def view(self, user: User, device_id: str | None, application_id: str) -> ApplicationView:
        app, case = await self._application(user, application_id, Action.APPLICATION_READ)
        events, records, grants = await self.astore.timeline(app.id)
        if user.id == case.citizen_id:
            await notifications.seen(self.store, user.id, case.id, NOTIFY_KIND)
        return ApplicationView(app, case, events, records, [g for g in grants if self._readable(user, device_id, g)],
                               await self.astore.decisions(app.id))

    @staticmethod
    def _readable(user: User, device_id: str | None, grant: Grant) -> bool:
        """The grants worth sending to this device: its own, the case key's, and (staff) the unit key's."""
        if grant.recipient.startswith("case:") or grant.recipient == device_id:
            return True
        return user.is_staff and grant.recipient.startswith("unit:")

    # -- the unit's steps ----------------------------------------------------------------------------------------
    async def assess(self, user: User, application_id: str) -> Application:
        """utredning: the unit is assessing the application."""
        app, case = await self._application(user, application_id, Action.APPLICATION_HANDLE)
        app, _ = await self.astore.step(app.id, "assessing", user.id, False, now_ms(),
                                          ("received", "supplemented", "completion_requested", "assessing"))
        self.notify(app, case, "assessing")
        return app

    async def request_completion(self, user: User, device_id: str, application_id: str, raw: bytes,
                                 grants: Sequence[GrantUpload], due_at: int) -> Application:
        """komplettering: what is asked is sealed; by when (`due_at`) is metadata, shown to both sides."""
        app, case = await self._application(user, application_id, Action.APPLICATION_HANDLE)
        now = now_ms()
        if not now - DAY_MS < due_at <= now + MAX_DUE_MS:
            raise InvalidInput("the due date is today or later, and within a year", code="invalid_field")
        rec = await self._record(user, device_id, raw, KIND_COMPLETION, case.unit_id, case.id, grants,
                                 case.citizen_id, case, ())
        app, new = await self.astore.step(app.id, "completion_requested", user.id, False, now, OPEN, rec, due_at)
        if new:
            self.notify(app, case, "completion_requested")
            await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return app

    async def supplement(self, user: User, device_id: str, application_id: str, raw: bytes,
                         grants: Sequence[GrantUpload], blobs: Sequence[str]) -> Application:
        """The citizen answers a completion request (or adds something on their own) while it is undecided."""
        app, case = await self._application(user, application_id, Action.APPLICATION_SUPPLEMENT)
        rec = await self._record(user, device_id, raw, KIND_SUPPLEMENT, case.unit_id, case.id, grants,
                                 case.citizen_id, case, blobs)
        app, new = await self.astore.step(app.id, "supplemented", user.id, False, now_ms(), OPEN, rec)
        if new:
            self.notify(app, case, "supplemented")
        return app

    async def decide(self, user: User, device_id: str, application_id: str, raw: bytes,
                     grants: Sequence[GrantUpload], replaces: str | None = None) -> tuple[Application, Decision, bool]:
        """beslut: the decision document (outcome per item, amounts, period, reasons, legal basis, delegation,
        appeal guidance) is sealed and signed by the deciding staff device; that it is decided, by whom, when,
        and later the day the citizen received it, is metadata. `replaces`: a new decision that changes an
        earlier one on a decided application (the earlier stays readable)."""
        app, case = await self._application(user, application_id, Action.APPLICATION_HANDLE)
        rec = await self._record(user, device_id, raw, KIND_DECISION, case.unit_id, case.id, grants,
                                 case.citizen_id, case, ())
        # A correction replaces a decision: on the decided application, or on one reopened for it (assessing).
        allowed = ("decided", *OPEN) if replaces else OPEN
        app, decision, new = await self.astore.decide(app.id, rec, now_ms(), allowed, replaces)
        if new:
            self.notify(app, case, "decided")
            await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return app, decision, new

    async def decisions(self, user: User, application_id: str) -> Sequence[Decision]:
        await self._application(user, application_id, Action.APPLICATION_READ)
        return await self.astore.decisions(application_id)

    async def _decision(self, user: User, decision_id: str, action: Action) -> tuple[Decision, Application, Case]:
        decision = await self.astore.decision(decision_id)
        if decision is None:
            raise NotFound("no such decision", code="unknown_decision")
        app, case = await self._application(user, decision.application_id, action)
        return decision, app, case

    async def received(self, user: User, device_id: str, decision_id: str) -> tuple[Decision, Application, bool]:
        """delgivning: a device of the citizen's opened the decision (its record verified and decrypted there).
        The first time is the day they received it, from which the three weeks to appeal run (FL 44 §); later
        openings change nothing. Only the citizen's own, active device counts, not staff reading it."""
        decision, app, case = await self._decision(user, decision_id, Action.DECISION_RECEIVE)
        await session_device(self.store, user, device_id)  # their own, not revoked
        decision, new = await self.astore.mark_received(decision.id, now_ms(), "app", device_id, user.id)
        if new:
            self.notify(app, case, "decision_received")
        return decision, app, new

    async def posted(self, user: User, decision_id: str, posted_at: int, received_at: int | None
                     ) -> tuple[Decision, Application]:
        """A decision also sent on paper by post (for someone without the app, DOMAIN rule 13), on `posted_at`;
        with `received_at` when the unit knows the day the person received it (a receipt, delgivningskvitto).
        Without it the three weeks have no known start until a device of theirs opens the decision."""
        decision, app, case = await self._decision(user, decision_id, Action.APPLICATION_HANDLE)
        today = swedish_day(now_ms())  # days are Swedish calendar days
        if not swedish_day(decision.decided_at) <= swedish_day(posted_at) <= today:
            raise InvalidInput("the post date is between the decision and today", code="invalid_field")
        if received_at is not None and not swedish_day(posted_at) <= swedish_day(received_at) <= today:
            raise InvalidInput("the day received is between the post date and today", code="invalid_field")
        decision = await self.astore.mark_posted(decision.id, posted_at, user.id)
        if received_at is not None:
            decision, _ = await self.astore.mark_received(decision.id, received_at, "staff", None, user.id)
        self.notify(app, case, "decision_posted")
        return decision, app

    # -- kommunicering (FL 25 §) -------------------------------------------------------------------------------
    async def communicate(self, user: User, device_id: str, application_id: str, raw: bytes,
                          grants: Sequence[GrantUpload], blobs: Sequence[str], method: str,
                          due_at: int | None) -> Application:
        """Before a decision that goes against the citizen, the unit shares what it rests on (chosen journal
        entries, documents, a summary: sealed) and gives a time to answer (`due_at`, metadata). In Samtal
        (`app`), the citizen answers here by then. Done by phone, in person or by letter, staff record it (the
        record says what was shared and what the citizen said); with a `due_at` the unit still waits for an
        answer, without one the answer is in the record and the assessment goes on."""
        app, case = await self._application(user, application_id, Action.APPLICATION_HANDLE)
        if method not in COMMUNICATION_METHODS:
            raise InvalidInput(f"method is one of {', '.join(COMMUNICATION_METHODS)}", code="invalid_field")
        now = now_ms()
        if due_at is None and method == "app":
            raise InvalidInput("kommunicering in Samtal has a date to answer by", code="invalid_field")
        if due_at is not None and not now - DAY_MS < due_at <= now + MAX_DUE_MS:
            raise InvalidInput("the date to answer by is today or later, and within a year", code="invalid_field")
        rec = await self._record(user, device_id, raw, KIND_COMMUNICATION, case.unit_id, case.id, grants,
                                 case.citizen_id, case, blobs)
        app, new = await self.astore.step(app.id, "communicated", user.id, method != "app", now, OPEN, rec, due_at,
                                          status="communicated" if due_at is not None else "assessing",
                                          detail={"method": method})
        if new:
            self.notify(app, case, "communicated")
            if method == "app":
                await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return app

    async def answer_communication(self, user: User, device_id: str, application_id: str, raw: bytes,
                                   grants: Sequence[GrantUpload], blobs: Sequence[str]) -> Application:
        """The citizen's answer to the shared decision basis: text and attachments, sealed. Also after the
        date (the unit decides what a late answer means), never after the decision."""
        app, case = await self._application(user, application_id, Action.APPLICATION_SUPPLEMENT)
        rec = await self._record(user, device_id, raw, KIND_COMMUNICATION_REPLY, case.unit_id, case.id, grants,
                                 case.citizen_id, case, blobs)
        app, new = await self.astore.step(app.id, "communication_answered", user.id, False, now_ms(),
                                          ("communicated", "communication_answered"), rec)
        if new:
            self.notify(app, case, "communication_answered")
        return app

    # -- withdrawal and reopening -------------------------------------------------------------------------------
    async def withdraw(self, user: User, application_id: str) -> Application:
        """The citizen takes back an application not yet decided (återkallelse); staff record it for a citizen
        who asked by phone, in person or by letter (on their behalf, DOMAIN rule 13). Final, like a decision."""
        on_behalf = user.role != Role.CITIZEN
        action = Action.APPLICATION_HANDLE if on_behalf else Action.APPLICATION_SUPPLEMENT
        app, case = await self._application(user, application_id, action)
        app, new = await self.astore.step(app.id, "withdrawn", user.id, on_behalf, now_ms(), OPEN)
        if new:
            self.notify(app, case, "withdrawn")
            if on_behalf:
                await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return app

    async def reopen(self, user: User, application_id: str) -> Application:
        """Staff take a decided application up again (omprövning, FL 37-38 §§): it is assessed again, and a new
        decision (naming the one it changes) is what changes the outcome; the old decision stays readable."""
        app, case = await self._application(user, application_id, Action.APPLICATION_HANDLE)
        app, new = await self.astore.step(app.id, "reopened", user.id, False, now_ms(), ("decided",),
                                          status="assessing")
        if new:
            self.notify(app, case, "reopened")
            await notifications.something_new(self.store, case.id, NOTIFY_KIND, by=user)
        return app

    async def add_grants(self, user: User, device_id: str, application_id: str, record_id: str,
                         grants: Sequence[GrantUpload]) -> int:
        """More readers for a stored record: the case key (so that every device of the case can read it), or a
        citizen's new device. Staff of the unit for any record, the citizen for their own."""
        app, case = await self._application(user, application_id, Action.APPLICATION_READ)
        found = await self.astore.record(record_id)
        if found is None or found[0] != app.id:
            raise NotFound("no such record in this application", code="unknown_record")
        stored = found[1]
        if not user.is_staff and stored.author != user.id:
            raise Forbidden("a citizen grants only their own records", code="forbidden")
        signer = await session_device(self.store, user, device_id)
        checked = await self._grants(signer, parse_record(stored.data), grants, case.unit_id, case.citizen_id, case,
                                     require_unit=False)
        return await self.astore.add_grants(record_id, checked, user.id, device_id, now_ms())

    # -- attachments --------------------------------------------------------------------------------------------
    async def upload_blob(self, user: User, application_id: str, data: bytes, unit_id: str | None) -> str:
        """An encrypted attachment, before the record that names it. With `unit_id`: for an application not yet
        sent to that unit (its id chosen by the browser); without: for a supplement to an existing application."""
        if unit_id is not None:
            self._require(decide(user, Action.APPLICATION_SUBMIT, unit_id=unit_id))
            if await self.astore.get(application_id) is not None:
                raise Conflict("the application is sent already", code="record_exists")
        else:  # the citizen's (a supplement, an answer) or the unit's (documents shared in kommunicering)
            await self._application(user, application_id, Action.APPLICATION_SUPPLEMENT if user.role == Role.CITIZEN
                                    else Action.APPLICATION_HANDLE)
        blob_id = secrets.token_urlsafe(16)
        await self.astore.add_blob(blob_id, application_id, user.id, data, now_ms())
        return blob_id

    async def blob(self, user: User, application_id: str, blob_id: str) -> bytes:
        await self._application(user, application_id, Action.APPLICATION_READ)
        found = await self.astore.blob(application_id, blob_id)
        if found is None or not (found[2] or found[1] == user.id):
            raise NotFound("no such attachment", code="unknown_blob")
        return found[0]
