"""The HTTP API the clients use: demo login, devices, unit and case keys, cases and history.
Binary values travel as base64url without padding. See docs/protocol.md, section Transport."""
from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from starlette.responses import JSONResponse, Response

from chat.audit.chain import AuditRow
from chat.audit.review import AuditFilter
from chat.errors import Forbidden, InvalidInput, NotFound
from chat.model import (
    Case,
    CaseKeyWrap,
    Device,
    Role,
    Substitution,
    UnitKeyEpoch,
    UnitKeyGrant,
    User,
    now_ms,
)
from chat.policy import Action, decide
from crypto.encoding import b64u
from crypto.errors import MalformedError
from crypto.keys import DevicePublicKeys
from crypto.wrap import WrappedKey
from web import frames
from web.httpapi import PUBLIC, Body, Ctx, api
from web.problems import problem

log = logging.getLogger("samtal.routes")

HISTORY_PAGE_MAX = 1000


def user_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role.value,
            "unit_id": user.unit_id}


def device_view(device: Device) -> dict[str, Any]:
    keys = DevicePublicKeys(device.sign_pub, device.kem_pub)
    return {"id": device.id, "user_id": device.user_id, "label": device.label, "sign_pub": b64u(device.sign_pub),
            "kem_pub": b64u(device.kem_pub), "fingerprint": keys.fingerprint(), "created_at": device.created_at,
            "revoked_at": device.revoked_at}


def epoch_view(e: UnitKeyEpoch) -> dict[str, Any]:
    return {"epoch": e.epoch, "public_key": b64u(e.public_key), "created_by_device": e.created_by_device,
            "signature": b64u(e.signature), "created_at": e.created_at}


def grant_view(g: UnitKeyGrant) -> dict[str, Any]:
    return {"epoch": g.epoch, "device_id": g.device_id, "enc": b64u(g.enc), "ct": b64u(g.ct),
            "granted_by_device": g.granted_by_device, "signature": b64u(g.signature)}


def wrap_view(w: CaseKeyWrap) -> dict[str, Any]:
    return {"epoch": w.epoch, "recipient": w.recipient, "enc": b64u(w.enc), "ct": b64u(w.ct),
            "wrapped_by_device": w.wrapped_by_device, "signature": b64u(w.signature)}


async def case_view(ctx: Ctx, case: Case) -> dict[str, Any]:
    return (await case_views(ctx, [case]))[0]


async def case_views(ctx: Ctx, cases: list[Case]) -> list[dict[str, Any]]:
    """What a case list shows of each case: metadata only. The messages' figures come in one statement per
    few hundred cases (Storage.case_activities); users, units, epochs and substitutions are cached."""
    store = ctx.services.store
    activities = await store.case_activities([c.id for c in cases], ctx.user.id)
    units = {unit_id: await store.get_unit(unit_id) for unit_id in {c.unit_id for c in cases}}
    acting_for = {unit_id: await ctx.services.assignments.acting_for(ctx.user, unit_id) for unit_id in units}
    views = []
    for case in cases:
        citizen = await store.get_user(case.citizen_id)
        assigned = await store.get_user(case.assigned_to) if case.assigned_to else None
        unit = units[case.unit_id]
        last_seq, activity = activities[case.id]
        answering = await ctx.services.assignments.answering(case)
        answerer = await store.get_user(answering.user_id) if answering else None
        views.append({
            "id": case.id, "title": case.title, "unit": case.unit_id, "unit_name": unit.name if unit else None,
            "citizen": case.citizen_id, "citizen_name": citizen.display_name if citizen else None,
            "assigned_to": case.assigned_to, "assigned_name": assigned.display_name if assigned else None,
            "status": case.status, "created_at": case.created_at, "last_seq": last_seq,
            "key_epoch": await store.current_case_epoch(case.id),
            "protected_identity": await ctx.services.protection.is_protected(case.citizen_id),
            "last_message_at": activity.last_message_at, "waiting_since": activity.waiting_since,
            "unread": activity.unread, "handled": activity.handled,
            "assigned_usual_reply_seconds": await ctx.services.reply_times.usual_seconds(case.unit_id),
            # Whether this user may write in the case now (the policy's answer), so that a page offers no
            # composer the server would refuse and can say who answers instead.
            "may_answer": bool(decide(ctx.user, Action.CASE_WRITE, case=case, acting_for=acting_for[case.unit_id])),
            # Who answers now: the assigned caseworker, or their substitute (vikarie) for a period.
            "answering": None if answering is None or answerer is None else {
                "user": answering.user_id, "name": answerer.display_name,
                "substitute_for": answering.substitute_for, "until": answering.until}})
    return views


