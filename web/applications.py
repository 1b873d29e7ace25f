"""Ansökan over HTTP (docs/protocol.md §14.1, docs/applications.md): the forms, sending and registering
applications, their timeline, the unit's steps and the citizen's supplements, encrypted attachments; and the
live `application` frame that tells the case's people a status changed. Records, grants and attachments are
ciphertext; binary values travel as base64url."""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from chat.applications import decision_texts
from chat.applications.deadline import appeal_deadline, day_end_ms, swedish_day
from chat.applications.forms import FormCatalogue, FormDefinitionError
from chat.applications.service import Applications, ApplicationView
from chat.audit.auditor import Auditor
from chat.errors import InvalidInput
from chat.model import Case
from chat.policy import Action
from chat.storage.applications import Application, Decision, Event, StoredRecord
from crypto.encoding import b64u
from web import frames
from web.apischema import (
    ANY_OBJECT,
    BOOL,
    EPOCH,
    ID,
    MS,
    RECORD_GRANT_VIEW,
    SEALED,
    STR,
    UPLOADED,
    array,
    base64url,
    integer,
    nullable,
    obj,
)
from web.httpapi import Body, Ctx, RouteTable
from web.sealed_input import blobs as _blobs
from web.sealed_input import grants as _grants
from web.sealed_input import names as _names
from web.sealed_input import record as _record
from web.sealed_input import record_body as _body
from web.sealed_input import record_id

api = RouteTable()  # this feature's routes, listed in web/app.py

if TYPE_CHECKING:
    from chat.cases.assignment import Assignments
    from chat.messaging.hub import Hub
    from chat.storage import Storage
    from web.config import Settings


def build(settings: Settings, store: Storage, hub: Hub, assignments: Assignments) -> Applications:
    """The applications service of one server; the form definitions are checked here, at start-up."""
    try:
        catalogue = FormCatalogue(settings.forms_dir)
        texts = decision_texts.load(settings.forms_dir)
    except FormDefinitionError as error:
        raise SystemExit(f"a form definition is not valid: {error}") from None

    def notify(app: Application, case: Case, what: str) -> None:
        frame = frames.application_frame(app.id, case.id, case.unit_id, app.status, what, app.updated_at)
        hub.publish_user(case.citizen_id, frame)
        hub.publish_unit_staff(case.unit_id, frame)
        pending = frames.pending_frame(case.id, "application", app.updated_at)
        hub.publish_user(case.citizen_id, pending)
        hub.publish_unit_staff(case.unit_id, pending)

    def keys_pending(unit_id: str) -> None:
        hub.publish_unit_staff(unit_id, frames.KEYS_PENDING)

    return Applications(store, store.applications, catalogue, assignments, notify, keys_pending, texts)


def _service(ctx: Ctx) -> Applications:
    return ctx.services.applications


async def _audit(ctx: Ctx, what: str, app: Application, **detail: Any) -> None:
    """An audit row that names the case and unit (the route's own row has neither: its path names the
    application), so that the unit's log reviewer finds every read and step of an application."""
    await Auditor(ctx.services.store).record(ctx.user, what, "allowed", case_id=app.case_id, unit_id=app.unit_id,
                                             detail={"application": app.id, **detail})


# -- views --------------------------------------------------------------------------------------------------
AWAITING_UNIT = ("received", "supplemented", "communication_answered", "appealed")

APPLICATION_VIEW = obj({
    "id": ID, "unit_id": ID, "case_id": ID, "citizen": ID, "citizen_name": nullable(STR), "form_id": STR,
    "form_version": integer(), "status": STR, "submitted_by": ID, "submitted_by_name": nullable(STR),
    "on_behalf": BOOL, "opened_case": BOOL, "submitted_at": MS, "updated_at": MS, "due_at": nullable(MS),
    "awaiting_unit": BOOL})
ONE_APPLICATION = obj({"application": APPLICATION_VIEW})
EVENT_VIEW = obj({"kind": STR, "actor": ID, "actor_name": nullable(STR), "on_behalf": BOOL, "record_id": nullable(ID),
                  "due_at": nullable(MS), "at": MS, "detail": ANY_OBJECT})
