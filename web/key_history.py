"""History links between key epochs over HTTP (docs/protocol.md section 17): a key holder adds the link that
lets the newest epoch open the one before it; a device that is given only the newest epoch reads them to
open every older one."""
from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chat.keys.history import KeyHistory
from chat.policy import Action
from chat.storage.key_history import HistoryLink
from crypto.encoding import b64u
from web.apischema import BOOL, EPOCH, ID, array, base64url, obj
from web.httpapi import Body, Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

MAX_LINKS = 100
LINKS = obj({"links": array(obj({"epoch": EPOCH, "sealed_epoch": EPOCH, "link": base64url(max_bytes=128),
                                 "signature": base64url(64)}), MAX_LINKS)})


LINK_VIEW = obj({"epoch": EPOCH, "sealed_epoch": EPOCH, "link": base64url(max_bytes=128), "signer_device": ID,
                 "signature": base64url(64)})
HISTORY = obj({"links": array(LINK_VIEW)})
ADDED = obj({"added": BOOL})


def link_view(k: HistoryLink) -> dict[str, Any]:
    return {"epoch": k.epoch, "sealed_epoch": k.sealed_epoch, "link": b64u(k.link), "signer_device": k.signer_device,
            "signature": b64u(k.signature)}


def _items(body: Body) -> list[tuple[int, int, bytes, bytes]]:
    return [(item.int("epoch", 1, 2**32 - 1), item.int("sealed_epoch", 1, 2**32 - 1), item.bytes("link", max_len=128),
             item.bytes("signature", 64)) for item in body.list("links", max_items=MAX_LINKS)]


def _history(ctx: Ctx) -> KeyHistory:
    history = ctx.services.keys.history
    assert history is not None, "the app is built with a key history store"
    return history


@api("/api/units/{unit_id}/history", "GET", action=Action.UNIT_KEYS_READ, response=HISTORY)
async def unit_history(ctx: Ctx) -> Response:
    unit_id = ctx.request.path_params["unit_id"]
    await ctx.services.keys.unit_keys(ctx.user, ctx.require_device(), unit_id)  # the same checks as the keys
    return JSONResponse({"links": [link_view(k) for k in await _history(ctx).links.links("unit", unit_id)]})


@api("/api/units/{unit_id}/history", "POST", action=Action.UNIT_KEYS_CREATE, status=201, body=LINKS, response=ADDED)
async def add_unit_history(ctx: Ctx) -> Response:
    body = await ctx.body()
    await _history(ctx).add_unit_links(ctx.user, ctx.require_device(), ctx.request.path_params["unit_id"],
                                       _items(body))
    return JSONResponse({"added": True}, status_code=201)


@api("/api/cases/{case_id}/history", "GET", action=Action.CASE_KEYS_READ, response=HISTORY)
async def case_history_links(ctx: Ctx) -> Response:
    case = ctx.case
    await ctx.services.keys.own_device(ctx.user, ctx.require_device())
    return JSONResponse({"links": [link_view(k) for k in await _history(ctx).links.links("case", case.id)]})


@api("/api/cases/{case_id}/history", "POST", action=Action.CASE_KEYS_WRITE, status=201, body=LINKS, response=ADDED)
async def add_case_history(ctx: Ctx) -> Response:
    case = ctx.case
    body = await ctx.body()
    await _history(ctx).add_case_links(ctx.user, ctx.require_device(), case, _items(body))
    return JSONResponse({"added": True}, status_code=201)
