"""Retention and deletion (gallring) for the unit's staff (docs/retention.md): the rules in force for each kind
of record, the unit's legal holds, and the deletion register; a supervisor sets and lifts a legal hold on a
case, and sets the unit's own rules. The register holds no content and names no person or case: what kind of record, how many, which rule,
when, and that the job (not a person) did it. The holds name the unit's own cases, so reading them is
audited like any read of case data."""
from __future__ import annotations

from starlette.responses import JSONResponse, Response

from chat.errors import InvalidInput, NotFound
from chat.model import now_ms
from chat.policy import Action
from chat.retention.rules import Rules
from chat.storage.retention import RECORD_KINDS, Hold, Rule
from web.apischema import BOOL, ID, MS, STR, array, enum, integer, nullable, obj, string
from web.httpapi import Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

MAX_REASON = 500


@api("/api/retention", "GET", action=Action.RETENTION_READ, response=obj({
    "unit_id": ID,
    "rules": array(obj({"kind": STR, "keep_years": nullable(integer()), "source": STR, "rule": STR})),
    "holds": array(obj({"case_id": ID, "title": STR, "reason": STR, "set_at": MS, "set_by": STR})),
    "register": array(obj({"at": MS, "kind": STR, "rule": STR, "count": integer(), "automated": BOOL,
                           "scope": enum("installation", "unit")}))}))
async def retention(ctx: Ctx) -> Response:
    """The rules in force in the staff member's unit, its legal holds, and the newest 200 rows of the deletion
    register (the unit's, and the audit log's own, which is the whole installation's)."""
    store = ctx.services.store
    unit_id = ctx.unit_id
    rules = Rules(await store.retention.rules()).for_unit(unit_id)
    holds = []
    for hold in await store.retention.holds():
        case = await store.get_case(hold.case_id)
        if case is None or case.unit_id != unit_id:
            continue
        setter = await store.get_user(hold.set_by)
        holds.append({"case_id": case.id, "title": case.title, "reason": hold.reason, "set_at": hold.set_at,
                      "set_by": setter.display_name if setter else hold.set_by})
    register = await store.retention.register(200, unit_id)
    if holds:
        await ctx.services.messages.auditor.record(ctx.user, "retention.read", "allowed", unit_id=unit_id,
                                                   detail={"holds": len(holds)})
    return JSONResponse({
        "unit_id": unit_id,
        "rules": [{"kind": r.record_kind, "keep_years": r.keep_years, "source": r.source, "rule": r.name}
                  for r in rules],
        "holds": holds,
        "register": [{"at": d.at, "kind": d.record_kind, "rule": d.rule, "count": d.count,
                      "automated": d.automated, "scope": "installation" if d.unit_id == "*" else "unit"}
                     for d in register]})


@api("/api/retention/rules/{kind}", "PUT", action=Action.RETENTION_MANAGE,
     body=obj({"period": enum("default", "never", "years")}, {"years": integer(1, 100)}),
     response=obj({"kind": STR, "keep_years": nullable(integer()), "source": STR, "rule": STR}))
async def set_rule(ctx: Ctx) -> Response:
    """(supervisor) the unit's own rule for a kind of record: `{period: "years", years: N}` (deleted N years
    after the last entry in the file), `{period: "never"}` (kept: records the law says must not be deleted),
    or `{period: "default"}` (the unit's own rule removed: the municipality's or the law's applies)."""
    kind = ctx.request.path_params["kind"]
    if kind not in RECORD_KINDS:
        raise NotFound("no such kind of record", code="not_found")
    body = await ctx.body()
    period = body.str("period", 10)
    years = body.data.get("years")
    if period == "years" and not isinstance(years, int):
        raise InvalidInput("a rule in years needs `years`", code="invalid_field")
    store = ctx.services.store.retention
    unit_id = ctx.unit_id
    if period == "default":
        await store.remove_rule(unit_id, kind)
    else:
        await store.set_rule(Rule(unit_id, kind, years if period == "years" else None, now_ms(), ctx.user.id))
    applied = Rules(await store.rules()).applied(unit_id, kind)
    await ctx.services.messages.auditor.record(ctx.user, "retention.rule", "allowed", unit_id=unit_id,
                                               detail={"kind": kind, "rule": applied.name})
    return JSONResponse({"kind": kind, "keep_years": applied.keep_years, "source": applied.source,
                         "rule": applied.name})


@api("/api/cases/{case_id}/legal-hold", "PUT", action=Action.CASE_HOLD,
     body=obj({"held": BOOL, "reason": string(MAX_REASON)}),
     response=obj({"case_id": ID, "held": BOOL, "changed": BOOL}))
async def set_legal_hold(ctx: Ctx) -> Response:
    """(supervisor) `{held: true, reason}` keeps the case from deletion until the hold is lifted (`held:
    false`); a case already held keeps its first reason. Both are in the audit log with the person who did it."""
    case = ctx.case
    body = await ctx.body()
    held = body.bool("held")
    reason = " ".join(body.str("reason", MAX_REASON).split())
    store = ctx.services.store.retention
    if held:
        if not reason or any(not ch.isprintable() for ch in reason):
            raise InvalidInput("a legal hold needs its reason (e.g. the court's or agency's request)",
                               code="invalid_field")
        changed = await store.set_hold(Hold(case.id, reason, now_ms(), ctx.user.id))
    else:
        changed = await store.lift_hold(case.id)
    if changed:
        await ctx.services.messages.auditor.record(
            ctx.user, "case.legal_hold.set" if held else "case.legal_hold.lifted", "allowed", case_id=case.id,
            unit_id=case.unit_id)  # the reason stays with the hold: free text is kept out of the log
    return JSONResponse({"case_id": case.id, "held": held, "changed": changed})