def wrapped_items(items: list[Body], recipient_field: str) -> list[tuple[str, WrappedKey, bytes]]:
    return [(item.str(recipient_field, max_len=80), WrappedKey(item.bytes("enc", 32), item.bytes("ct", max_len=128)),
             item.bytes("signature", 64)) for item in items]


# -- session -----------------------------------------------------------------------------------------
@api("/api/demo/login", "POST", action=PUBLIC)
async def demo_login(ctx: Ctx) -> Response:
    """Demo mode only: sign in as any seeded user without a password. Labelled as such in every answer."""
    if not ctx.services.settings.demo:
        return problem(404, "not_found", "the demo login exists only in demo mode")
    body = await ctx.body()
    user = await ctx.services.store.get_user_by_username(body.str("username", max_len=64))
    if user is None:
        raise NotFound("no such demo user", code="unknown_user")
    response = JSONResponse({"user": user_view(user), "demo": True})
    await ctx.services.sessions.start(user, ctx.request, response)
    return response


@api("/api/logout", "POST", action=Action.SELF)
async def logout(ctx: Ctx) -> Response:
    response = JSONResponse({"signed_out": True})
    await ctx.services.sessions.end(ctx.request, response)
    return response


@api("/api/me", "GET", action=Action.SELF)
async def me(ctx: Ctx) -> Response:
    devices = await ctx.services.store.devices_of_user(ctx.user.id)
    return JSONResponse({"user": user_view(ctx.user), "devices": [device_view(d) for d in devices],
                         "demo": ctx.services.settings.demo})


# -- devices -----------------------------------------------------------------------------------------
@api("/api/devices", "POST", action=Action.SELF)
async def register_device(ctx: Ctx) -> Response:
    body = await ctx.body()
    try:
        keys = DevicePublicKeys.from_json({"sign_pub": body.str("sign_pub"), "kem_pub": body.str("kem_pub")})
    except MalformedError as exc:
        raise InvalidInput(f"bad device keys: {exc}", code="invalid_field") from None
    device = await ctx.services.keys.register_device(ctx.user, keys, body.str("label", max_len=200),
                                                     body.bytes("proof", 64))
    return JSONResponse({"device": device_view(device)}, status_code=201)


@api("/api/devices/{device_id}", "GET", action=Action.DEVICE_READ)
async def get_device(ctx: Ctx) -> Response:
    device = await ctx.services.store.get_device(ctx.request.path_params["device_id"])
    if device is None:
        raise NotFound("no such device", code="unknown_device")
    return JSONResponse({"device": device_view(device)})


@api("/api/devices/{device_id}", "DELETE", action=Action.SELF)
async def revoke_device(ctx: Ctx) -> Response:
    device_id = ctx.request.path_params["device_id"]
    await ctx.services.keys.revoke_device(ctx.user, device_id)
    ctx.services.hub.cut_user(ctx.user.id, device_id)
    return Response(status_code=204)


# -- unit keys -----------------------------------------------------------------------------------------
@api("/api/units/{unit_id}/keys", "GET", action=Action.UNIT_KEYS_READ)
async def get_unit_keys(ctx: Ctx) -> Response:
    epochs, grants = await ctx.services.keys.unit_keys(ctx.user, ctx.require_device(),
                                                       ctx.request.path_params["unit_id"])
    return JSONResponse({"epochs": [epoch_view(e) for e in epochs], "grants": [grant_view(g) for g in grants]})


@api("/api/units/{unit_id}/keys", "POST", action=Action.UNIT_KEYS_CREATE)
async def create_unit_epoch(ctx: Ctx) -> Response:
    body = await ctx.body()
    epoch = await ctx.services.keys.create_unit_epoch(
        ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"], body.int("epoch", 1, 2**32 - 1),
        body.bytes("public_key", 32), body.bytes("signature", 64), wrapped_items(body.list("grants"), "device_id"))
    return JSONResponse({"epoch": epoch_view(epoch)}, status_code=201)


