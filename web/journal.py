"""Dokumentation over HTTP (docs/protocol.md §14.1, docs/documentation.md): a case's journal, writing,
signing, correcting and publishing entries, the citizen's supplements (with encrypted attachments), comments
and disputes, the unit's responses; and what the hub is sent: `journal` frames (metadata) and the snapshots
of drafts shared live. Records, grants and attachments are ciphertext; binary values travel as base64url."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from chat.audit.auditor import Auditor
from chat.errors import InvalidInput
from chat.journal.live import LiveDraft, Shared
from chat.journal.service import Journal, JournalView
from chat.messaging.hub import Hub
from chat.model import Case
from chat.policy import Action
from chat.storage.applications import Grant
from chat.storage.journal import Entry, Remark, Version
from crypto.encoding import b64u
from web import frames
from web.apischema import (
    BOOL,
    ID,
    MS,
    RECORD_GRANT_VIEW,
    SEALED,
    STR,
    UPLOADED,
    array,
    integer,
    nullable,
    obj,
)
from web.httpapi import Body, Ctx, RouteTable
from web.sealed_input import ID16, blobs, grant, grants, names, record, record_body, record_id

api = RouteTable()  # this feature's routes, listed in web/app.py

if TYPE_CHECKING:
    from chat.cases.assignment import Assignments
    from chat.storage import Storage
    from web.app import Services


class HubFanout:
    """chat.journal.service.Fanout through the hub. The citizen is sent only what they may see: changes of published
    entries and remarks (never of drafts), and the drafts of their own case shared live with them."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def changed(self, case: Case, entry_id: str | None, what: str, at: int, citizen: bool) -> None:
        frame = frames.journal_frame(case.id, entry_id, what, at)
        self.hub.publish_unit_staff(case.unit_id, frame)
        if citizen:
            self.hub.publish_user(case.citizen_id, frame)
        if what in ("dispute", "response"):  # an objection opened or answered: the home pages' badges
            pending = frames.pending_frame(case.id, "journal", at)
            self.hub.publish_unit_staff(case.unit_id, pending)
            if citizen:
                self.hub.publish_user(case.citizen_id, pending)

    def live(self, draft: LiveDraft) -> None:
        frame = frames.journal_live_frame(draft.case.id, draft.entry_id, draft.sub.user.id, draft.sub.device_id,
                                          draft.env)
        self.hub.publish_user(draft.case.citizen_id, frame)
        self.hub.publish_watching_staff(draft.case.id, frame, exclude=draft.sub)

    def live_end(self, case: Case, entry_id: str, reason: str) -> None:
        frame = frames.journal_live_end_frame(case.id, entry_id, reason)
        self.hub.publish_user(case.citizen_id, frame)
        self.hub.publish_watching_staff(case.id, frame)


def serve_live_drafts_across_nodes(services: Services) -> None:
    """Several nodes: each tells the others of its drafts shared live (every snapshot, every end, and all of them
    again when a node joins or missed notices), so that any node shows them as they are now and lets the citizen
    comment on them; a node that is gone ends its shares on the others' pages."""
    node, journal, hub = services.node, services.journal, services.hub
    if node is None:
        return
    live = journal.live

    def told(case_id: str, entry_id: str, draft: LiveDraft | None) -> None:
        assert node is not None
        if draft is None:
            node.tell({"k": "live", "op": "end", "c": case_id, "e": entry_id})
        else:
            node.tell({"k": "live", "op": "put", "c": case_id, "e": entry_id, "u": draft.by, "d": draft.by_device,
                       "env": draft.env, "at": draft.started_at, "cit": draft.case.citizen_id})

    def say_again() -> None:
        assert node is not None
        here = live.all_here()
        for draft in here:
            told(draft.case.id, draft.entry_id, draft)
        node.tell({"k": "live", "op": "keys", "keys": [[d.case.id, d.entry_id] for d in here]})

    def on_notice(sender: str, notice: dict[str, Any]) -> None:
        if notice["op"] == "put":
            live.shared_elsewhere(Shared(notice["c"], notice["e"], notice["u"], notice["d"], notice["env"],
                                         notice["at"], notice["cit"], sender))
        elif notice["op"] == "end":
            live.ended_elsewhere(notice["c"], notice["e"])
        elif notice["op"] == "keys":
            live.node_shares(sender, {(case_id, entry_id) for case_id, entry_id in notice["keys"]})

    def gone(sender: str) -> None:
        # Its writers' pages are gone with it: end their shares on the pages this node serves (Hub's own
        # methods: every node that notices does the same for its own connections, so none is told across).
        for draft in live.node_shares(sender, None):
            frame = frames.journal_live_end_frame(draft.case_id, draft.entry_id, "disconnected")
            Hub.publish_watching_staff(hub, draft.case_id, frame)
            Hub.publish_user(hub, draft.citizen_id, frame)

    live.told = told
    node.handlers["live"] = on_notice
    node.on_gone.append(gone)
    node.on_asked.append(say_again)


