"""The account over HTTP (docs/protocol.md §14): the demo sign-in, signing out, who am I."""
from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chat.errors import NotFound
from chat.model import (
    User,
)
from chat.policy import Action
from web.apischema import BOOL, DEVICE_VIEW, USER_VIEW, array, obj, string
from web.httpapi import PUBLIC, Ctx, RouteTable
from web.keys import device_view
from web.problems import problem

api = RouteTable()


def user_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role.value,
            "unit_id": user.unit_id}

# -- session -----------------------------------------------------------------------------------------
@api("/api/demo/login", "POST", action=PUBLIC, body=obj({"username": string(64)}),
     response=obj({"user": USER_VIEW, "demo": BOOL}))
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


@api("/api/logout", "POST", action=Action.SELF, response=obj({"signed_out": BOOL}))
async def logout(ctx: Ctx) -> Response:
    response = JSONResponse({"signed_out": True})
    await ctx.services.sessions.end(ctx.request, response)
    return response


@api("/api/me", "GET", action=Action.SELF,
     response=obj({"user": USER_VIEW, "devices": array(DEVICE_VIEW), "demo": BOOL}))
async def me(ctx: Ctx) -> Response:
    devices = await ctx.services.store.devices_of_user(ctx.user.id)
    return JSONResponse({"user": user_view(ctx.user), "devices": [device_view(d) for d in devices],
                         "demo": ctx.services.settings.demo})
