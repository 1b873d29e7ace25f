"""Representatives and guardians over HTTP (chat/cases/mandates.py, docs/representatives.md): staff register a
representative for a case and end their mandate; whoever may read the case sees who acts for the citizen;
a caseworker withholds one published journal entry from the case's guardians after a harm assessment."""
from __future__ import annotations

from datetime import date
from typing import Any

from starlette.responses import JSONResponse, Response

from chat.errors import NotFound
from chat.model import Mandate, MandateBasis, MandateKind, Scope, now_ms
from chat.policy import Action
from chat.storage.mandates import Withholding
from web.apischema import BOOL, ID, ID16, MS, STR, array, enum, nullable, obj, string
from web.citizens import person_at_the_desk
from web.httpapi import Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

MAX_NAME = 200
MAX_REASON = 500

MANDATE_VIEW = obj({
    "id": {"type": "integer"}, "case_id": ID, "holder": ID, "holder_name": nullable(STR), "citizen": ID,
    "citizen_name": nullable(STR), "kind": enum(*MandateKind), "basis": enum(*MandateBasis),
    "basis_reference": STR, "document_blob": nullable(STR), "scopes": array(enum(*Scope)), "starts_at": MS,
    "ends_at": MS, "ended_at": nullable(MS), "ended_by": nullable(ID), "created_by": ID, "created_by_name":
    nullable(STR), "created_at": MS, "in_force": BOOL, "child_speaks_from": nullable(MS)})


async def mandate_view(ctx: Ctx, m: Mandate) -> dict[str, Any]:
    store = ctx.services.store
    holder, citizen, creator = (await store.get_user(m.holder), await store.get_user(m.citizen),
                                await store.get_user(m.created_by))
    return {"id": m.id, "case_id": m.case_id, "holder": m.holder, "holder_name": holder.display_name if holder else None,
            "citizen": m.citizen, "citizen_name": citizen.display_name if citizen else None, "kind": m.kind.value,
            "basis": m.basis.value, "basis_reference": m.basis_reference, "document_blob": m.document_blob,
            "scopes": sorted(s.value for s in m.scopes), "starts_at": m.starts_at, "ends_at": m.ends_at,
            "ended_at": m.ended_at, "ended_by": m.ended_by, "created_by": m.created_by,
            "created_by_name": creator.display_name if creator else None, "created_at": m.created_at,
            "in_force": m.in_force(now_ms()), "child_speaks_from": m.child_speaks_from}


@api("/api/cases/{case_id}/representatives", "GET", action=Action.CASE_READ,
     response=obj({"representatives": array(MANDATE_VIEW)}))
async def list_representatives(ctx: Ctx) -> Response:
    """Who acts for the case's citizen, ended mandates too (the case's timeline shows them)."""
    mandates = await ctx.services.mandates.of_case(ctx.user, ctx.case)
    return JSONResponse({"representatives": [await mandate_view(ctx, m) for m in mandates]})


@api("/api/cases/{case_id}/representatives", "POST", action=Action.MANDATE_MANAGE, status=201, body=obj(
    {"personal_number": string(20), "name": string(MAX_NAME), "kind": enum(*MandateKind),
     "basis": enum(*MandateBasis), "scopes": array(enum(*Scope), 4), "starts_at": MS},
    {"ends_at": MS, "reference": string(120), "document_blob": ID16,
     "child_born": string(10, pattern=r"^\d{4}-\d{2}-\d{2}$")}),
     response=obj({"representative": MANDATE_VIEW}))