def build(store: Storage, hub: Hub, assignments: Assignments) -> Journal:
    return Journal(store, store.journal, assignments, HubFanout(hub))


def _service(ctx: Ctx) -> Journal:
    return ctx.services.journal


async def _audit(ctx: Ctx, what: str, case: Case, **detail: Any) -> None:
    """An audit row that names the case and unit (a route's own row names neither when its path names an entry
    or a remark), so that the unit's log reviewer finds every read and write of the documentation."""
    await Auditor(ctx.services.store).record(ctx.user, what, "allowed", case_id=case.id, unit_id=case.unit_id,
                                             detail=detail)


# -- views ----------------------------------------------------------------------------------------------------
VERSION_VIEW = obj({"version": integer(1), "record_id": ID, "record": SEALED, "author": ID, "author_device": ID,
                    "created_at": MS, "signed_at": nullable(MS)})
ENTRY_VIEW = obj({
    "id": ID, "case_id": ID, "status": STR, "author": ID, "author_name": nullable(STR), "created_at": MS,
    "updated_at": MS, "signed_by": nullable(ID), "signed_by_name": nullable(STR), "signed_at": nullable(MS),
    "published_by": nullable(ID), "published_by_name": nullable(STR), "published_at": nullable(MS),
    "source_seq": nullable(integer()), "versions": array(VERSION_VIEW), "open_disputes": integer()})
REMARK_VIEW = obj({
    "id": ID, "kind": STR, "entry_id": nullable(ID), "responds_to": nullable(ID), "author": ID,
    "author_name": nullable(STR), "author_device": ID, "record": SEALED, "created_at": MS,
    "answered_by": nullable(ID), "answered_by_name": nullable(STR), "answered_at": nullable(MS)})
JOURNAL = obj({
    "case": obj({"id": ID, "unit_id": ID, "citizen": ID, "citizen_name": nullable(STR), "status": STR,
                 "case_key_epoch": integer(0, 2**32 - 1), "citizen_devices": array(ID)}),
    "entries": array(ENTRY_VIEW), "remarks": array(REMARK_VIEW), "grants": array(RECORD_GRANT_VIEW),
    "live": array(obj({"entry_id": ID, "by": ID, "by_name": nullable(STR), "by_device": ID,
                       "env": STR, "started_at": MS}))})
ONE_ENTRY = obj({"entry": ENTRY_VIEW}, {"duplicate": BOOL})
ONE_REMARK = obj({"remark": REMARK_VIEW, "duplicate": BOOL})


def version_view(v: Version) -> dict[str, Any]:
    return {"version": v.version, "record_id": v.record_id, "record": b64u(v.data), "author": v.author,
            "author_device": v.author_device, "created_at": v.created_at, "signed_at": v.signed_at}


def entry_view(e: Entry, versions: list[Version], open_disputes: int, who: dict[str, str]) -> dict[str, Any]:
    return {"id": e.id, "case_id": e.case_id, "status": e.status, "author": e.author,
            "author_name": who.get(e.author), "created_at": e.created_at, "updated_at": e.updated_at,
            "signed_by": e.signed_by, "signed_by_name": who.get(e.signed_by or ""), "signed_at": e.signed_at,
            "published_by": e.published_by, "published_by_name": who.get(e.published_by or ""),
            "published_at": e.published_at, "source_seq": e.source_seq,
            "versions": [version_view(v) for v in versions], "open_disputes": open_disputes}