@api("/api/units/{unit_id}/grants", "POST", action=Action.UNIT_DEVICE_APPROVE)
async def add_unit_grants(ctx: Ctx) -> Response:
    body = await ctx.body()
    await ctx.services.keys.add_unit_grants(ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"],
                                            body.int("epoch", 1, 2**32 - 1),
                                            wrapped_items(body.list("grants"), "device_id"))
    return JSONResponse({"granted": True}, status_code=201)


@api("/api/keys/pending", "GET", action=Action.UNIT_KEYS_READ)
async def pending_key_tasks(ctx: Ctx) -> Response:
    tasks = await ctx.services.keys.pending_tasks(ctx.user, ctx.require_device())
    # The unit's exchange address keys wrapped only to older unit key epochs (docs/exchange.md): after a
    # rotation, a device that holds an old epoch and the current one wraps them to the current one.
    behind = await ctx.request.app.state.exchange.store.address_keys_behind(ctx.user.unit_id, tasks.unit_epoch)
    # Epochs that do not yet seal the epoch before them (docs/protocol.md section 17), for a holder of both.
    history = ctx.services.keys.history
    assert history is not None and ctx.user.unit_id is not None
    unit_history, case_history = await history.missing(ctx.user.unit_id, tasks.unit_epoch)
    return JSONResponse({
        "unit_id": ctx.user.unit_id, "unit_epoch": tasks.unit_epoch,
        "staff_devices_awaiting_grant": [device_view(d) for d in tasks.staff_devices_awaiting_grant],
        "citizen_devices_missing_case_key": [{"case_id": c.id, "epoch": e, "device": device_view(d)}
                                             for c, e, d in tasks.citizen_devices_missing_case_key],
        "cases_without_key": [c.id for c in tasks.cases_without_key],
        "unit_key_rotation_needed": tasks.unit_key_rotation_needed,
        "approved_staff_devices": [device_view(d) for d in tasks.approved_staff_devices],
        "cases_needing_new_key": [c.id for c in tasks.cases_needing_new_key],
        "address_keys_to_rewrap": [{"address": k.address, "kid": k.kid, "use": k.use, "key_version": k.key_version}
                                   for k in behind] if tasks.unit_epoch else [],
        "unit_history_missing": unit_history,
        "case_history_missing": [{"case_id": case_id, "epoch": epoch} for case_id, epoch in case_history],
        "certification": await _certification_tasks(ctx),
    })


async def _certification_tasks(ctx: Ctx) -> dict[str, Any] | None:
    """(supervisors, once the unit has an identity) what its identity key should sign (docs/protocol.md §18)."""
    assert ctx.user.unit_id is not None
    tasks = await ctx.request.app.state.unit_identities.tasks(ctx.user, ctx.user.unit_id)
    if tasks is None:
        return None
    return {"devices_to_certify": [{"device_id": d.device_id, "user_id": d.user_id, **d.keys.to_json()}
                                   for d in tasks.devices_to_certify],
            "devices_to_revoke": tasks.devices_to_revoke,
            "epochs_to_certify": [{"epoch": e, "public_key": b64u(pub)} for e, pub in tasks.epochs_to_certify]}


# -- cases -----------------------------------------------------------------------------------------------
async def _case(ctx: Ctx, action: Action) -> Case:
    return await ctx.services.messages.case_for(ctx.user, ctx.request.path_params["case_id"], action)


@api("/api/cases", "GET", action=Action.CASE_LIST)
async def list_cases(ctx: Ctx) -> Response:
    store, user = ctx.services.store, ctx.user
    if user.role == Role.CITIZEN:
        cases = await store.cases_of_citizen(user.id)
    elif user.is_staff and user.unit_id:
        cases = await store.cases_of_unit(user.unit_id)
    else:
        raise Forbidden("this role has no cases", code="forbidden")
    # generation: what the cases' last_seq belong to (docs/protocol.md §14.3)
    return JSONResponse({"cases": await case_views(ctx, cases), "generation": ctx.services.generation})


@api("/api/cases/{case_id}", "GET", action=Action.CASE_READ)
async def get_case(ctx: Ctx) -> Response:
    case = await _case(ctx, Action.CASE_READ)
    store = ctx.services.store
    citizen_devices = [device_view(d) for d in await store.devices_of_user(case.citizen_id) if d.active]
    view = await case_view(ctx, case)
    view["citizen_devices"] = citizen_devices
    view["unit_key_epochs"] = [epoch_view(e) for e in await store.unit_key_epochs(case.unit_id)]
    view["receipts"] = [{"user": r.user_id, "delivered_seq": r.delivered_seq, "read_seq": r.read_seq}
                        for r in await store.receipts_of_case(case.id)]
    # Each staff message is shown with its author's name, to the citizen too (a colleague's message under
    # the unit's name told nobody who wrote it); the names of the people who may write in the case.
    view["staff_names"] = {u.id: u.display_name for u in await store.staff_of_unit(case.unit_id)}
    return JSONResponse({"case": view})


