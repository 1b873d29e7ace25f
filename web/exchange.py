"""The exchange endpoint over HTTP (docs/exchange.md): agencies authenticate with their signature (the
envelope's JWS, or a short-lived signed bearer token); a unit's staff use their session. Every answer and
every refusal is recorded in the audit log."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat import json_input
from chat.exchange import alerts
from chat.exchange.envelope import ExchangeError
from chat.exchange.openapi import openapi
from chat.exchange.sdk import addresses as sdk_addresses
from chat.exchange.sdk.bridge import PartyKeys, SdkBridge
from chat.exchange.sdk.rest_client import ClientConfig, RestClient
from chat.exchange.service import (
    EndpointKey,
    ExchangeConfig,
    ExchangeService,
    exchange_event,
    message_view,
    refusal_event,
)
from chat.model import Role, User, now_ms
from chat.policy import Action, decide
from chat.scheduled import Claims
from chat.storage.exchange import Address, AddressKeyWrap
from crypto.encoding import b64u, unb64u
from crypto.errors import MalformedError
from crypto.keys import DevicePublicKeys
from crypto.wrap import WrappedKey, verify_wrap
from web.config import Settings
from web.httpapi import PUBLIC, Ctx, RouteTable
from web.problems import problem

api = RouteTable()  # this feature's routes, listed in web/app.py

log = logging.getLogger("samtal.exchange")
SECURITY_CODES = frozenset({"bad_signature", "invalid_token", "token_replayed", "sender_mismatch"})
JOSE = "application/jose"


class Exchange:
    """What the routes share: the service, the concurrency guard and the urgent-alert task."""

    def __init__(self, settings: Settings, store: Any) -> None:
        self.settings = settings
        self.store = store.exchange
        self.claims = Claims(store.schedule, settings.schedule_lease_seconds)
        self.service = ExchangeService(self.store, EndpointKey(Path(settings.data_dir) / "exchange-endpoint-key.json"),
                                       ExchangeConfig(settings.exchange_issuer, settings.exchange_audience,
                                                      settings.exchange_max_bytes, settings.exchange_max_skew_seconds))
        self.inflight = 0
        self._alerts: asyncio.Task[None] | None = None
        self.sdk = sdk_connection(settings, store, self.service, self.claims)
        self._sdk: asyncio.Task[None] | None = None

    def start(self) -> None:
        s = self.settings
        if s.smtp_host:
            link = (getattr(s, "public_url", "") or f"http://{s.host}:{s.port}") + "/"
            self._alerts = asyncio.create_task(alerts.run(self.store, alerts.SmtpConfig(
                s.smtp_server, s.smtp_from, link, s.exchange_urgent_seconds,
                s.exchange_alert_check_seconds), self.claims), name="exchange-urgent-alerts")
        if self.sdk is not None:
            self._sdk = asyncio.create_task(self.sdk[0].run(self.sdk[1]), name="sdk-message-service")

    async def stop(self) -> None:
        for task in (self._alerts, self._sdk):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.sdk is not None:
            await self.sdk[0].close()


def sdk_connection(settings: Settings, store: Any, service: ExchangeService,
                   claims: Claims) -> tuple[SdkBridge, float] | None:
    """The SDK bridge and how often it polls, when SAMTAL_SDK_CONFIG names a file with a message service (a
    wrong file stops the server at start)."""
    if not settings.sdk_config:
        return None
    try:
        book = sdk_addresses.load(settings.sdk_config)
    except sdk_addresses.SdkConfigError as error:
        raise SystemExit(f"SAMTAL_SDK_CONFIG: {error}") from None
    ms = book.service
    if ms is None:
        return None
    carrier = RestClient(ClientConfig(ms.base_url, ms.token_url, ms.client_id, ms.client_secret,
                                      client_cert=ms.client_cert))
    keys = PartyKeys(Path(settings.data_dir) / "sdk-party.key")
    return SdkBridge(service, store.sdk, book, carrier, keys, claims), ms.poll_seconds


def _exchange(ctx: Ctx) -> Exchange:
    return ctx.services.exchange


def _agency_user(address: Address) -> User:
    return User(address.address, address.address, address.name, Role.AGENCY, None)


Handler = Callable[[Ctx, Exchange], Awaitable[Response]]


def guarded(audit_action: str) -> Callable[[Handler], Callable[[Ctx], Awaitable[Response]]]:
    """Overload guard, and every ExchangeError as problem+json, audited (and a security event when it is
    about signatures or tokens)."""
    def wrap(handler: Handler) -> Callable[[Ctx], Awaitable[Response]]:
        async def endpoint(ctx: Ctx) -> Response:
            ex = _exchange(ctx)
            if ex.inflight >= ex.settings.exchange_max_concurrent:
                return await _refuse(ctx, ex, audit_action, ExchangeError(
                    503, "overloaded", "the exchange is busy; try again shortly", retry_after=5))
            ex.inflight += 1
            try:
                return await handler(ctx, ex)
            except ExchangeError as error:
                return await _refuse(ctx, ex, audit_action, error)
            finally:
                ex.inflight -= 1
        endpoint.__doc__ = handler.__doc__
        return endpoint
    return wrap


async def _refuse(ctx: Ctx, ex: Exchange, action: str, error: ExchangeError) -> Response:
    actor = ctx.user.id if ctx.user else None
    await ex.store.append_audit(refusal_event(error, action, actor, route=ctx.request.url.path))
    if error.code in SECURITY_CODES:
        await ctx.services.store.add_security_event(f"exchange_{error.code}", user_id=actor, device_id=None,
                                                    case_id=None, detail=error.message, at=now_ms())
    log.info("exchange refused", extra={"code": error.code, "status": error.status})
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return problem(error.status, error.code, error.message, headers)


async def _read_body(request: Request, limit: int) -> dict[str, Any]:
    """The JSON body, refused with 413 as soon as it passes `limit` bytes (checked while streaming)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ExchangeError(415, "unsupported_media_type", "the body must be application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ExchangeError(413, "too_large", f"the body is larger than {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ExchangeError(413, "too_large", f"the body is larger than {limit} bytes")
    try:
        return json_input.parse_object(raw, max_bytes=limit)
    except json_input.JsonRefused as refused:  # the one parser's limits (chat/json_input.py), each its own code
        raise ExchangeError(413 if refused.code == "too_large" else 400, refused.code, refused.message) from None


def _strings(data: dict[str, Any], *names: str) -> list[str]:
    if not all(isinstance(data.get(n), str) for n in names):
        raise ExchangeError(400, "malformed_body", f"the body needs {', '.join(names)} as strings")
    return [data[n] for n in names]


async def _agency(ctx: Ctx, ex: Exchange) -> Address:
    header = ctx.request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise ExchangeError(401, "invalid_token", "send Authorization: Bearer <signed token>")
    agency = await ex.service.authenticate(header[7:].strip())
    ctx.user = _agency_user(agency)
    if not decide(ctx.user, Action.EXCHANGE_AGENCY):
        raise ExchangeError(403, "forbidden", "not an agency")
    return agency


async def _audited(ctx: Ctx, ex: Exchange, action: str, response: Response, **detail: Any) -> Response:
    await ex.store.append_audit(exchange_event(
        action, "allowed", ctx.user.id if ctx.user else None, ctx.user.role.value if ctx.user else "agency",
        unit_id=ctx.user.unit_id if ctx.user else None, route=ctx.request.url.path, **detail))
    return response


def _receipt_response(jws: str, created: bool) -> Response:
    return JSONResponse({"receipt": jws, "duplicate": not created}, status_code=201 if created else 200)


# -- public: directory and the API description ---------------------------------------------------
@api("/exchange/v1/directory", "GET", action=PUBLIC)
@guarded("exchange.directory")
async def directory(ctx: Ctx, ex: Exchange) -> Response:
    """The signed directory: addresses, their public keys, document types and size limits."""
    return Response(await ex.service.directory(), media_type=JOSE)


@api("/exchange/v1/openapi.json", "GET", action=PUBLIC)
async def openapi_document(ctx: Ctx) -> Response:
    return JSONResponse(openapi())


# -- agencies ------------------------------------------------------------------------------------
@api("/exchange/v1/messages", "POST", action=PUBLIC)
@guarded("exchange.receive")
async def receive(ctx: Ctx, ex: Exchange) -> Response:
    """An agency sends: the envelope's signature authenticates it. 201 with a signed received receipt."""
    envelope, content = _strings(await _read_body(ctx.request, ex.settings.exchange_max_bytes), "envelope", "content")
    _, receipt, created = await ex.service.receive(envelope, content)
    return _receipt_response(receipt.jws, created)


@api("/exchange/v1/messages", "GET", action=PUBLIC)
@guarded("exchange.fetch")
async def fetch(ctx: Ctx, ex: Exchange) -> Response:
    """What is addressed to the agency (status=new: not acknowledged yet), and what it sent (role=sent)."""
    agency = await _agency(ctx, ex)
    role, status = ctx.request.query_params.get("role", "received"), ctx.request.query_params.get("status", "all")
    if role not in ("received", "sent") or status not in ("new", "all"):
        raise ExchangeError(400, "invalid_query", "role is received or sent, status is new or all")
    if role == "sent":
        found = await ex.store.messages_from([agency.address])
    else:
        found = await ex.store.messages_to([agency.address], status == "new")
    return await _audited(ctx, ex, "exchange.fetch", JSONResponse({"messages": [message_view(m) for m in found]}),
                          count=len(found))


@api("/exchange/v1/messages/{msg_id}", "GET", action=PUBLIC)
@guarded("exchange.fetch")
async def fetch_one(ctx: Ctx, ex: Exchange) -> Response:
    agency = await _agency(ctx, ex)
    message = await ex.service.message_for(ctx.request.path_params["msg_id"], {agency.address})
    view = message_view(message, content=message.recipient == agency.address)
    view["receipts"] = [r.jws for r in await ex.store.receipts(message)]
    return await _audited(ctx, ex, "exchange.fetch", JSONResponse(view), message=message.msg_id)


@api("/exchange/v1/messages/{msg_id}/ack", "POST", action=PUBLIC)
@guarded("exchange.ack")
async def ack(ctx: Ctx, ex: Exchange) -> Response:
    """The agency has the message: it leaves status=new; an accepted (or rejected, or read) receipt."""
    agency = await _agency(ctx, ex)
    message = await ex.service.message_for(ctx.request.path_params["msg_id"], {agency.address})
    if message.recipient != agency.address:
        raise ExchangeError(404, "unknown_message", "no such message addressed to you")
    body = await _read_body(ctx.request, 4096) if ctx.request.headers.get("content-length", "0") != "0" else {}
    await ex.store.ack(message, now_ms())
    receipt = await ex.service.add_receipt(message, body.get("status", "accepted"), body.get("reason"),
                                           agency.address, "agency", None)
    return JSONResponse({"receipt": receipt.jws})


@api("/exchange/v1/messages/{msg_id}/receipts", "GET", action=PUBLIC)
@guarded("exchange.receipts")
async def receipts(ctx: Ctx, ex: Exchange) -> Response:
    agency = await _agency(ctx, ex)
    message = await ex.service.message_for(ctx.request.path_params["msg_id"], {agency.address})
    found = await ex.store.receipts(message)
    return await _audited(ctx, ex, "exchange.receipts", JSONResponse({"receipts": [r.jws for r in found]}),
                          message=message.msg_id)


@api("/exchange/v1/messages/{msg_id}/proof", "GET", action=PUBLIC)
@guarded("exchange.proof")
async def proof(ctx: Ctx, ex: Exchange) -> Response:
    """The envelope, its receipts and the audit log rows that record them."""
    agency = await _agency(ctx, ex)
    message = await ex.service.message_for(ctx.request.path_params["msg_id"], {agency.address})
    return await _audited(ctx, ex, "exchange.proof", JSONResponse(await ex.service.proof(message)),
                          message=message.msg_id)


# -- a unit's staff ------------------------------------------------------------------------------
async def _unit_addresses(ctx: Ctx, ex: Exchange, action: Action) -> list[str]:
    unit_id = ctx.unit_id  # decided by the route machinery (web/guard.py)
    return [a.address for a in await ex.store.addresses() if a.unit_id == unit_id]


@api("/exchange/v1/units/{unit_id}/messages", "GET", action=Action.EXCHANGE_UNIT_READ)
@guarded("exchange.unit.read")
async def unit_messages(ctx: Ctx, ex: Exchange) -> Response:
    """The unit's exchange inbox (to its addresses) and outbox (from them), envelopes only."""
    addresses = await _unit_addresses(ctx, ex, Action.EXCHANGE_UNIT_READ)
    inbox = await ex.store.messages_to(addresses, False) if addresses else []
    outbox = await ex.store.messages_from(addresses) if addresses else []
    names = {a.address: a.name for a in await ex.store.addresses()}

    async def with_statuses(messages: list[Any]) -> list[dict[str, Any]]:
        # The statuses of its receipts so far, for the list (the signed receipts themselves per message).
        return [{**message_view(m), "statuses": [r.status for r in await ex.store.receipts(m)]} for m in messages]
    return JSONResponse({"addresses": addresses, "names": names, "inbox": await with_statuses(inbox),
                         "outbox": await with_statuses(outbox)})


@api("/exchange/v1/units/{unit_id}/messages/{msg_id}", "GET", action=Action.EXCHANGE_UNIT_READ)
@guarded("exchange.unit.read")
async def unit_message(ctx: Ctx, ex: Exchange) -> Response:
    """One message with its encrypted content (opened on the staff device) and its receipts."""
    addresses = await _unit_addresses(ctx, ex, Action.EXCHANGE_UNIT_READ)
    message = await ex.service.message_for(ctx.request.path_params["msg_id"], set(addresses))
    view = message_view(message, content=True)
    view["receipts"] = [r.jws for r in await ex.store.receipts(message)]
    return JSONResponse(view)


@api("/exchange/v1/units/{unit_id}/messages/{msg_id}/receipts", "POST", action=Action.EXCHANGE_UNIT_WRITE, status=201)
@guarded("exchange.unit.receipt")
async def unit_receipt(ctx: Ctx, ex: Exchange) -> Response:
    """A staff device opened and validated the content (accepted or rejected), or a person read it."""
    addresses = await _unit_addresses(ctx, ex, Action.EXCHANGE_UNIT_WRITE)
    message = await ex.service.message_for(ctx.request.path_params["msg_id"], set(addresses))
    if message.recipient not in addresses:
        raise ExchangeError(404, "unknown_message", "receipts are for messages to your unit")
    body = await _read_body(ctx.request, 4096)
    reason = body.get("reason") if isinstance(body.get("reason"), str) else None
    receipt = await ex.service.add_receipt(message, str(body.get("status")), reason, ctx.user.id,
                                           ctx.user.role.value, ctx.user.unit_id)
    return JSONResponse({"receipt": receipt.jws}, status_code=201)


@api("/exchange/v1/units/{unit_id}/messages", "POST", action=Action.EXCHANGE_UNIT_WRITE)
@guarded("exchange.unit.send")
async def unit_send(ctx: Ctx, ex: Exchange) -> Response:
    """Staff send from the unit's address to an agency, signed with the address's key on their device."""
    await _unit_addresses(ctx, ex, Action.EXCHANGE_UNIT_WRITE)
    envelope, content = _strings(await _read_body(ctx.request, ex.settings.exchange_max_bytes), "envelope", "content")
    _, receipt, created = await ex.service.receive(envelope, content, staff=ctx.user)
    return _receipt_response(receipt.jws, created)


# -- address keys wrapped to the unit key (docs/exchange.md, Address keys in staff browsers) -----------
# The address keys staff devices may hold, by use: the wrap kind and the curve a browser can use it with.
SHAREABLE_KEYS = {"enc": ("address", "X25519"), "sig": ("address-sign", "Ed25519")}


def _wrap_view(w: AddressKeyWrap, public: dict[str, Any] | None) -> dict[str, Any]:
    return {"address": w.address, "kid": w.kid, "use": w.use, "kind": w.kind, "key_version": w.key_version,
            "unit_epoch": w.unit_epoch,
            "enc": b64u(w.enc), "ct": b64u(w.ct), "wrapped_by_device": w.wrapped_by_device,
            "signature": b64u(w.signature), "public_key": public}


@api("/exchange/v1/units/{unit_id}/address-keys", "GET", action=Action.EXCHANGE_UNIT_READ)
@guarded("exchange.unit.address_keys")
async def unit_address_keys(ctx: Ctx, ex: Exchange) -> Response:
    """The unit's address private keys (decryption and signing), each wrapped to a unit key epoch and signed
    by the staff device that wrapped it, with the address's public key; staff devices unwrap them with the
    unit key."""
    unit_id = ctx.request.path_params["unit_id"]
    await _unit_addresses(ctx, ex, Action.EXCHANGE_UNIT_READ)
    publics = {k["kid"]: k for a in await ex.store.addresses() if a.unit_id == unit_id for k in a.keys}
    return JSONResponse({"address_keys": [_wrap_view(w, publics.get(w.kid))
                                          for w in await ex.store.address_key_wraps(unit_id)]})


@api("/exchange/v1/units/{unit_id}/address-keys", "POST", action=Action.EXCHANGE_UNIT_WRITE, status=201)
@guarded("exchange.unit.address_keys")
async def put_unit_address_key(ctx: Ctx, ex: Exchange) -> Response:
    """A staff device that holds an address key (its X25519 decryption key or its Ed25519 signing key) uploads
    it wrapped to a unit key epoch and signed. The server checks who signed it and for what; it cannot open it."""
    unit_id = ctx.request.path_params["unit_id"]
    addresses = await _unit_addresses(ctx, ex, Action.EXCHANGE_UNIT_WRITE)
    body = await _read_body(ctx.request, 4096)
    address, kid, enc, ct, signature = _strings(body, "address", "kid", "enc", "ct", "signature")
    version, epoch = body.get("key_version"), body.get("unit_epoch")
    if type(version) is not int or type(epoch) is not int or not (0 < version < 2**32 and 0 < epoch < 2**32):
        raise ExchangeError(400, "malformed_body", "key_version and unit_epoch must be integers from 1")
    entry = await ex.store.address(address) if address in addresses else None
    key = next((k for k in entry.keys if k.get("kid") == kid), None) if entry else None
    use = key.get("use") if key else None
    if key is None or use not in SHAREABLE_KEYS or key.get("crv") != SHAREABLE_KEYS[use][1]:
        raise ExchangeError(404, "unknown_recipient", "no such active X25519 encryption key or Ed25519 signing key "
                                                      "of your unit's address")
    kind = SHAREABLE_KEYS[use][0]
    if await ex.store.unit_epoch_public(unit_id, epoch) is None:
        raise ExchangeError(400, "malformed_body", "no such unit key epoch")
    device = await ctx.services.store.get_device(ctx.device_id) if ctx.device_id else None
    if device is None or device.user_id != ctx.user.id or not device.active:
        raise ExchangeError(403, "forbidden", "send from one of your own active devices (X-Samtal-Device)")
    try:
        wrapped = WrappedKey(unb64u(enc), unb64u(ct))
        sig = unb64u(signature)
    except MalformedError as error:
        raise ExchangeError(400, "malformed_body", str(error)) from None
    if not verify_wrap(DevicePublicKeys(device.sign_pub, device.kem_pub), sig, kind, address, version,
                       f"unit:{epoch}", wrapped):
        raise ExchangeError(400, "bad_signature", "the wrap is not signed by your device for this address, "
                                                  "key version and unit epoch")
    await ex.store.put_address_key_wrap(
        AddressKeyWrap(kid, epoch, address, unit_id, version, wrapped.enc, wrapped.ct, device.id, sig, use),
        exchange_event("exchange.address_key.wrap", "allowed", ctx.user.id, ctx.user.role.value, unit_id=unit_id,
                       address=address, kid=kid, use=use, unit_epoch=epoch, device=device.id))
    return JSONResponse({"stored": True, "kid": kid, "unit_epoch": epoch}, status_code=201)