def remark_view(r: Remark, who: dict[str, str]) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "entry_id": r.entry_id, "responds_to": r.responds_to, "author": r.author,
            "author_name": who.get(r.author), "author_device": r.author_device, "record": b64u(r.data),
            "created_at": r.created_at, "answered_by": r.answered_by,
            "answered_by_name": who.get(r.answered_by or ""), "answered_at": r.answered_at}


def grant_view(g: Grant) -> dict[str, Any]:
    return {"record_id": g.record_id, "recipient": g.recipient, "grant": b64u(g.grant),
            "signature": b64u(g.signature), "granted_by_device": g.granted_by_device, "created_at": g.created_at}


async def journal_view(ctx: Ctx, view: JournalView) -> dict[str, Any]:
    people: set[str | None] = {view.case.citizen_id, *(d.by for d in view.live)}
    for e in view.entries:
        people |= {e.author, e.signed_by, e.published_by}
    for r in view.remarks:
        people |= {r.author, r.answered_by}
    who = await names(ctx, people)
    open_disputes: dict[str, int] = {}
    for r in view.remarks:
        if r.kind == "dispute" and r.answered_at is None and r.entry_id:
            open_disputes[r.entry_id] = open_disputes.get(r.entry_id, 0) + 1
    case = view.case
    return {
        "case": {"id": case.id, "unit_id": case.unit_id, "citizen": case.citizen_id,
                 "citizen_name": who.get(case.citizen_id), "status": case.status, "case_key_epoch": view.case_epoch,
                 "citizen_devices": view.citizen_devices},
        "entries": [entry_view(e, [v for v in view.versions if v.entry_id == e.id], open_disputes.get(e.id, 0), who)
                    for e in view.entries],
        "remarks": [remark_view(r, who) for r in view.remarks],
        "grants": [grant_view(g) for g in view.grants],
        "live": [{"entry_id": d.entry_id, "by": d.by, "by_name": who.get(d.by), "by_device": d.by_device,
                  "env": d.env, "started_at": d.started_at} for d in view.live]}


async def _entry_answer(ctx: Ctx, entry: Entry, status: int = 200, **extra: Any) -> Response:
    versions, open_disputes = await _service(ctx).jstore.entry_detail(entry.id)
    who = await names(ctx, {entry.author, entry.signed_by, entry.published_by})
    return JSONResponse({"entry": entry_view(entry, versions, open_disputes, who), **extra}, status_code=status)


async def _remark_answer(ctx: Ctx, remark: Remark, case: Case, new: bool) -> Response:
    if new:
        await _audit(ctx, f"journal.{remark.kind}", case, remark=remark.id, entry=remark.entry_id)
    who = await names(ctx, {remark.author, remark.answered_by})
    return JSONResponse({"remark": remark_view(remark, who), "duplicate": not new}, status_code=201 if new else 200)


# -- input --------------------------------------------------------------------------------------------------------
def _flag(body: Body, name: str) -> bool:
    value = body.data.get(name, False)
    if type(value) is not bool:
        raise InvalidInput(f"{name} must be true or false", code="invalid_field")
    return value


def _id(value: str) -> str:
    if not ID16.match(value):
        raise InvalidInput("a record id is a 22-character id", code="invalid_field")
    return value


def _entry_id(ctx: Ctx) -> str:
    return record_id(ctx, "entry_id", "an entry")


async def _case_of(ctx: Ctx, entry: Entry) -> Case:
    case = await ctx.services.store.get_case(entry.case_id)
    assert case is not None  # an entry's case is a foreign key
    return case