async def register_representative(ctx: Ctx) -> Response:
    """(staff) Register a representative: the person by personal identity number (found, or registered as at
    the desk: web/citizens.py), the basis, scopes and period."""
    case = ctx.case
    body = await ctx.body()
    born = body.str("child_born", 10, required=False)
    try:
        child_born = date.fromisoformat(born) if born else None
    except ValueError:
        raise body.refuse("child_born", "is not a date") from None
    holder, _new = await person_at_the_desk(ctx, body)
    ends_at = body.data.get("ends_at")
    acting_for = await ctx.services.assignments.acting_for(ctx.user, case.unit_id)
    mandate = await ctx.services.mandates.register(
        ctx.user, case, holder, kind=MandateKind(body.str("kind")), basis=MandateBasis(body.str("basis")),
        reference=body.str("reference", 120, required=False) or "", scopes={Scope(s) for s in body.data["scopes"]},
        starts_at=body.int("starts_at"), ends_at=ends_at if isinstance(ends_at, int) else None,
        document_blob=body.str("document_blob", 64, required=False), child_born=child_born, acting_for=acting_for)
    await ctx.services.messages.auditor.record(
        ctx.user, "mandate.registered", "allowed", case_id=case.id, unit_id=case.unit_id,
        detail={"mandate": mandate.id, "holder": holder.id, "kind": mandate.kind.value,
                "scopes": sorted(s.value for s in mandate.scopes), "starts_at": mandate.starts_at,
                "ends_at": mandate.ends_at})
    return JSONResponse({"representative": await mandate_view(ctx, mandate)}, status_code=201)


@api("/api/cases/{case_id}/representatives/{mandate_id:int}/end", "POST", action=Action.MANDATE_MANAGE,
     response=obj({"representative": MANDATE_VIEW}))
async def end_representative(ctx: Ctx) -> Response:
    """(staff) End a mandate now: the representative loses the case at once and its key is rotated."""
    case = ctx.case
    acting_for = await ctx.services.assignments.acting_for(ctx.user, case.unit_id)
    mandate = await ctx.services.mandates.end(ctx.user, case, ctx.request.path_params["mandate_id"], acting_for)
    await ctx.services.messages.auditor.record(ctx.user, "mandate.ended", "allowed", case_id=case.id,
                                               unit_id=case.unit_id,
                                               detail={"mandate": mandate.id, "holder": mandate.holder})
    return JSONResponse({"representative": await mandate_view(ctx, mandate)})


WITHHELD_VIEW = obj({"entry_id": ID, "reason": STR, "by": ID, "at": MS})


@api("/api/cases/{case_id}/withheld", "GET", action=Action.JOURNAL_WRITE,
     response=obj({"withheld": array(WITHHELD_VIEW)}))
async def list_withheld(ctx: Ctx) -> Response:
    """(staff) The case's entries withheld from its guardians, with the harm assessment's reason."""
    return JSONResponse({"withheld": [{"entry_id": w.entry_id, "reason": w.reason, "by": w.by, "at": w.at}
                                      for w in await ctx.services.store.mandates.withheld(ctx.case.id)]})


@api("/api/journal/{entry_id}/withheld", "PUT", action=Action.JOURNAL_WITHHOLD,
     body=obj({"withheld": BOOL}, {"reason": string(MAX_REASON)}), response=obj({"withheld": BOOL}))
async def withhold_entry(ctx: Ctx) -> Response:
    """(staff) Withhold one entry from the case's guardians after a harm assessment, with the reason; or show
    it to them again. The citizen and any other representative still see it."""
    case = ctx.case
    body = await ctx.body()
    entry_id = ctx.request.path_params["entry_id"]
    withheld = body.bool("withheld")
    if withheld:
        reason = " ".join((body.str("reason", MAX_REASON, required=False) or "").split())
        if not reason:
            raise body.refuse("reason", "is required: the harm assessment's reason")
        await ctx.services.store.mandates.withhold(Withholding(entry_id, case.id, reason, ctx.user.id, now_ms()))
    elif not await ctx.services.store.mandates.release(entry_id):
        raise NotFound("the entry is not withheld", code="not_withheld")
    await ctx.services.messages.auditor.record(
        ctx.user, "journal.withheld" if withheld else "journal.unwithheld", "allowed", case_id=case.id,
        unit_id=case.unit_id, detail={"entry": entry_id})
    return JSONResponse({"withheld": withheld})
