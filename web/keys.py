"""Devices and keys over HTTP (docs/protocol.md §14): devices, the unit's key epochs and grants, case key
epochs and wraps, and the key work pending. Binary values travel as base64url without padding."""
from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from chat.errors import InvalidInput, NotFound
from chat.model import (
    CaseKeyWrap,
    Device,
    UnitKeyEpoch,
    UnitKeyGrant,
)
from chat.policy import Action
from crypto.encoding import b64u
from crypto.errors import MalformedError
from crypto.keys import DevicePublicKeys
from crypto.wrap import WrappedKey
from web.apischema import (
    ANY_OBJECT,
    BOOL,
    DEVICE_VIEW,
    EPOCH,
    EPOCH_VIEW,
    ID,
    STR,
    array,
    base64url,
    integer,
    nullable,
    obj,
    string,
    wrap,
)
from web.httpapi import Body, Ctx, RouteTable

api = RouteTable()


def device_view(device: Device) -> dict[str, Any]:
    keys = DevicePublicKeys(device.sign_pub, device.kem_pub)
    return {"id": device.id, "user_id": device.user_id, "label": device.label, "sign_pub": b64u(device.sign_pub),
            "kem_pub": b64u(device.kem_pub), "fingerprint": keys.fingerprint(), "created_at": device.created_at,
            "revoked_at": device.revoked_at, "proof": b64u(device.proof) if device.proof else None,
            "binding": json.loads(device.binding) if device.binding else None}


def epoch_view(e: UnitKeyEpoch) -> dict[str, Any]:
    return {"epoch": e.epoch, "public_key": b64u(e.public_key), "created_by_device": e.created_by_device,
            "signature": b64u(e.signature), "created_at": e.created_at}


def grant_view(g: UnitKeyGrant) -> dict[str, Any]:
    return {"epoch": g.epoch, "device_id": g.device_id, "enc": b64u(g.enc), "ct": b64u(g.ct),
            "granted_by_device": g.granted_by_device, "signature": b64u(g.signature)}


def wrap_view(w: CaseKeyWrap) -> dict[str, Any]:
    return {"epoch": w.epoch, "recipient": w.recipient, "enc": b64u(w.enc), "ct": b64u(w.ct),
            "wrapped_by_device": w.wrapped_by_device, "signature": b64u(w.signature)}

GRANT_VIEW = obj({"epoch": EPOCH, "device_id": ID, "enc": base64url(32), "ct": base64url(max_bytes=128),
                  "granted_by_device": ID, "signature": base64url(64)})
WRAP_VIEW = obj({"epoch": EPOCH, "recipient": string(80), "enc": base64url(32), "ct": base64url(max_bytes=128),
                 "wrapped_by_device": ID, "signature": base64url(64)})
CASE_EPOCH = integer(0, 2**32 - 1, description="the case's current key epoch; 0 while it has no key")
PENDING = obj({
    "unit_id": ID, "unit_epoch": integer(0, 2**32 - 1, description="0 while the unit has no key"),
    "staff_devices_awaiting_grant": array(DEVICE_VIEW),
    "citizen_devices_missing_case_key": array(obj({"case_id": ID, "epoch": EPOCH, "device": DEVICE_VIEW})),
    "cases_without_key": array(ID), "unit_key_rotation_needed": BOOL, "approved_staff_devices": array(DEVICE_VIEW),
    "cases_needing_new_key": array(ID),
    "address_keys_to_rewrap": array(obj({"address": STR, "kid": STR, "use": STR, "key_version": integer()})),
    "unit_history_missing": array(EPOCH), "case_history_missing": array(obj({"case_id": ID, "epoch": EPOCH})),
    "certification": nullable(obj({
        "devices_to_certify": array(obj({"device_id": ID, "user_id": ID, "sign_pub": base64url(32),
                                         "kem_pub": base64url(32)})),
        "devices_to_revoke": array(ID),
        "epochs_to_certify": array(obj({"epoch": EPOCH, "public_key": base64url(32)}))}))})


def wrapped_items(items: list[Body], recipient_field: str) -> list[tuple[str, WrappedKey, bytes]]:
    return [(item.str(recipient_field, max_len=80), WrappedKey(item.bytes("enc", 32), item.bytes("ct", max_len=128)),
             item.bytes("signature", 64)) for item in items]