# -- routes -------------------------------------------------------------------------------------------------------
@api("/api/cases/{case_id}/journal", "GET", action=Action.JOURNAL_READ, response=JOURNAL)
async def get_journal(ctx: Ctx) -> Response:
    """The case's documentation as the asking person may see it: for the citizen, published entries only."""
    view = await _service(ctx).view(ctx.user, ctx.device_id, ctx.request.path_params["case_id"])
    await _audit(ctx, "journal.read", view.case, entries=len(view.entries), remarks=len(view.remarks))
    return JSONResponse(await journal_view(ctx, view))


@api("/api/cases/{case_id}/journal/export", "POST", action=Action.JOURNAL_READ, status=204)
async def record_export(ctx: Ctx) -> Response:
    """(the citizen) Their browser is about to offer their file as a download: audited, as every export is."""
    await ctx.body()  # `{}`: a JSON body, so that no cross-site form can log an export
    case = await _service(ctx).export(ctx.user, ctx.request.path_params["case_id"])
    await _audit(ctx, "journal.exported", case, device=ctx.device_id)
    return Response(status_code=204)


@api("/api/cases/{case_id}/journal", "POST", action=Action.JOURNAL_WRITE, response=ONE_ENTRY, status=201,
     also=(200,))
async def create_entry(ctx: Ctx) -> Response:
    """A new entry: a draft, or `sign`ed at once, and `publish`ed too (with a grant to the case's key)."""
    body = await record_body(ctx)
    source_seq = body.int("source_seq", 1) if "source_seq" in body.data and body.data["source_seq"] is not None \
        else None
    sign, publish = _flag(body, "sign"), _flag(body, "publish")
    entry, new = await _service(ctx).create(ctx.user, ctx.require_device(), ctx.request.path_params["case_id"],
                                            record(body), grants(body), sign, publish, source_seq)
    if new:
        case = await _case_of(ctx, entry)
        await _audit(ctx, "journal.created", case, entry=entry.id, status=entry.status, source_seq=source_seq)
        if publish:
            await _audit(ctx, "journal.published", case, entry=entry.id, by=ctx.user.id)
    return await _entry_answer(ctx, entry, 201 if new else 200, duplicate=not new)


@api("/api/journal/{entry_id}/draft", "PUT", action=Action.JOURNAL_WRITE, response=ONE_ENTRY)
async def save_draft(ctx: Ctx) -> Response:
    """The draft's new content: it replaces the draft's record (a draft is not yet part of the record)."""
    body = await record_body(ctx)
    entry = await _service(ctx).save_draft(ctx.user, ctx.require_device(), _entry_id(ctx), record(body),
                                           grants(body))
    await _audit(ctx, "journal.draft_saved", await _case_of(ctx, entry), entry=entry.id)
    return await _entry_answer(ctx, entry)


@api("/api/journal/{entry_id}/sign", "POST", action=Action.JOURNAL_WRITE, response=ONE_ENTRY)
async def sign_entry(ctx: Ctx) -> Response:
    """The final content, signed by the draft's author: version 1; with `publish`, visible to the citizen."""
    body = await record_body(ctx)
    publish = _flag(body, "publish")
    entry = await _service(ctx).sign(ctx.user, ctx.require_device(), _entry_id(ctx), record(body), grants(body),
                                     publish)
    case = await _case_of(ctx, entry)
    await _audit(ctx, "journal.signed", case, entry=entry.id)
    if publish:
        await _audit(ctx, "journal.published", case, entry=entry.id, by=ctx.user.id)
    return await _entry_answer(ctx, entry)


@api("/api/journal/{entry_id}/versions", "POST", action=Action.JOURNAL_WRITE, response=ONE_ENTRY, status=201,
     also=(200,))
async def correct_entry(ctx: Ctx) -> Response:
    """A correction (rättelse): the signed entry's next version; the earlier ones stay readable."""
    body = await record_body(ctx)
    entry, version, new = await _service(ctx).correct(ctx.user, ctx.require_device(), _entry_id(ctx), record(body),
                                                      grants(body))
    if new:
        await _audit(ctx, "journal.corrected", await _case_of(ctx, entry), entry=entry.id, version=version)
    return await _entry_answer(ctx, entry, 201 if new else 200, duplicate=not new)


