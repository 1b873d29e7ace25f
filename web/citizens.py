"""Citizens as the unit's staff handle them. A person at the desk without a Samtal account (docs/applications.md,
paper applications): staff find or register them by personal identity number, so that a paper application can
open a case for them. The number is hashed with the server's identity key exactly as at an e-identification
sign-in (web/login.py), so when the person later signs in themselves they find their case; it is never
stored, logged or audited. And a protected identity (skyddade personuppgifter, chat/cases/protection.py), flagged
by a supervisor."""
from __future__ import annotations

from starlette.responses import JSONResponse, Response

from chat.errors import InvalidInput
from chat.identity import normalize
from chat.model import User
from chat.policy import Action
from web.apischema import BOOL, ID, STR, obj, string
from web.httpapi import Body, Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

MAX_NAME = 200


async def person_at_the_desk(ctx: Ctx, body: Body) -> tuple[User, bool]:
    """The person a body's `personal_number` and `name` name, found or registered (and whether new). Also
    how staff name a representative (web/representatives.py)."""
    pnr = normalize(body.str("personal_number", 20))
    if pnr is None:
        raise InvalidInput("not a valid personal identity number (YYYYMMDD-NNNN)", code="invalid_personal_number")
    name = " ".join(body.str("name", MAX_NAME).split())
    if not name or any(not ch.isprintable() for ch in name):
        raise InvalidInput("the person's name, as on their identity document", code="invalid_field")
    return await ctx.services.login.citizen(pnr, name, authoritative=False)


@api("/api/units/{unit_id}/citizens", "POST", action=Action.CITIZEN_REGISTER, status=201, also=(200,),
     body=obj({"personal_number": string(20), "name": string(MAX_NAME)}),
     response=obj({"citizen": obj({"id": ID, "name": STR}), "new": BOOL}))
async def register_citizen(ctx: Ctx) -> Response:
    """`{personal_number, name}` -> the person's account (201 when new, 200 when they had one). An existing
    account keeps its name: the identity provider, not the desk, is the source of truth for it."""
    unit_id = ctx.unit_id
    user, new = await person_at_the_desk(ctx, await ctx.body())
    await ctx.services.messages.auditor.record(ctx.user, "citizen.registered" if new else "citizen.found",
                                               "allowed", unit_id=unit_id, detail={"citizen": user.id})
    return JSONResponse({"citizen": {"id": user.id, "name": user.display_name}, "new": new},
                        status_code=201 if new else 200)


@api("/api/cases/{case_id}/protected-identity", "PUT", action=Action.CITIZEN_PROTECT,
     body=obj({"protected": BOOL}), response=obj({"case_id": ID, "protected_identity": BOOL}))
async def set_protected_identity(ctx: Ctx) -> Response:
    """(supervisor) `{protected: bool}`: the case's citizen has a protected identity, or no longer has."""
    case = ctx.case
    body = await ctx.body()
    protected = body.bool("protected")
    if await ctx.services.protection.set(ctx.user, case, protected):
        await ctx.services.messages.auditor.record(
            ctx.user, "citizen.protected" if protected else "citizen.unprotected", "allowed", case_id=case.id,
            unit_id=case.unit_id, detail={"citizen": case.citizen_id})
    return JSONResponse({"case_id": case.id, "protected_identity": protected})