DAY = {"type": ["string", "null"], "format": "date", "description": "a Swedish calendar day, YYYY-MM-DD"}
DECISION_VIEW = obj({
    "id": ID, "application_id": ID, "case_id": ID, "decided_by": ID, "decided_by_name": nullable(STR),
    "decided_device": ID, "decided_at": MS, "replaces": nullable(ID), "delivery": STR, "posted_at": nullable(MS),
    "posted_by": nullable(ID), "posted_by_name": nullable(STR), "received_at": nullable(MS),
    "received_via": nullable(STR), "received_on": DAY, "appeal_deadline": DAY, "appeal_deadline_end": nullable(MS)})
RECORD_VIEW = obj({"id": ID, "kind": STR, "author": ID, "author_device": ID, "data": SEALED, "created_at": MS})
FULL_VIEW = obj({
    "application": {**APPLICATION_VIEW, "properties": {
        **APPLICATION_VIEW["properties"], "case_status": STR,
        "case_key_epoch": integer(0, 2**32 - 1, description="0 while the case has no key"),
        "citizen_devices": array(ID)}},
    "events": array(EVENT_VIEW), "decisions": array(DECISION_VIEW), "records": array(RECORD_VIEW),
    "grants": array(RECORD_GRANT_VIEW)})
FORMS = obj({
    "units": array(obj({"id": ID, "name": STR, "forms": array(STR), "key_epoch": nullable(obj({
        "epoch": EPOCH, "public_key": base64url(32), "created_by_device": ID, "signature": base64url(64)}))})),
    "forms": array({**ANY_OBJECT, "description": "a form's definition (docs/applications.md)"})})


def application_view(app: Application, names: dict[str, str]) -> dict[str, Any]:
    return {"id": app.id, "unit_id": app.unit_id, "case_id": app.case_id, "citizen": app.citizen_id,
            "citizen_name": names.get(app.citizen_id), "form_id": app.form_id, "form_version": app.form_version,
            "status": app.status, "submitted_by": app.submitted_by, "submitted_by_name": names.get(app.submitted_by),
            "on_behalf": app.on_behalf, "opened_case": app.opened_case, "submitted_at": app.submitted_at,
            "updated_at": app.updated_at, "due_at": app.due_at,
            # For the unit: something waits for it (a new application, the citizen's supplement or their answer
            # to the shared decision basis).
            "awaiting_unit": app.status in AWAITING_UNIT}


def event_view(e: Event, names: dict[str, str]) -> dict[str, Any]:
    return {"kind": e.kind, "actor": e.actor, "actor_name": names.get(e.actor), "on_behalf": e.on_behalf,
            "record_id": e.record_id, "due_at": e.due_at, "at": e.at, "detail": e.detail or {}}


def record_view(r: StoredRecord) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "author": r.author, "author_device": r.author_device, "data": b64u(r.data),
            "created_at": r.created_at}


def decision_view(d: Decision, names: dict[str, str]) -> dict[str, Any]:
    """A decision's metadata (docs/applications.md, "The decision"): never its content. `received_on` is the
    Swedish calendar day the citizen received it, `appeal_deadline` the last day an appeal is in time (FL 44 §,
    lag (1930:173)) and `appeal_deadline_end` that day's last millisecond; all three null while not received."""
    received = swedish_day(d.received_at) if d.received_at is not None else None
    deadline = appeal_deadline(received) if received else None
    return {"id": d.id, "application_id": d.application_id, "case_id": d.case_id, "decided_by": d.decided_by,
            "decided_by_name": names.get(d.decided_by), "decided_device": d.decided_device,
            "decided_at": d.decided_at, "replaces": d.replaces, "delivery": d.delivery, "posted_at": d.posted_at,
            "posted_by": d.posted_by, "posted_by_name": names.get(d.posted_by or ""),
            "received_at": d.received_at, "received_via": d.received_via,
            "received_on": received.isoformat() if received else None,
            "appeal_deadline": deadline.isoformat() if deadline else None,
            "appeal_deadline_end": day_end_ms(deadline) if deadline else None}


async def decisions_view(ctx: Ctx, decisions: list[Decision]) -> list[dict[str, Any]]:
    names = await _names(ctx, {d.decided_by for d in decisions} | {d.posted_by for d in decisions})
    return [decision_view(d, names) for d in decisions]