@api("/api/journal/{entry_id}/publish", "POST", action=Action.JOURNAL_PUBLISH, response=ONE_ENTRY)
async def publish_entry(ctx: Ctx) -> Response:
    """Visible to the citizen: a grant to the case's current key for every version, and who judged it so."""
    body = await ctx.body()
    uploads = [(_id(item.str("record_id", 22)), grant(item)) for item in body.list("grants", max_items=40)]
    entry, first = await _service(ctx).publish(ctx.user, ctx.require_device(), _entry_id(ctx), uploads)
    await _audit(ctx, "journal.published", await _case_of(ctx, entry), entry=entry.id, by=ctx.user.id,
                 first=first, grants=len(uploads))
    return await _entry_answer(ctx, entry)


@api("/api/journal/{entry_id}", "DELETE", action=Action.JOURNAL_WRITE,
     response=obj({"entry_id": ID, "deleted": BOOL}))
async def delete_draft(ctx: Ctx) -> Response:
    entry = await _service(ctx).delete(ctx.user, _entry_id(ctx))
    await _audit(ctx, "journal.deleted", await _case_of(ctx, entry), entry=entry.id)
    return JSONResponse({"entry_id": entry.id, "deleted": True})


@api("/api/cases/{case_id}/journal/supplements", "POST", action=Action.JOURNAL_REMARK, response=ONE_REMARK, status=201,
     also=(200,))
async def add_supplement(ctx: Ctx) -> Response:
    """(the citizen) Tillägg to the case's documentation, or to one published entry (`entry_id`)."""
    body = await record_body(ctx)
    entry_id = body.str("entry_id", 22, required=False)
    remark, case, new = await _service(ctx).supplement(ctx.user, ctx.require_device(),
                                                       ctx.request.path_params["case_id"], record(body),
                                                       grants(body), blobs(body), entry_id)
    return await _remark_answer(ctx, remark, case, new)


@api("/api/journal/{entry_id}/remarks", "POST", action=Action.JOURNAL_REMARK, response=ONE_REMARK, status=201,
     also=(200,))
async def add_remark(ctx: Ctx) -> Response:
    """(the citizen) A comment on a draft shared live, or a dispute of a published entry."""
    body = await record_body(ctx)
    remark, case, new = await _service(ctx).remark(ctx.user, ctx.require_device(), _entry_id(ctx), record(body),
                                                   grants(body))
    return await _remark_answer(ctx, remark, case, new)


@api("/api/journal/remarks/{remark_id}/responses", "POST", action=Action.JOURNAL_RESPOND, response=ONE_REMARK, status=201,
     also=(200,))
async def respond(ctx: Ctx) -> Response:
    """(staff) The unit's response to a dispute."""
    body = await record_body(ctx)
    remark, case, new = await _service(ctx).respond(ctx.user, ctx.require_device(),
                                                    record_id(ctx, "remark_id", "a remark"), record(body),
                                                    grants(body))
    return await _remark_answer(ctx, remark, case, new)


@api("/api/cases/{case_id}/journal/blobs", "POST", action=Action.JOURNAL_REMARK, upload=True, status=201,
     response=UPLOADED)
async def upload_blob(ctx: Ctx) -> Response:
    """(the citizen) An encrypted attachment of a supplement about to be sent."""
    data = await ctx.encrypted_upload()
    blob_id, case = await _service(ctx).upload_blob(ctx.user, ctx.request.path_params["case_id"], data)
    await _audit(ctx, "journal.attachment.uploaded", case, blob=blob_id, size=len(data))
    return JSONResponse({"blob_id": blob_id, "size": len(data)}, status_code=201)


@api("/api/cases/{case_id}/journal/blobs/{blob_id}", "GET", action=Action.JOURNAL_READ, media="application/octet-stream")
async def download_blob(ctx: Ctx) -> Response:
    blob_id = ctx.request.path_params["blob_id"]
    data, case = await _service(ctx).blob(ctx.user, ctx.request.path_params["case_id"], blob_id)
    await _audit(ctx, "journal.attachment.read", case, blob=blob_id)
    return Response(data, media_type="application/octet-stream")
