"""Cases and their conversation over HTTP (docs/protocol.md §14): the case list and a case, its history
(ciphertext), handled marks and encrypted attachments. Binary values travel as base64url without padding."""
from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import JSONResponse, Response

from chat.errors import Forbidden, NotFound
from chat.model import Case, Role, now_ms
from chat.pending import pending_work
from chat.policy import Action, decide, mandate_for
from crypto.encoding import b64u
from web.apischema import BOOL, ID, ID16, INT, MS, STR, array, integer, nullable, obj
from web.httpapi import Ctx, RouteTable
from web.keys import device_view, epoch_view

api = RouteTable()

HISTORY_PAGE_MAX = 1000


CASE_VIEW = obj({
    "id": ID, "title": STR, "unit": ID, "unit_name": nullable(STR), "citizen": ID, "citizen_name": nullable(STR),
    "assigned_to": nullable(ID), "assigned_name": nullable(STR), "status": STR, "created_at": MS, "last_seq": INT,
    "key_epoch": INT, "protected_identity": BOOL, "last_message_at": nullable(MS), "waiting_since": nullable(MS),
    "unread": INT, "handled": BOOL, "assigned_usual_reply_seconds": nullable(INT), "may_answer": BOOL,
    "answering": nullable(obj({"user": ID, "name": STR, "substitute_for": nullable(ID), "until": nullable(MS)})),
    # A representative's view of a case they act in for someone else ("för Dana Karlsson"), else null.
    "on_behalf": nullable(obj({"citizen_name": nullable(STR), "kind": STR, "scopes": array(STR), "ends_at": MS,
                               "mandate": INT}))})
MESSAGE_VIEW = obj({"seq": INT, "msg_id": ID16, "sender": ID, "sender_device": ID, "env": STR, "stored_at": MS})


async def case_view(ctx: Ctx, case: Case) -> dict[str, Any]:
    return (await case_views(ctx, [case]))[0]


async def case_views(ctx: Ctx, cases: list[Case]) -> list[dict[str, Any]]:
    """What a case list shows of each case: metadata only. The messages' figures come in one statement per
    few hundred cases (Storage.case_activities); users, units, epochs and substitutions are cached."""
    store = ctx.services.store
    activities = await store.case_activities([c.id for c in cases], ctx.user.id)
    units = {unit_id: await store.get_unit(unit_id) for unit_id in {c.unit_id for c in cases}}
    acting_for = {unit_id: await ctx.services.assignments.acting_for(ctx.user, unit_id) for unit_id in units}
    pending = await pending_work(store, ctx.user, cases)
    views = []
    for case in cases:
        citizen = await store.get_user(case.citizen_id)
        assigned = await store.get_user(case.assigned_to) if case.assigned_to else None
        unit = units[case.unit_id]
        last_seq, activity = activities[case.id]
        answering = await ctx.services.assignments.answering(case)
        answerer = await store.get_user(answering.user_id) if answering else None
        mandate = mandate_for(ctx.user, case) if ctx.user.role == Role.CITIZEN else None
        views.append({
            "id": case.id, "title": case.title, "unit": case.unit_id, "unit_name": unit.name if unit else None,
            "citizen": case.citizen_id, "citizen_name": citizen.display_name if citizen else None,
            "assigned_to": case.assigned_to, "assigned_name": assigned.display_name if assigned else None,
            "status": case.status, "created_at": case.created_at, "last_seq": last_seq,
            "key_epoch": await store.current_case_epoch(case.id),
            "protected_identity": await ctx.services.protection.is_protected(case.citizen_id),
            "last_message_at": activity.last_message_at, "waiting_since": activity.waiting_since,
            "unread": activity.unread, "handled": activity.handled,
            # What waits in the case for this person: metadata only (chat/pending.py).
            "pending": pending[case.id],
            "assigned_usual_reply_seconds": await ctx.services.reply_times.usual_seconds(case.unit_id),
            # Whether this user may write in the case now (the policy's answer), so that a page offers no
            # composer the server would refuse and can say who answers instead.
            "may_answer": bool(decide(ctx.user, Action.CASE_WRITE, case=case, acting_for=acting_for[case.unit_id])),
            # Who answers now: the assigned caseworker, or their substitute (vikarie) for a period.
            "answering": None if answering is None or answerer is None else {
                "user": answering.user_id, "name": answerer.display_name,
                "substitute_for": answering.substitute_for, "until": answering.until},
            "on_behalf": None if mandate is None else {
                "citizen_name": citizen.display_name if citizen else None, "kind": mandate.kind.value,
                "scopes": sorted(s.value for s in mandate.scopes), "ends_at": mandate.ends_at,
                "mandate": mandate.id}})
    return views

# -- cases -----------------------------------------------------------------------------------------------