@api("/api/cases/{case_id}/keys", "GET", action=Action.CASE_KEYS_READ)
async def get_case_keys(ctx: Ctx) -> Response:
    case = await _case(ctx, Action.CASE_KEYS_READ)
    epoch, wraps = await ctx.services.keys.case_keys(ctx.user, ctx.require_device(), case)
    return JSONResponse({"epoch": epoch, "wraps": [wrap_view(w) for w in wraps]})


@api("/api/cases/{case_id}/keys", "POST", action=Action.CASE_KEYS_WRITE)
async def create_case_epoch(ctx: Ctx) -> Response:
    case = await _case(ctx, Action.CASE_KEYS_WRITE)
    body = await ctx.body()
    await ctx.services.keys.create_case_epoch(ctx.user, ctx.require_device(), case, body.int("epoch", 1, 2**32 - 1),
                                              wrapped_items(body.list("wraps"), "recipient"))
    return JSONResponse({"epoch": await ctx.services.store.current_case_epoch(case.id)}, status_code=201)


@api("/api/cases/{case_id}/wraps", "POST", action=Action.CASE_KEYS_WRITE)
async def add_case_wraps(ctx: Ctx) -> Response:
    case = await _case(ctx, Action.CASE_KEYS_WRITE)
    body = await ctx.body()
    await ctx.services.keys.add_case_wraps(ctx.user, ctx.require_device(), case, body.int("epoch", 1, 2**32 - 1),
                                           wrapped_items(body.list("wraps"), "recipient"))
    return JSONResponse({"added": True}, status_code=201)


@api("/api/cases/{case_id}/messages", "GET", action=Action.CASE_READ)
async def case_history(ctx: Ctx) -> Response:
    params = ctx.request.query_params
    try:
        after = int(params.get("after", "0"))
        limit = int(params.get("limit", "200"))
    except ValueError:
        raise InvalidInput("after and limit must be whole numbers", code="invalid_field") from None
    if after < 0 or not 1 <= limit <= HISTORY_PAGE_MAX:
        raise InvalidInput(f"after >= 0 and 1 <= limit <= {HISTORY_PAGE_MAX}", code="invalid_field")
    messages = await ctx.services.messages.history(ctx.user, ctx.request.path_params["case_id"], after, limit)
    return JSONResponse({"messages": [{"seq": m.seq, "msg_id": m.msg_id, "sender": m.sender_user,
                                       "sender_device": m.sender_device, "env": b64u(m.envelope),
                                       "stored_at": m.stored_at} for m in messages],
                         "generation": ctx.services.generation})


@api("/api/cases/{case_id}/handled", "POST", action=Action.CASE_HANDLE)
async def mark_handled(ctx: Ctx) -> Response:
    case = await _case(ctx, Action.CASE_HANDLE)
    handled = (await ctx.body()).bool("handled")
    await ctx.services.store.set_handled(case.id, ctx.user.id if handled else None, now_ms() if handled else None)
    return JSONResponse({"handled": handled})


@api("/api/cases/{case_id}/blobs", "POST", action=Action.CASE_WRITE)
async def upload_blob(ctx: Ctx) -> Response:
    """An encrypted attachment. The size is checked while the body streams in, before it is all read."""
    case = await _case(ctx, Action.CASE_WRITE)
    data = await ctx.encrypted_upload()
    blob_id = secrets.token_urlsafe(16)
    await ctx.services.store.add_blob(blob_id, case.id, ctx.user.id, data, now_ms())
    return JSONResponse({"blob_id": blob_id, "size": len(data)}, status_code=201)


@api("/api/cases/{case_id}/blobs/{blob_id}", "GET", action=Action.CASE_READ)
async def download_blob(ctx: Ctx) -> Response:
    case = await _case(ctx, Action.CASE_READ)
    data = await ctx.services.store.get_blob(case.id, ctx.request.path_params["blob_id"])
    if data is None:
        raise NotFound("no such attachment", code="unknown_blob")
    return Response(data, media_type="application/octet-stream")


