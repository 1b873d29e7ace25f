"""Log review (loggkontroll) over HTTP (docs/protocol.md §14): the unit's audit log searched and sampled,
and the reviewer's findings."""
from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chat.audit.chain import AuditRow
from chat.audit.review import AuditFilter
from chat.policy import Action
from web.apischema import ANY_OBJECT, ID, MS, STR, array, integer, nullable, obj, string
from web.httpapi import Ctx, RouteTable

api = RouteTable()


def _audit_filter(ctx: Ctx) -> AuditFilter:
    params = ctx.request.query_params
    start, end = ctx.query_optional_int("from"), ctx.query_optional_int("to")  # ms since the epoch
    return AuditFilter(citizen=params.get("citizen") or None, case_id=params.get("case") or None,
                       staff=params.get("staff") or None, start=start, end=end)


ROWS = obj({"rows": array(obj({
    "id": integer(), "at": MS, "action": STR, "outcome": STR, "actor": nullable(ID), "actor_name": nullable(STR),
    "role": nullable(STR), "unit_id": nullable(ID), "case_id": nullable(ID), "case_citizen_name": nullable(STR),
    "reason": STR, "detail": ANY_OBJECT, "hash": string(64, description="the row's chain hash, hex")}))})


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


@api("/api/audit", "GET", action=Action.AUDIT_READ, response=ROWS)
async def audit_search(ctx: Ctx) -> Response:
    """loggkontroll: the unit's audit log, filtered by citizen, case, staff member and period."""
    query = await ctx.services.review.resolve(ctx.user, _audit_filter(ctx))
    rows = await ctx.services.review.search(ctx.user, query, ctx.query_int("after", 0), ctx.query_int("limit", 100))
    return JSONResponse({"rows": await audit_views(ctx, rows)})


@api("/api/audit/sample", "GET", action=Action.AUDIT_READ, response=ROWS)
async def audit_sample(ctx: Ctx) -> Response:
    query = await ctx.services.review.resolve(ctx.user, _audit_filter(ctx))
    rows = await ctx.services.review.sample(ctx.user, query, ctx.query_int("size", 20))
    return JSONResponse({"rows": await audit_views(ctx, rows)})


@api("/api/audit/people", "GET", action=Action.AUDIT_READ, response=obj({
    "staff": array(obj({"id": ID, "name": STR, "role": STR})), "citizens": array(obj({"id": ID, "name": STR}))}))
async def audit_people(ctx: Ctx) -> Response:
    """The names a reviewer can search the log by: the unit's staff and the citizens with a case in it."""
    staff, citizens = await ctx.services.review.people(ctx.user)
    return JSONResponse({"staff": [{"id": u.id, "name": u.display_name, "role": u.role.value} for u in staff],
                         "citizens": [{"id": u.id, "name": u.display_name} for u in citizens]})


@api("/api/audit/findings", "GET", action=Action.AUDIT_READ, response=obj({"findings": array(obj({
    "id": integer(), "audit_id": integer(), "reviewer": ID, "verdict": STR, "note": STR, "created_at": MS}))}))
async def audit_findings(ctx: Ctx) -> Response:
    findings = await ctx.services.review.findings(ctx.user)
    return JSONResponse({"findings": [{"id": f.id, "audit_id": f.audit_id, "reviewer": f.reviewer,
                                       "verdict": f.verdict, "note": f.note, "created_at": f.created_at}
                                      for f in findings]})


@api("/api/audit/findings", "POST", action=Action.AUDIT_REVIEW, status=201,
     body=obj({"audit_id": integer(1), "verdict": string(16)}, {"note": string(2000)}),
     response=obj({"id": integer()}))
async def add_audit_finding(ctx: Ctx) -> Response:
    body = await ctx.body()
    new_id = await ctx.services.review.record(ctx.user, body.int("audit_id", 1), body.str("verdict", 16),
                                              body.str("note", 2000, required=False) or "")
    return JSONResponse({"id": new_id}, status_code=201)