async def full_view(ctx: Ctx, view: ApplicationView) -> dict[str, Any]:
    app = view.application
    names = await _names(ctx, {app.citizen_id, app.submitted_by} | {e.actor for e in view.events})
    citizen_devices = [d.id for d in await ctx.services.store.devices_of_user(app.citizen_id) if d.active]
    return {"application": {**application_view(app, names), "case_status": view.case.status,
                            "case_key_epoch": await ctx.services.store.current_case_epoch(app.case_id),
                            "citizen_devices": citizen_devices},
            "events": [event_view(e, names) for e in view.events],
            "decisions": await decisions_view(ctx, view.decisions),
            "records": [record_view(r) for r in view.records],
            "grants": [{"record_id": g.record_id, "recipient": g.recipient, "grant": b64u(g.grant),
                        "signature": b64u(g.signature), "granted_by_device": g.granted_by_device,
                        "created_at": g.created_at} for g in view.grants]}


# -- routes --------------------------------------------------------------------------------------------------
@api("/api/forms", "GET", action=Action.APPLICATION_FORMS, response=FORMS)
async def forms(ctx: Ctx) -> Response:
    """The units that take applications, the definitions of their forms, and each unit's current key epoch
    (public, signed by the staff device that made it) for the browser to verify and seal to."""
    listing, epochs = await _service(ctx).forms()
    for unit in listing["units"]:
        epoch = epochs.get(unit["id"])
        unit["key_epoch"] = None if epoch is None else {
            "epoch": epoch.epoch, "public_key": b64u(epoch.public_key), "created_by_device": epoch.created_by_device,
            "signature": b64u(epoch.signature)}
    return JSONResponse(listing)


@api("/api/applications", "GET", action=Action.CASE_LIST, response=obj({"applications": array(APPLICATION_VIEW)}))
async def list_applications(ctx: Ctx) -> Response:
    """The citizen's own applications, or the staff member's unit's (`?case=` for one case's)."""
    apps = await _service(ctx).list(ctx.user, ctx.request.query_params.get("case") or None)
    names = await _names(ctx, {a.citizen_id for a in apps} | {a.submitted_by for a in apps})
    return JSONResponse({"applications": [application_view(a, names) for a in apps]})


def _assign_to_me(body: Body) -> bool:
    value = body.data.get("assign_to_me", True)
    if not isinstance(value, bool):
        raise InvalidInput("assign_to_me must be true or false", code="invalid_field")
    return value


@api("/api/units/{unit_id}/applications", "POST", action=Action.APPLICATION_SUBMIT, status=201, also=(200,),
     response=obj({"application": APPLICATION_VIEW, "case_id": ID, "duplicate": BOOL}))
async def submit(ctx: Ctx) -> Response:
    """Send an application (a citizen), or register a paper one for `citizen_id` (the unit's staff)."""
    body = await _body(ctx)
    app, case, new = await _service(ctx).submit(
        ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"], body.str("form_id", 64),
        body.int("form_version", 1, 10**6), _record(body), _grants(body), _blobs(body),
        body.str("citizen_id", 64, required=False), _assign_to_me(body))
    if new:
        await _audit(ctx, "application.submitted", app, form=app.form_id, on_behalf=app.on_behalf,
                     opened_case=app.opened_case, assigned_to=case.assigned_to if app.opened_case else None)
    names = await _names(ctx, {app.citizen_id, app.submitted_by})
    return JSONResponse({"application": application_view(app, names), "case_id": case.id,
                         "duplicate": not new}, status_code=201 if new else 200)


@api("/api/units/{unit_id}/applications/{application_id}/blobs", "POST", action=Action.APPLICATION_SUBMIT, upload=True, status=201,
     response=UPLOADED)
async def upload_for_new(ctx: Ctx) -> Response:
    """An encrypted attachment of an application about to be sent (its id is the browser's record id)."""
    application_id = record_id(ctx, "application_id", "an application")
    data = await ctx.encrypted_upload()
    blob_id = await _service(ctx).upload_blob(ctx.user, application_id, data, ctx.request.path_params["unit_id"])
    return JSONResponse({"blob_id": blob_id, "size": len(data)}, status_code=201)


@api("/api/applications/{application_id}", "GET", action=Action.APPLICATION_READ, response=FULL_VIEW)
async def get_application(ctx: Ctx) -> Response:
    view = await _service(ctx).view(ctx.user, ctx.device_id, record_id(ctx, "application_id", "an application"))
    await _audit(ctx, "application.read", view.application)
    return JSONResponse(await full_view(ctx, view))


@api("/api/applications/{application_id}/blobs", "POST", action=Action.APPLICATION_READ, upload=True, status=201,
     response=UPLOADED)
