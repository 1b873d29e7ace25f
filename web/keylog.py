"""HTTP routes of the unit identities (docs/protocol.md §18) and the key transparency log (§19).

Reading is public: the log and the certificates hold public keys, pseudonymous account ids and times,
never names or content, and an auditor's monitor must be able to follow them without an account."""
from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chat.errors import InvalidInput
from chat.keys.transparency import KeyLog, UnitIdentities
from chat.policy import Action
from chat.storage.key_log import IdentitySeal
from crypto.encoding import b64u
from crypto.errors import MalformedError
from crypto.unitcert import UnitCert
from crypto.wrap import WrappedKey
from web.apischema import ANY_OBJECT, ID, MS, STR, array, base64url, integer, nullable, obj
from web.httpapi import PUBLIC, Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py


def _log(ctx: Ctx) -> KeyLog:
    return ctx.services.key_log


def _identities(ctx: Ctx) -> UnitIdentities:
    return ctx.services.unit_identities


def _int_param(ctx: Ctx, name: str) -> int:
    value = ctx.query_optional_int(name)  # within 0 ... 2^53 - 1, as every query number
    if value is None:
        raise InvalidInput(f"{name} must be a whole number", code="invalid_field")
    return value


HASHES = array(base64url(32), 64, description="a Merkle audit path (RFC 6962 §2.1.1), hashes of 32 bytes")
HEAD = {"head": obj({"size": integer(), "root": base64url(32), "timestamp": MS, "signature": base64url(64)}),
        "log_key": base64url(32)}
SEAL_VIEW = obj({"device_id": ID, "sealed_by_device": ID, "created_at": MS})


async def head_view(log: KeyLog) -> dict[str, Any]:
    return {"head": (await log.head()).to_json(), "log_key": b64u(log.public_key)}


@api("/api/units/{unit_id}/identity", "GET", action=PUBLIC, response=obj({
    "unit_id": ID, "certificates": array(obj({
        "unit_id": ID, "kind": STR, "subject": base64url(), "issued_at": MS, "signer": base64url(32),
        "signature": base64url(64), "log_index": integer(), "logged_at": MS, "inclusion": HASHES})),
    **HEAD, "identity_url": nullable(STR)}))
async def unit_identity(ctx: Ctx) -> Response:
    """The unit's certificates in log order, each with its log index and inclusion proof against `head`,
    and the address where the municipality publishes the unit's identity file."""
    unit_id = ctx.request.path_params["unit_id"]
    log = _log(ctx)
    chain = await _identities(ctx).chain(unit_id)
    head = await head_view(log)
    size = head["head"]["size"]
    certificates = []
    for cert, index, logged_at in chain:
        if index is None or index >= size:
            continue  # filed a moment ago; it is in the next head
        certificates.append({**cert.to_json(), "log_index": index, "logged_at": logged_at,
                             "inclusion": [b64u(h) for h in log.inclusion(index, size)]})
    return JSONResponse({"unit_id": unit_id, "certificates": certificates, **head,
                         "identity_url": ctx.services.settings.unit_identity_urls.get(unit_id)})


@api("/api/units/{unit_id}/certificates", "POST", action=Action.UNIT_IDENTITY, status=201,
     body=obj({"certificate": ANY_OBJECT}), response=obj({"filed": integer()}))
