"""Registerutdrag over HTTP (docs/extract.md, GDPR art. 15): the citizen's own extract (the server's part:
metadata and ciphertext, which their browser opens and makes into a document and a JSON file), and the desk:
a unit's part for a person who comes in, the requests to other units, their due dates and deliveries.

Every request and every delivery has an audit row of its own naming the request, and the assembly has one row
per case it read, so that each unit's log reviewer sees that its case data went into an extract."""
from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chat.audit.auditor import Auditor
from chat.extract import Extracts, request_view
from chat.model import now_ms
from chat.policy import Action
from web.apischema import ANY_OBJECT, BOOL, ID, MS, STR, array, enum, integer, nullable, obj, string
from web.httpapi import Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

EMPTY = obj()
REQUEST_VIEW = obj({
    "id": ID, "unit_id": nullable(ID), "requested_by": ID, "on_behalf": BOOL, "requested_at": MS, "due_at": MS,
    "parent_id": nullable(ID), "delivered_at": nullable(MS), "delivered_by": nullable(ID), "overdue": BOOL})
# The extract itself (docs/extract.md has every field): what is held about the person, the content as the
# ciphertext the server holds.
EXTRACT = obj({"format": enum("samtal.register-extract/1"), "made_at": MS, "request": REQUEST_VIEW,
               "person": obj({"id": ID, "name": STR}), "scope": enum("all_units", "unit"), "unit_id": nullable(ID),
               "cases": array(ANY_OBJECT)}, {"account": ANY_OBJECT})


async def _audit(ctx: Ctx, what: str, request_id: str, *, case_id: str | None = None, unit_id: str | None = None,
                 **detail: Any) -> None:
    await Auditor(ctx.services.store).record(ctx.user, what, "allowed", case_id=case_id, unit_id=unit_id,
                                             detail={"request": request_id, **detail})


async def _audit_cases(ctx: Ctx, extract: dict[str, Any]) -> None:
    for case in extract["cases"]:
        await _audit(ctx, "extract.assembled", extract["request"]["id"], case_id=case["id"], unit_id=case["unit_id"])


@api("/api/me/extract", "POST", action=Action.SELF, body=EMPTY, status=201, response=EXTRACT)
async def request_own(ctx: Ctx) -> Response:
    """(the citizen) Ask for one's register extract: logged as a request, answered with the server's part."""
    await ctx.body()  # `{}`: a JSON body, so that no cross-site form can ask for one
    request, extract = await Extracts(ctx.services.store).request_own(ctx.user)
    await _audit(ctx, "extract.requested", request.id)
    await _audit_cases(ctx, extract)
    return JSONResponse(extract, status_code=201)


@api("/api/me/extract/{request_id}/delivered", "POST", action=Action.SELF, body=EMPTY, response=REQUEST_VIEW)
async def delivered_own(ctx: Ctx) -> Response:
    """(the citizen) Their browser made the document and offered it: the request is answered."""
    await ctx.body()
    request = await Extracts(ctx.services.store).deliver_own(ctx.user, ctx.request.path_params["request_id"])
    await _audit(ctx, "extract.delivered", request.id)
    return JSONResponse(request_view(request, now_ms()))


@api("/api/units/{unit_id}/extracts", "GET", action=Action.EXTRACT_DESK, response=obj({"requests": array(
    {**REQUEST_VIEW, "properties": {**REQUEST_VIEW["properties"], "citizen_id": ID, "citizen_name": nullable(STR),
                                    "other_units": obj({"count": integer(), "delivered": integer(),
                                                        "overdue": integer()})}})}))
async def unit_requests(ctx: Ctx) -> Response:
    return JSONResponse({"requests": await Extracts(ctx.services.store).of_unit(ctx.user, ctx.unit_id)})


@api("/api/units/{unit_id}/extracts", "POST", action=Action.EXTRACT_DESK, status=201,
     body=obj({"citizen_id": string(64, 1)}), response=obj({"request": REQUEST_VIEW, "other_units": integer()}))
async def desk_request(ctx: Ctx) -> Response:
    """(staff at the desk) A person asks for their extract: the unit's part, and a request to every other unit
    that holds a case of theirs (the answer says how many, not which)."""
    body = await ctx.body()
    own, *parts = await Extracts(ctx.services.store).desk_request(ctx.user, ctx.unit_id, body.str("citizen_id", 64))
    await _audit(ctx, "extract.requested", own.id, unit_id=ctx.unit_id, other_units=len(parts))
    for part in parts:  # each unit's log shows the request it was sent, and who sent it
        await _audit(ctx, "extract.requested", part.id, unit_id=part.unit_id)
    at = now_ms()
    return JSONResponse({"request": request_view(own, at), "other_units": len(parts)}, status_code=201)


@api("/api/units/{unit_id}/extracts/{request_id}", "GET", action=Action.EXTRACT_DESK, response=EXTRACT)
async def unit_part(ctx: Ctx) -> Response:
    extract = await Extracts(ctx.services.store).unit_part(ctx.user, ctx.unit_id, ctx.request.path_params["request_id"])
    await _audit_cases(ctx, extract)
    return JSONResponse(extract)


@api("/api/units/{unit_id}/extracts/{request_id}/delivered", "POST", action=Action.EXTRACT_DESK, body=EMPTY,
     response=REQUEST_VIEW)
async def part_delivered(ctx: Ctx) -> Response:
    await ctx.body()
    request = await Extracts(ctx.services.store).deliver_part(ctx.user, ctx.unit_id,
                                                              ctx.request.path_params["request_id"])
    await _audit(ctx, "extract.delivered", request.id, unit_id=ctx.unit_id)
    return JSONResponse(request_view(request, now_ms()))