@api("/api/cases", "GET", action=Action.CASE_LIST, response=obj({"cases": array(CASE_VIEW), "generation": STR}))
async def list_cases(ctx: Ctx) -> Response:
    store, user = ctx.services.store, ctx.user
    if user.role == Role.CITIZEN:
        # Their own cases, then those they act in for someone else now (representatives and guardians).
        cases = await store.cases_of_citizen(user.id)
        cases += [case for case, _ in await ctx.services.mandates.represented_cases(user)]
    elif user.is_staff and user.unit_id:
        cases = await store.cases_of_unit(user.unit_id)
    else:
        raise Forbidden("this role has no cases", code="forbidden")
    # generation: what the cases' last_seq belong to (docs/protocol.md §14.3)
    return JSONResponse({"cases": await case_views(ctx, cases), "generation": ctx.services.generation})


@api("/api/cases/{case_id}", "GET", action=Action.CASE_READ, response=obj({"case": CASE_VIEW}))
async def get_case(ctx: Ctx) -> Response:
    case = ctx.case
    store = ctx.services.store
    citizen_devices = [device_view(d) for d in await store.devices_of_user(case.citizen_id) if d.active]
    view = await case_view(ctx, case)
    view["citizen_devices"] = citizen_devices
    # Who acts or acted for the citizen: their messages are shown under their names, as the citizen's
    # representatives' (docs/representatives.md); ended mandates too, for what they wrote then.
    view["representatives"] = [
        {"holder": m.holder, "name": holder.display_name if holder else None, "kind": m.kind.value,
         "in_force": m.in_force(now_ms())}
        for m in await store.mandates.of_case(case.id) for holder in [await store.get_user(m.holder)]]
    if ctx.user.is_staff:  # the key work wraps the case key to these too (docs/representatives.md, Keys)
        view["representative_devices"] = [device_view(d) for d in
                                          await ctx.services.keys.representative_devices(case)]
    view["unit_key_epochs"] = [epoch_view(e) for e in await store.unit_key_epochs(case.unit_id)]
    view["receipts"] = [{"user": r.user_id, "delivered_seq": r.delivered_seq, "read_seq": r.read_seq}
                        for r in await store.receipts_of_case(case.id)]
    # Each staff message is shown with its author's name, to the citizen too (a colleague's message under
    # the unit's name told nobody who wrote it); the names of the people who may write in the case.
    view["staff_names"] = {u.id: u.display_name for u in await store.staff_of_unit(case.unit_id)}
    return JSONResponse({"case": view})

@api("/api/cases/{case_id}/messages", "GET", action=Action.CASE_READ, query={"after": INT, "limit": integer(1, HISTORY_PAGE_MAX)},
     response=obj({"messages": array(MESSAGE_VIEW, HISTORY_PAGE_MAX), "generation": STR}))
async def case_history(ctx: Ctx) -> Response:
    after, limit = ctx.query_int("after", 0), ctx.query_int("limit", 200, 1, HISTORY_PAGE_MAX)
    messages = await ctx.services.messages.history(ctx.user, ctx.case.id, after, limit)
    return JSONResponse({"messages": [{"seq": m.seq, "msg_id": m.msg_id, "sender": m.sender_user,
                                       "sender_device": m.sender_device, "env": b64u(m.envelope),
                                       "stored_at": m.stored_at} for m in messages],
                         "generation": ctx.services.generation})


@api("/api/cases/{case_id}/handled", "POST", action=Action.CASE_HANDLE, body=obj({"handled": BOOL}),
     response=obj({"handled": BOOL}))
async def mark_handled(ctx: Ctx) -> Response:
    case = ctx.case
    handled = (await ctx.body()).bool("handled")
    await ctx.services.store.set_handled(case.id, ctx.user.id if handled else None, now_ms() if handled else None)
    return JSONResponse({"handled": handled})


@api("/api/cases/{case_id}/blobs", "POST", action=Action.CASE_WRITE, status=201, upload=True,
     response=obj({"blob_id": STR, "size": INT}))
async def upload_blob(ctx: Ctx) -> Response:
    """An encrypted attachment. The size is checked while the body streams in, before it is all read."""
    case = ctx.case
    data = await ctx.encrypted_upload()
    blob_id = secrets.token_urlsafe(16)
    await ctx.services.store.add_blob(blob_id, case.id, ctx.user.id, data, now_ms())
    return JSONResponse({"blob_id": blob_id, "size": len(data)}, status_code=201)


@api("/api/cases/{case_id}/blobs/{blob_id}", "GET", action=Action.CASE_READ, media="application/octet-stream")
async def download_blob(ctx: Ctx) -> Response:
    case = ctx.case
    data = await ctx.services.store.get_blob(case.id, ctx.request.path_params["blob_id"])
    if data is None:
        raise NotFound("no such attachment", code="unknown_blob")
    return Response(data, media_type="application/octet-stream")