async def file_certificate(ctx: Ctx) -> Response:
    body = await ctx.body()
    try:
        cert = UnitCert.from_json(body.data.get("certificate"))
    except MalformedError as exc:
        raise InvalidInput(f"malformed certificate: {exc}", code="invalid_field") from None
    cert_id = await _identities(ctx).file(ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"], cert)
    return JSONResponse({"filed": cert_id}, status_code=201)


def _seal_view(seal: IdentitySeal, with_ciphertext: bool) -> dict[str, Any]:
    view = {"device_id": seal.device_id, "sealed_by_device": seal.sealed_by_device, "created_at": seal.created_at}
    if with_ciphertext:
        view.update(enc=b64u(seal.enc), ct=b64u(seal.ct), signature=b64u(seal.signature))
    return view


@api("/api/units/{unit_id}/identity/seals", "GET", action=Action.UNIT_IDENTITY, response=obj({
    "identity_key": nullable(base64url(32)), "holders": array(SEAL_VIEW),
    "mine": nullable({**SEAL_VIEW, "properties": {**SEAL_VIEW["properties"], "enc": base64url(32),
                                                   "ct": base64url(48), "signature": base64url(64)}})}))
async def identity_seals(ctx: Ctx) -> Response:
    """Which of the unit's supervisors' devices hold its current identity key, and this device's own seal."""
    device_id = ctx.require_device()
    holders = await _identities(ctx).holders.holders(ctx.user, device_id, ctx.request.path_params["unit_id"])
    return JSONResponse({"identity_key": b64u(holders.identity_key) if holders.identity_key else None,
                         "holders": [_seal_view(s, False) for s in holders.seals],
                         "mine": _seal_view(holders.mine, True) if holders.mine else None})


@api("/api/units/{unit_id}/identity/seals", "POST", action=Action.UNIT_IDENTITY, status=201,
     response=obj({"holder": SEAL_VIEW}))
async def file_identity_seal(ctx: Ctx) -> Response:
    """The identity seed sealed to a supervisor's device by a holder (docs/protocol.md §18, Holders)."""
    body = await ctx.body()
    wrapped = WrappedKey(body.bytes("enc", 32), body.bytes("ct", 48))
    seal = await _identities(ctx).holders.seal(ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"],
                                               body.str("device_id", max_len=40), wrapped, body.bytes("signature", 64))
    return JSONResponse({"holder": _seal_view(seal, False)}, status_code=201)


@api("/api/log/head", "GET", action=PUBLIC, response=obj(HEAD))
async def log_head(ctx: Ctx) -> Response:
    return JSONResponse(await head_view(_log(ctx)))


@api("/api/log/entries", "GET", action=PUBLIC,
     response=obj({"start": integer(), "leaves": array(base64url(max_bytes=2**16))}))
async def log_entries(ctx: Ctx) -> Response:
    start, end = _int_param(ctx, "start"), _int_param(ctx, "end")
    return JSONResponse({"start": start, "leaves": [b64u(leaf) for leaf in await _log(ctx).entries(start, end)]})


@api("/api/log/inclusion", "GET", action=PUBLIC, response=obj({"proof": HASHES}))
async def log_inclusion(ctx: Ctx) -> Response:
    log = _log(ctx)
    await log.sync()
    proof = log.inclusion(_int_param(ctx, "index"), _int_param(ctx, "size"))
    return JSONResponse({"proof": [b64u(h) for h in proof]})


@api("/api/log/consistency", "GET", action=PUBLIC, response=obj({"proof": HASHES}))
async def log_consistency(ctx: Ctx) -> Response:
    log = _log(ctx)
    await log.sync()
    proof = log.consistency(_int_param(ctx, "first"), _int_param(ctx, "second"))
    return JSONResponse({"proof": [b64u(h) for h in proof]})


@api("/api/me/devices/log", "GET", action=Action.SELF, response=obj({
    "entries": array(obj({"log_index": integer(), "leaf": base64url(max_bytes=2**16), "inclusion": HASHES})),
    **HEAD}))
async def my_devices_in_log(ctx: Ctx) -> Response:
    """The signed-in person's device records as the log shows them, with inclusion proofs against `head`:
    so that a device they do not know stands out, and their client can check the server shows the log."""
    log = _log(ctx)
    leaves = await log.leaves_of(f"user:{ctx.user.id}")
    head = await head_view(log)
    size = head["head"]["size"]
    return JSONResponse({"entries": [{"log_index": i, "leaf": b64u(leaf),
                                      "inclusion": [b64u(h) for h in log.inclusion(i, size)]}
                                     for i, leaf in leaves if i < size], **head})