@api("/api/cases/{case_id}/assign", "POST", action=Action.CASE_ASSIGN)
async def assign_case(ctx: Ctx) -> Response:
    case = await _case(ctx, Action.CASE_READ)  # the assignment decides CASE_ASSIGN itself
    body = await ctx.body()
    user_id = body.str("user_id", max_len=64, required=False)
    await ctx.services.assignments.assign(ctx.user, case, user_id)
    return JSONResponse({"case": await case_view(ctx, await ctx.services.messages.case_for(
        ctx.user, case.id, Action.CASE_READ))})


def substitution_view(s: Substitution) -> dict[str, Any]:
    return {"id": s.id, "absent_user": s.absent_user, "substitute": s.substitute, "starts_at": s.starts_at,
            "ends_at": s.ends_at, "created_by": s.created_by}


@api("/api/units/{unit_id}/staff", "GET", action=Action.UNIT_STAFF_READ)
async def unit_staff(ctx: Ctx) -> Response:
    unit_id = ctx.request.path_params["unit_id"]
    substitutions = await ctx.services.assignments.substitutions(ctx.user, unit_id)
    staff = await ctx.services.store.staff_of_unit(unit_id)
    return JSONResponse({"staff": [user_view(u) for u in staff],
                         "substitutions": [substitution_view(s) for s in substitutions]})


@api("/api/units/{unit_id}/staff/{user_id}/remove", "POST", action=Action.UNIT_STAFF_REMOVE)
async def remove_staff(ctx: Ctx) -> Response:
    """(supervisor) A staff member leaves: devices revoked, live connections ended, keys to be rotated."""
    unit_id, user_id = ctx.request.path_params["unit_id"], ctx.request.path_params["user_id"]
    await ctx.services.assignments.remove_staff(ctx.user, unit_id, user_id)
    ctx.services.hub.cut_user(user_id)
    ctx.services.hub.publish_unit_staff(unit_id, frames.KEYS_PENDING)
    return JSONResponse({"removed": user_id})


@api("/api/units/{unit_id}/substitutes", "POST", action=Action.UNIT_SUBSTITUTES_MANAGE)
async def add_substitute(ctx: Ctx) -> Response:
    body = await ctx.body()
    new_id = await ctx.services.assignments.add_substitution(
        ctx.user, ctx.request.path_params["unit_id"], body.str("absent_user", 64), body.str("substitute", 64),
        body.int("starts_at"), body.int("ends_at"))
    return JSONResponse({"id": new_id}, status_code=201)


@api("/api/units/{unit_id}/substitutes/{substitution_id:int}", "DELETE", action=Action.UNIT_SUBSTITUTES_MANAGE)
async def remove_substitute(ctx: Ctx) -> Response:
    await ctx.services.assignments.revoke_substitution(ctx.user, ctx.request.path_params["unit_id"],
                                                       ctx.request.path_params["substitution_id"])
    return Response(status_code=204)


def _audit_filter(ctx: Ctx) -> AuditFilter:
    params = ctx.request.query_params
    try:
        start = int(params["from"]) if params.get("from") else None
        end = int(params["to"]) if params.get("to") else None
    except ValueError:
        raise InvalidInput("from and to are times in ms since the epoch", code="invalid_field") from None
    return AuditFilter(citizen=params.get("citizen") or None, case_id=params.get("case") or None,
                       staff=params.get("staff") or None, start=start, end=end)


def _query_int(ctx: Ctx, name: str, default: int) -> int:
    try:
        return int(ctx.request.query_params.get(name, default))
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", code="invalid_field") from None


async def audit_views(ctx: Ctx, rows: list[AuditRow]) -> list[dict[str, Any]]:
    """Rows as stored, with the names a reviewer reads beside the ids: the actor's, and the name of the
    citizen whose case the row is about."""
    store, names, citizens = ctx.services.store, {}, {}

    async def name(user_id: str | None) -> str | None:
        if user_id and user_id not in names:
            user = await store.get_user(user_id)
            names[user_id] = user.display_name if user else None
        return names.get(user_id) if user_id else None

    async def citizen_of(case_id: str | None) -> str | None:
        if case_id and case_id not in citizens:
            case = await store.get_case(case_id)
            citizens[case_id] = await name(case.citizen_id) if case else None
        return citizens.get(case_id) if case_id else None

    views = []
    for row in rows:
        e = row.event
        views.append({"id": row.id, "at": e.at, "action": e.action, "outcome": e.outcome, "actor": e.actor,
                      "actor_name": await name(e.actor), "role": e.role, "unit_id": e.unit_id,
                      "case_id": e.case_id, "case_citizen_name": await citizen_of(e.case_id), "reason": e.reason,
                      "detail": e.detail, "hash": row.hash.hex()})
    return views


