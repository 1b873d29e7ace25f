"""Cases and the unit's staff over HTTP (docs/protocol.md §14): assignment, the staff and their substitutes
(vikarie), a staff member leaving."""
from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chat.model import (
    Substitution,
)
from chat.policy import Action
from web import frames
from web.account import user_view
from web.apischema import ID, MS, USER_VIEW, array, integer, obj, string
from web.httpapi import Ctx, RouteTable
from web.messaging import CASE_VIEW, case_view

api = RouteTable()


@api("/api/cases/{case_id}/assign", "POST", action=Action.CASE_ASSIGN, body=obj(optional={"user_id": string(64)}),
     response=obj({"case": CASE_VIEW}))
async def assign_case(ctx: Ctx) -> Response:
    case = ctx.case  # the assignment decides CASE_ASSIGN itself
    body = await ctx.body()
    user_id = body.str("user_id", max_len=64, required=False)
    await ctx.services.assignments.assign(ctx.user, case, user_id)
    return JSONResponse({"case": await case_view(ctx, await ctx.services.messages.case_for(
        ctx.user, case.id, Action.CASE_READ))})


SUBSTITUTION_VIEW = obj({"id": integer(), "absent_user": ID, "substitute": ID, "starts_at": MS, "ends_at": MS,
                         "created_by": ID})


def substitution_view(s: Substitution) -> dict[str, Any]:
    return {"id": s.id, "absent_user": s.absent_user, "substitute": s.substitute, "starts_at": s.starts_at,
            "ends_at": s.ends_at, "created_by": s.created_by}


@api("/api/units/{unit_id}/staff", "GET", action=Action.UNIT_STAFF_READ, response=obj({
    "staff": array({**USER_VIEW, "properties": {**USER_VIEW["properties"], "approved_devices": integer()}}),
    "substitutions": array(SUBSTITUTION_VIEW)}))
async def unit_staff(ctx: Ctx) -> Response:
    unit_id = ctx.request.path_params["unit_id"]
    substitutions = await ctx.services.assignments.substitutions(ctx.user, unit_id)
    staff = await ctx.services.store.staff_of_unit(unit_id)
    approved = await ctx.services.keys.approved_devices_by_owner(ctx.user, unit_id)
    return JSONResponse({"staff": [{**user_view(u), "approved_devices": approved.get(u.id, 0)} for u in staff],
                         "substitutions": [substitution_view(s) for s in substitutions]})


@api("/api/units/{unit_id}/staff/{user_id}/remove", "POST", action=Action.UNIT_STAFF_REMOVE,
     response=obj({"removed": ID}))
async def remove_staff(ctx: Ctx) -> Response:
    """(supervisor) A staff member leaves: devices revoked, live connections ended, keys to be rotated."""
    unit_id, user_id = ctx.request.path_params["unit_id"], ctx.request.path_params["user_id"]
    await ctx.services.assignments.remove_staff(ctx.user, unit_id, user_id)
    ctx.services.hub.cut_user(user_id)
    ctx.services.hub.publish_unit_staff(unit_id, frames.KEYS_PENDING)
    return JSONResponse({"removed": user_id})


@api("/api/units/{unit_id}/substitutes", "POST", action=Action.UNIT_SUBSTITUTES_MANAGE, status=201, body=obj(
    {"absent_user": string(64), "substitute": string(64), "starts_at": MS, "ends_at": MS}),
     response=obj({"id": integer()}))
async def add_substitute(ctx: Ctx) -> Response:
    body = await ctx.body()
    new_id = await ctx.services.assignments.add_substitution(
        ctx.user, ctx.request.path_params["unit_id"], body.str("absent_user", 64), body.str("substitute", 64),
        body.int("starts_at"), body.int("ends_at"))
    return JSONResponse({"id": new_id}, status_code=201)


@api("/api/units/{unit_id}/substitutes/{substitution_id:int}", "DELETE", action=Action.UNIT_SUBSTITUTES_MANAGE, status=204)
async def remove_substitute(ctx: Ctx) -> Response:
    await ctx.services.assignments.revoke_substitution(ctx.user, ctx.request.path_params["unit_id"],
                                                       ctx.request.path_params["substitution_id"])
    return Response(status_code=204)
