"""Samtal as a message service (meddelandetjänst) for a unit's case management system (#16 item 4;
docs/sdk.md): Digg's REST API (../shared/sdk/api/sdk-api-restful.yml) under /sdk/api/v1, so that the system
reaches the federation through Samtal instead of holding the message service's credentials itself.

A system authenticates with the bearer token the operator gave it (SAMTAL_SDK_CONFIG keeps its SHA-256) and
is decided on with Action.SDK_CLIENT for its unit; it may send only from its own functional addresses and
see only messages to or from them. Each call is passed on to the municipality's message service through
the same client the bridge uses, and recorded in the audit log. Answers follow Digg's file: JSON, and its
RFC 7807-shaped Events (with eventIssues) for a 400, as the file prescribes application/json for them."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat.errors import NotFound
from chat.exchange.sdk.addresses import CaseSystem
from chat.exchange.sdk.bridge import SdkBridge, party_address
from chat.exchange.sdk.mapping import MappingError, Party, SdkMessage, from_rest, to_rest
from chat.exchange.sdk.rest_client import SdkApiError
from chat.exchange.service import exchange_event
from chat.model import Role, User
from chat.policy import Action, decide
from web.httpapi import PUBLIC, Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

BASE = "/sdk/api/v1/sdk/messages"
VERSION = "sdk api 1.0.0"
MAX_BODY = 40 * 1024 * 1024  # a message with its files, base64 (the exchange takes 30 MB of content)
FILTERS = ("messageStatus", "recipientAttention.subOrganization.extension", "senderAttention.subOrganization.extension")


# The answers' shapes (Digg's outputData / outputArrayData, messageDef in detail there); 201 and 202 have no body.
_MESSAGE = {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"},
                                             "attributes": {"type": "object"}}}
ONE = {"type": "object", "properties": {"meta": {"type": "object"}, "data": _MESSAGE}}
MANY = {"type": "object", "properties": {"meta": {"type": "object"}, "data": {"type": "array", "items": _MESSAGE}}}
NO_BODY = {"description": "no body, as Digg's file says for this status"}


class Refused(Exception):
    def __init__(self, status: int, detail: str, issue: str = "MESSAGE_EXCHANGE_ERROR") -> None:
        super().__init__(detail)
        self.status, self.detail, self.issue = status, detail, issue


def _bridge(ctx: Ctx) -> SdkBridge:
    sdk = ctx.services.exchange.sdk
    if sdk is None:
        raise Refused(404, "no SDK message service is configured")
    return sdk[0]


def _system(ctx: Ctx, bridge: SdkBridge) -> CaseSystem:
    """The case system the bearer token belongs to, decided on for its unit."""
    header = ctx.request.headers.get("authorization", "")
    digest = hashlib.sha256(header[7:].strip().encode()).hexdigest() if header.startswith("Bearer ") else ""
    found = next((s for s in bridge.book.case_systems if digest and hmac.compare_digest(s.token_sha256, digest)), None)
    if found is None:
        raise Refused(401, "send Authorization: Bearer <the token your operator gave you>")
    ctx.user = User(f"case-system:{found.name}", found.name, found.name, Role.CASE_SYSTEM, found.unit_id)
    if not decide(ctx.user, Action.SDK_CLIENT, unit_id=found.unit_id):
        raise Refused(401, "not this unit's case management system")
    return found


def _events(status: int, detail: str, issue: str) -> Response:
    if status != 400:
        return Response(status_code=status)  # the file gives 401 and 404 no body
    return JSONResponse({"type": "urn:problem-type:sdk:badRequest", "title": "Bad Request", "status": 400,
                         "detail": issue, "instance": f"urn:uuid:{uuid.uuid4()}",
                         "eventIssues": [{"typeCode": issue, "title": detail[:300], "detail": detail[:300]}]},
                        status_code=400)


async def _answer(ctx: Ctx, action: str, work: Any) -> Response:
    """Run one operation: refusals as the file says, each call audited (who, which message, never content)."""
    try:
        bridge = _bridge(ctx)
        system = _system(ctx, bridge)
        response, detail = await work(bridge, system)
    except Refused as refused:
        await ctx.services.exchange.store.append_audit(exchange_event(
            action, "denied", ctx.user.id if ctx.user else None, "case_system", refused.issue,
            status=refused.status, route=ctx.request.url.path))
        return _events(refused.status, refused.detail, refused.issue)
    except SdkApiError as error:
        status = 400 if 400 <= error.status < 500 and error.status != 404 else 404 if error.status == 404 else 503
        await ctx.services.exchange.store.append_audit(exchange_event(
            action, "error", ctx.user.id, "case_system", "message_service", unit_id=ctx.user.unit_id, status=status))
        return _events(status, f"the message service answered {error.status}", "MESSAGE_EXCHANGE_ERROR")
    await ctx.services.exchange.store.append_audit(exchange_event(
        action, "allowed", ctx.user.id, "case_system", unit_id=system.unit_id, **detail))
    return response  # type: ignore[no-any-return]


def _mine(system: CaseSystem, message: SdkMessage) -> bool:
    return message.sender.function in system.functions or message.recipient.function in system.functions


async def _body(request: Request) -> Any:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Refused(400, f"the message is larger than {MAX_BODY} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        raise Refused(400, "the body is not JSON") from None


@api(BASE, "POST", action=PUBLIC, status=201, response=NO_BODY)
async def send(ctx: Ctx) -> Response:
    """Send a message from one of the system's functional addresses (201: handed to the message service)."""
    async def work(bridge: SdkBridge, system: CaseSystem) -> tuple[Response, dict[str, Any]]:
        body = await _body(ctx.request)
        try:
            message = from_rest(body.get("data") if isinstance(body, dict) else None)
        except MappingError as error:
            raise Refused(400, str(error)) from None
        if message.sender.function not in system.functions or message.sender.organisation != bridge.book.organisation:
            raise Refused(400, "send from one of your functional addresses, as the municipality")
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        message_id = message.message_id or str(uuid.uuid4())
        ready = replace(message, message_id=message_id, status=None, created=message.created or now,
                        conversation_id=message.conversation_id or message_id)
        await bridge.carrier.send(ready)
        return Response(status_code=201), {"message": message_id, "organisation": message.recipient.organisation}
    return await _answer(ctx, "sdk.api.send", work)