async def upload_for_supplement(ctx: Ctx) -> Response:
    """An encrypted attachment of a step: the citizen's (a supplement, an answer) or the unit's (documents it
    shares in kommunicering); the service decides which of them may add one."""
    application_id = record_id(ctx, "application_id", "an application")
    data = await ctx.encrypted_upload()
    blob_id = await _service(ctx).upload_blob(ctx.user, application_id, data, None)
    return JSONResponse({"blob_id": blob_id, "size": len(data)}, status_code=201)


@api("/api/applications/{application_id}/blobs/{blob_id}", "GET", action=Action.APPLICATION_READ, media="application/octet-stream")
async def download_blob(ctx: Ctx) -> Response:
    application_id = record_id(ctx, "application_id", "an application")
    service = _service(ctx)
    data = await service.blob(ctx.user, application_id, ctx.request.path_params["blob_id"])
    app = await service.astore.get(application_id)
    if app is not None:
        await _audit(ctx, "application.attachment.read", app, blob=ctx.request.path_params["blob_id"])
    return Response(data, media_type="application/octet-stream")


async def step_answer(ctx: Ctx, app: Application, what: str) -> Response:
    await _audit(ctx, f"application.{what}", app, status=app.status)
    return JSONResponse({"application": application_view(app, await _names(ctx, {app.citizen_id,
                                                                                   app.submitted_by}))})


@api("/api/applications/{application_id}/status", "POST", action=Action.APPLICATION_HANDLE, response=ONE_APPLICATION)
async def set_status(ctx: Ctx) -> Response:
    """(staff) The application is being assessed (under utredning)."""
    body = await ctx.body()
    if body.str("status", 32) != "assessing":
        raise InvalidInput("status is assessing; completion and decisions have routes of their own",
                           code="invalid_field")
    return await step_answer(ctx, await _service(ctx).assess(ctx.user, record_id(ctx, "application_id", "an application")), "assessing")


@api("/api/applications/{application_id}/completion-requests", "POST", action=Action.APPLICATION_HANDLE,
     response=ONE_APPLICATION)
async def request_completion(ctx: Ctx) -> Response:
    """(staff) Ask for completion: what, sealed in the record; by when, `due_at` (ms)."""
    body = await _body(ctx)
    app = await _service(ctx).request_completion(ctx.user, ctx.require_device(), record_id(ctx, "application_id", "an application"),
                                                  _record(body), _grants(body), body.int("due_at"))
    return await step_answer(ctx, app, "completion_requested")


@api("/api/applications/{application_id}/supplements", "POST", action=Action.APPLICATION_SUPPLEMENT,
     response=ONE_APPLICATION)
async def supplement(ctx: Ctx) -> Response:
    """(the citizen) What was asked for: text and attachments, sealed."""
    body = await _body(ctx)
    app = await _service(ctx).supplement(ctx.user, ctx.require_device(), record_id(ctx, "application_id", "an application"), _record(body),
                                         _grants(body), _blobs(body))
    return await step_answer(ctx, app, "supplemented")


@api("/api/applications/{application_id}/decision", "POST", action=Action.APPLICATION_HANDLE,
     response=obj({"application": APPLICATION_VIEW, "decision": DECISION_VIEW, "duplicate": BOOL}))
async def record_decision(ctx: Ctx) -> Response:
    """(staff) The decision (beslut): a sealed document signed by this staff device; `replaces` names an earlier
    decision on the application that it changes."""
    body = await _body(ctx)
    replaces = body.str("replaces", 22, required=False)
    app, decision, new = await _service(ctx).decide(
        ctx.user, ctx.require_device(), record_id(ctx, "application_id", "an application"), _record(body),
        _grants(body), replaces)
    if new:
        await _audit(ctx, "application.decided", app, status=app.status, decision=decision.id, replaces=replaces)
    names = await _names(ctx, {app.citizen_id, app.submitted_by, decision.decided_by})
    return JSONResponse({"application": application_view(app, names), "decision": decision_view(decision, names),
                         "duplicate": not new})


def _day(body: Body, name: str, required: bool = True) -> int | None:
    """A `YYYY-MM-DD` day of the body as the ms of its start in Sweden."""
    value = body.str(name, 10, required=required)
    if not value:
        return None
    try:
        return day_end_ms(date.fromisoformat(value) - timedelta(days=1)) + 1
    except ValueError:
        raise InvalidInput(f"{name} is a day, YYYY-MM-DD", code="invalid_field") from None


@api("/api/decisions/{decision_id}/received", "POST", action=Action.DECISION_RECEIVE,
     response=obj({"decision": DECISION_VIEW, "recorded_now": BOOL}))