# -- devices -----------------------------------------------------------------------------------------
@api("/api/devices", "POST", action=Action.SELF, status=201, body=obj(
    {"sign_pub": base64url(32), "kem_pub": base64url(32), "label": string(200), "proof": base64url(64)},
    {"binding": nullable(ANY_OBJECT)}),
     response=obj({"device": DEVICE_VIEW}))
async def register_device(ctx: Ctx) -> Response:
    body = await ctx.body()
    try:
        keys = DevicePublicKeys.from_json({"sign_pub": body.str("sign_pub"), "kem_pub": body.str("kem_pub")})
    except MalformedError as exc:
        raise InvalidInput(f"bad device keys: {exc}", code="invalid_field") from None
    binding = body.data.get("binding")
    if binding is not None and not isinstance(binding, dict):
        raise InvalidInput("binding is an object", code="invalid_field")
    device = await ctx.services.keys.register_device(ctx.user, keys, body.str("label", max_len=200),
                                                     body.bytes("proof", 64), binding)
    return JSONResponse({"device": device_view(device)}, status_code=201)


@api("/api/devices/{device_id}/binding", "POST", action=Action.SELF, body=obj({"binding": ANY_OBJECT}),
     response=obj({"device": DEVICE_VIEW}))
async def bind_device(ctx: Ctx) -> Response:
    """File what proves that one of the person's devices is theirs (docs/protocol.md §21): a link signed by
    another of their devices, after the person compared the code both show."""
    body = await ctx.body()
    binding = body.data.get("binding")
    if not isinstance(binding, dict):
        raise InvalidInput("binding is an object", code="invalid_field")
    device = await ctx.services.keys.bind_device(ctx.user, ctx.request.path_params["device_id"], binding)
    return JSONResponse({"device": device_view(device)})


@api("/api/devices/{device_id}", "GET", action=Action.DEVICE_READ, response=obj({"device": DEVICE_VIEW}))
async def get_device(ctx: Ctx) -> Response:
    device = await ctx.services.store.get_device(ctx.request.path_params["device_id"])
    if device is None:
        raise NotFound("no such device", code="unknown_device")
    return JSONResponse({"device": device_view(device)})


@api("/api/devices/{device_id}", "DELETE", action=Action.SELF, status=204)
async def revoke_device(ctx: Ctx) -> Response:
    device_id = ctx.request.path_params["device_id"]
    await ctx.services.keys.revoke_device(ctx.user, device_id)
    ctx.services.hub.cut_user(ctx.user.id, device_id)
    return Response(status_code=204)


# -- unit keys -----------------------------------------------------------------------------------------
@api("/api/units/{unit_id}/keys", "GET", action=Action.UNIT_KEYS_READ,
     response=obj({"epochs": array(EPOCH_VIEW), "grants": array(GRANT_VIEW)}))
async def get_unit_keys(ctx: Ctx) -> Response:
    epochs, grants = await ctx.services.keys.unit_keys(ctx.user, ctx.require_device(),
                                                       ctx.request.path_params["unit_id"])
    return JSONResponse({"epochs": [epoch_view(e) for e in epochs], "grants": [grant_view(g) for g in grants]})


@api("/api/units/{unit_id}/keys", "POST", action=Action.UNIT_KEYS_CREATE, status=201, body=obj(
    {"epoch": EPOCH, "public_key": base64url(32), "signature": base64url(64), "grants": array(wrap("device_id"))}),
     response=obj({"epoch": EPOCH_VIEW}))
async def create_unit_epoch(ctx: Ctx) -> Response:
    body = await ctx.body()
    epoch = await ctx.services.keys.create_unit_epoch(
        ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"], body.int("epoch", 1, 2**32 - 1),
        body.bytes("public_key", 32), body.bytes("signature", 64), wrapped_items(body.list("grants"), "device_id"))
    return JSONResponse({"epoch": epoch_view(epoch)}, status_code=201)


@api("/api/units/{unit_id}/grants", "POST", action=Action.UNIT_DEVICE_APPROVE, status=201,
     body=obj({"epoch": EPOCH, "grants": array(wrap("device_id"))}), response=obj({"granted": BOOL}))