@api("/api/audit", "GET", action=Action.AUDIT_READ)
async def audit_search(ctx: Ctx) -> Response:
    """loggkontroll: the unit's audit log, filtered by citizen, case, staff member and period."""
    query = await ctx.services.review.resolve(ctx.user, _audit_filter(ctx))
    rows = await ctx.services.review.search(ctx.user, query, _query_int(ctx, "after", 0),
                                            _query_int(ctx, "limit", 100))
    return JSONResponse({"rows": await audit_views(ctx, rows)})


@api("/api/audit/sample", "GET", action=Action.AUDIT_READ)
async def audit_sample(ctx: Ctx) -> Response:
    query = await ctx.services.review.resolve(ctx.user, _audit_filter(ctx))
    rows = await ctx.services.review.sample(ctx.user, query, _query_int(ctx, "size", 20))
    return JSONResponse({"rows": await audit_views(ctx, rows)})


@api("/api/audit/people", "GET", action=Action.AUDIT_READ)
async def audit_people(ctx: Ctx) -> Response:
    """The names a reviewer can search the log by: the unit's staff and the citizens with a case in it."""
    staff, citizens = await ctx.services.review.people(ctx.user)
    return JSONResponse({"staff": [{"id": u.id, "name": u.display_name, "role": u.role.value} for u in staff],
                         "citizens": [{"id": u.id, "name": u.display_name} for u in citizens]})


@api("/api/audit/findings", "GET", action=Action.AUDIT_READ)
async def audit_findings(ctx: Ctx) -> Response:
    findings = await ctx.services.review.findings(ctx.user)
    return JSONResponse({"findings": [{"id": f.id, "audit_id": f.audit_id, "reviewer": f.reviewer,
                                       "verdict": f.verdict, "note": f.note, "created_at": f.created_at}
                                      for f in findings]})


@api("/api/audit/findings", "POST", action=Action.AUDIT_REVIEW)
async def add_audit_finding(ctx: Ctx) -> Response:
    body = await ctx.body()
    new_id = await ctx.services.review.record(ctx.user, body.int("audit_id", 1), body.str("verdict", 16),
                                              body.str("note", 2000, required=False) or "")
    return JSONResponse({"id": new_id}, status_code=201)


@api("/api/config", "GET", action=PUBLIC)
async def client_config(ctx: Ctx) -> Response:
    settings = ctx.services.settings
    return JSONResponse({"max_attachment_bytes": settings.max_attachment_bytes, "demo": settings.demo,
                         "languages": ["sv", "en"]})


@api("/healthz", "GET", action=PUBLIC)
async def health(ctx: Ctx) -> Response:
    """Alive: the process answers. Whether it can do its work is /readyz."""
    return JSONResponse({"ok": True, "connections": ctx.services.hub.connection_count()})


# /readyz's write probe may take this long before the database counts as not writable.
READY_PROBE_SECONDS = 2.0


@api("/readyz", "GET", action=PUBLIC)
async def ready(ctx: Ctx) -> Response:
    """Ready for traffic: not draining, and a real write to the database commits (a full disk or a failing
    disk makes it fail as a message's commit would; /healthz answered 200 through both)."""
    if ctx.services.draining.active:
        return problem(503, "draining", "this node is shutting down", headers={"Retry-After": "1"})
    try:
        await asyncio.wait_for(ctx.services.store.probe_write(), READY_PROBE_SECONDS)
    except Exception as error:  # noqa: BLE001 (any failure to write means not ready; the kind is logged)
        log.warning("not ready: the database write probe failed", extra={"error": type(error).__name__})
        return problem(503, "storage_unavailable", "the database cannot be written to now",
                       headers={"Retry-After": "5"})
    return JSONResponse({"ready": True, "generation": ctx.services.generation})


# These modules register their routes beside these ones.
from web import (  # noqa: E402,F401
    applications,
    booking,
    calls,  # noqa: E402,F401  (registers the video call's route)
    journal,
)