async def decision_received(ctx: Ctx) -> Response:
    """(the citizen's device, having opened and verified the decision) The day they received it: recorded the
    first time only (delgivning); the appeal deadline runs from it."""
    service = _service(ctx)
    decision, app, new = await service.received(ctx.user, ctx.require_device(),
                                                record_id(ctx, "decision_id", "a decision"))
    if new:
        await _audit(ctx, "application.decision.received", app, decision=decision.id)
    names = await _names(ctx, {decision.decided_by})
    return JSONResponse({"decision": decision_view(decision, names), "recorded_now": new})


@api("/api/decisions/{decision_id}/posted", "POST", action=Action.APPLICATION_HANDLE,
     response=obj({"decision": DECISION_VIEW}))
async def decision_posted(ctx: Ctx) -> Response:
    """(staff) The decision was sent on paper by post, on `posted_on`; `received_on` when the unit knows the day
    the person received it (a returned receipt)."""
    body = await ctx.body()
    posted_at = _day(body, "posted_on")
    assert posted_at is not None
    decision, app = await _service(ctx).posted(ctx.user, record_id(ctx, "decision_id", "a decision"), posted_at,
                                               _day(body, "received_on", required=False))
    await _audit(ctx, "application.decision.posted", app, decision=decision.id,
                 received_known=decision.received_via == "staff")
    names = await _names(ctx, {decision.decided_by, decision.posted_by})
    return JSONResponse({"decision": decision_view(decision, names)})


@api("/api/applications/{application_id}/records/{record_id}/grants", "POST", action=Action.APPLICATION_READ, status=201,
     response=obj({"added": integer(description="how many grants were new")}))
async def add_grants(ctx: Ctx) -> Response:
    """More readers for a record: the case key, or a citizen's new device."""
    body = await ctx.body()
    application_id = record_id(ctx, "application_id", "an application")
    service = _service(ctx)
    added = await service.add_grants(ctx.user, ctx.require_device(), application_id,
                                     ctx.request.path_params["record_id"], _grants(body))
    app = await service.astore.get(application_id)
    if app is not None:
        await _audit(ctx, "application.grant", app, record=ctx.request.path_params["record_id"], added=added)
    return JSONResponse({"added": added}, status_code=201)


@api("/api/applications/{application_id}/communications", "POST", action=Action.APPLICATION_HANDLE,
     response=ONE_APPLICATION)
async def communicate(ctx: Ctx) -> Response:
    """(staff) Kommunicering (FL 25 §): the decision basis, sealed, with `due_at` to answer by; `method` is
    `app`, or how it was done outside Samtal (`phone`, `in_person`, `letter`)."""
    body = await _body(ctx)
    due_at = body.int("due_at") if "due_at" in body.data and body.data["due_at"] is not None else None
    app = await _service(ctx).communicate(ctx.user, ctx.require_device(), record_id(ctx, "application_id", "an application"),
                                          _record(body), _grants(body), _blobs(body), body.str("method", 16), due_at)
    return await step_answer(ctx, app, "communicated")


@api("/api/applications/{application_id}/communication-answers", "POST", action=Action.APPLICATION_SUPPLEMENT,
     response=ONE_APPLICATION)
async def answer_communication(ctx: Ctx) -> Response:
    """(the citizen) The answer to the shared decision basis: text and attachments, sealed."""
    body = await _body(ctx)
    app = await _service(ctx).answer_communication(ctx.user, ctx.require_device(),
                                                   record_id(ctx, "application_id", "an application"), _record(body),
                                                   _grants(body), _blobs(body))
    return await step_answer(ctx, app, "communication_answered")


@api("/api/applications/{application_id}/withdrawal", "POST", action=Action.APPLICATION_READ, response=ONE_APPLICATION)
async def withdraw(ctx: Ctx) -> Response:
    """The citizen withdraws an undecided application, or staff record that they asked to (on their behalf)."""
    app = await _service(ctx).withdraw(ctx.user, record_id(ctx, "application_id", "an application"))
    return await step_answer(ctx, app, "withdrawn")


@api("/api/applications/{application_id}/reopening", "POST", action=Action.APPLICATION_HANDLE, response=ONE_APPLICATION)
async def reopen(ctx: Ctx) -> Response:
    """(staff) A decided application is taken up again; a new decision changes it."""
    app = await _service(ctx).reopen(ctx.user, record_id(ctx, "application_id", "an application"))
    return await step_answer(ctx, app, "reopened")