async def add_unit_grants(ctx: Ctx) -> Response:
    body = await ctx.body()
    await ctx.services.keys.add_unit_grants(ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"],
                                            body.int("epoch", 1, 2**32 - 1),
                                            wrapped_items(body.list("grants"), "device_id"))
    return JSONResponse({"granted": True}, status_code=201)


@api("/api/keys/pending", "GET", action=Action.UNIT_KEYS_READ, response=PENDING)
async def pending_key_tasks(ctx: Ctx) -> Response:
    tasks = await ctx.services.keys.pending_tasks(ctx.user, ctx.require_device())
    # The unit's exchange address keys wrapped only to older unit key epochs (docs/exchange.md): after a
    # rotation, a device that holds an old epoch and the current one wraps them to the current one.
    behind = await ctx.services.exchange.store.address_keys_behind(ctx.user.unit_id, tasks.unit_epoch)
    # Epochs that do not yet seal the epoch before them (docs/protocol.md section 17), for a holder of both.
    history = ctx.services.keys.history
    assert history is not None and ctx.user.unit_id is not None
    unit_history, case_history = await history.missing(ctx.user.unit_id, tasks.unit_epoch)
    return JSONResponse({
        "unit_id": ctx.user.unit_id, "unit_epoch": tasks.unit_epoch,
        "staff_devices_awaiting_grant": [device_view(d) for d in tasks.staff_devices_awaiting_grant],
        "citizen_devices_missing_case_key": [{"case_id": c.id, "epoch": e, "device": device_view(d)}
                                             for c, e, d in tasks.citizen_devices_missing_case_key],
        # Representatives' devices (docs/representatives.md): wrapped to only when proven their holder's (§21).
        "representative_devices_missing_case_key": [
            {"case_id": c.id, "epoch": e, "device": device_view(d)}
            for c, e, d in tasks.representative_devices_missing_case_key],
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
    tasks = await ctx.services.unit_identities.tasks(ctx.user, ctx.user.unit_id)
    if tasks is None:
        return None
    return {"devices_to_certify": [{"device_id": d.device_id, "user_id": d.user_id, **d.keys.to_json()}
                                   for d in tasks.devices_to_certify],
            "devices_to_revoke": tasks.devices_to_revoke,
            "epochs_to_certify": [{"epoch": e, "public_key": b64u(pub)} for e, pub in tasks.epochs_to_certify]}

@api("/api/cases/{case_id}/keys", "GET", action=Action.CASE_KEYS_READ,
     response=obj({"epoch": CASE_EPOCH, "wraps": array(WRAP_VIEW)}))
async def get_case_keys(ctx: Ctx) -> Response:
    case = ctx.case
    epoch, wraps = await ctx.services.keys.case_keys(ctx.user, ctx.require_device(), case)
    return JSONResponse({"epoch": epoch, "wraps": [wrap_view(w) for w in wraps]})


@api("/api/cases/{case_id}/keys", "POST", action=Action.CASE_KEYS_WRITE, status=201,
     body=obj({"epoch": EPOCH, "wraps": array(wrap("recipient"))}), response=obj({"epoch": CASE_EPOCH}))
async def create_case_epoch(ctx: Ctx) -> Response:
    case = ctx.case
    body = await ctx.body()
    await ctx.services.keys.create_case_epoch(ctx.user, ctx.require_device(), case, body.int("epoch", 1, 2**32 - 1),
                                              wrapped_items(body.list("wraps"), "recipient"))
    return JSONResponse({"epoch": await ctx.services.store.current_case_epoch(case.id)}, status_code=201)


@api("/api/cases/{case_id}/wraps", "POST", action=Action.CASE_KEYS_WRITE, status=201,
     body=obj({"epoch": EPOCH, "wraps": array(wrap("recipient"))}), response=obj({"added": BOOL}))
async def add_case_wraps(ctx: Ctx) -> Response:
    case = ctx.case
    body = await ctx.body()
    await ctx.services.keys.add_case_wraps(ctx.user, ctx.require_device(), case, body.int("epoch", 1, 2**32 - 1),
                                           wrapped_items(body.list("wraps"), "recipient"))
    return JSONResponse({"added": True}, status_code=201)