@api(BASE, "GET", action=PUBLIC, response=MANY)
async def listing(ctx: Ctx) -> Response:
    """The system's messages by status and functional address (filter[attribute]=value), without documents."""
    async def work(bridge: SdkBridge, system: CaseSystem) -> tuple[Response, dict[str, Any]]:
        wanted = {name: ctx.request.query_params.get(f"filter[{name}]") for name in FILTERS}
        found: dict[str, SdkMessage] = {}
        for function in system.functions:
            for role in ("recipientAttention.subOrganization.extension", "senderAttention.subOrganization.extension"):
                if wanted[role] not in (None, function):
                    continue
                for m in await bridge.carrier.list(
                        status=wanted["messageStatus"], **{"function" if role.startswith("recipient")
                                                           else "sender_function": function}):
                    found.setdefault(m.message_id, m)
        data = [{**to_rest(m), "attributes": {k: v for k, v in to_rest(m)["attributes"].items()
                                              if k != "digitalDocument"}} for m in found.values()]
        return JSONResponse({"meta": {"version": VERSION}, "data": data}), {"count": len(data)}
    return await _answer(ctx, "sdk.api.list", work)


@api(BASE + "/{message_id}", "GET", action=PUBLIC, response=ONE)
async def fetch(ctx: Ctx) -> Response:
    """One of the system's messages with its documents."""
    async def work(bridge: SdkBridge, system: CaseSystem) -> tuple[Response, dict[str, Any]]:
        message = await _own(ctx, bridge, system)
        return JSONResponse({"meta": {"version": VERSION}, "data": to_rest(message)}), {"message": message.message_id}
    return await _answer(ctx, "sdk.api.read", work)


@api(BASE + "/{message_id}", "DELETE", action=PUBLIC, status=202, response=NO_BODY)
async def delete(ctx: Ctx) -> Response:
    """Remove one of the system's messages at the message service (its receipt is handled)."""
    async def work(bridge: SdkBridge, system: CaseSystem) -> tuple[Response, dict[str, Any]]:
        message = await _own(ctx, bridge, system)
        await bridge.carrier.delete(message.message_id)
        return Response(status_code=202), {"message": message.message_id}
    return await _answer(ctx, "sdk.api.delete", work)


async def _own(ctx: Ctx, bridge: SdkBridge, system: CaseSystem) -> SdkMessage:
    message = await bridge.carrier.fetch(ctx.request.path_params["message_id"])
    if not _mine(system, message):
        raise Refused(404, "no such message of yours")
    return message


# -- the recipient look-up for the unit's staff (#16 item 5) ----------------------------------------------
_WORDS = {"type": "string", "maxLength": 200}
_RECIPIENT = {"type": "object", "properties": {k: {"type": "string"} for k in (
    "organisation", "name", "function", "label", "address")}}


@api("/api/units/{unit_id}/sdk/recipients", "GET", action=Action.EXCHANGE_UNIT_READ,
     query={"organisation": _WORDS, "function": _WORDS},
     response={"type": "object", "properties": {"recipients": {"type": "array", "items": _RECIPIENT}}})
async def recipients(ctx: Ctx) -> Response:
    """SDK recipients by organisation (participant id or a word of its name) and function (a word of the
    functional address or its label), from the SDK file; `address` is the exchange address to write to."""
    sdk = ctx.services.exchange.sdk
    if sdk is None:
        raise NotFound("no SDK connection is configured")
    bridge: SdkBridge = sdk[0]
    found = bridge.book.lookup(ctx.request.query_params.get("organisation"), ctx.request.query_params.get("function"))
    return JSONResponse({"recipients": [
        {"organisation": r.organisation, "name": r.name, "function": r.function, "label": r.label,
         "address": party_address(Party(r.organisation, r.function, r.label))} for r in found]})
