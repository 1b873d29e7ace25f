"""Appeals over HTTP (docs/protocol.md §14.1, docs/applications.md "Appeals"): the citizen's written appeal of a
decision (or staff registering a paper one on their behalf), and the unit's steps: reconsideration, dismissal
of a late appeal, forwarding to the administrative court. Records are ciphertext; the steps and dates are
metadata in the application's timeline."""
from __future__ import annotations

from datetime import date

from starlette.responses import Response

from chat.applications.appeals import Appeals
from chat.policy import Action
from web.applications import ONE_APPLICATION, step_answer
from web.httpapi import Ctx, RouteTable
from web.sealed_input import blobs as _blobs
from web.sealed_input import grants as _grants
from web.sealed_input import record as _record
from web.sealed_input import record_body as _body
from web.sealed_input import record_id

api = RouteTable()  # listed in web/app.py


def _appeals(ctx: Ctx) -> Appeals:
    return Appeals(ctx.services.applications)


def _id(ctx: Ctx) -> str:
    return record_id(ctx, "application_id", "an application")


@api("/api/applications/{application_id}/appeals", "POST", action=Action.APPLICATION_READ, response=ONE_APPLICATION)
async def appeal(ctx: Ctx) -> Response:
    """An appeal of `decision_id` (the application's current decision): sealed, with attachments. The citizen's
    own (application.supplement), or staff registering a paper one (application.handle) with `arrived_on`, the
    day it reached the unit: the service decides."""
    body = await _body(ctx)
    arrived = body.str("arrived_on", 10, required=False)
    try:
        arrived_on = date.fromisoformat(arrived) if arrived else None
    except ValueError:
        raise body.refuse("arrived_on", "is a day, YYYY-MM-DD") from None
    app = await _appeals(ctx).appeal(ctx.user, ctx.require_device(), _id(ctx), body.str("decision_id", 64),
                                     _record(body), _grants(body), _blobs(body), arrived_on)
    return await step_answer(ctx, app, "appealed")


@api("/api/applications/{application_id}/reconsideration", "POST", action=Action.APPLICATION_HANDLE, response=ONE_APPLICATION)
async def reconsider(ctx: Ctx) -> Response:
    """(staff) Omprövning: `changed` (a new decision follows) or not; the reasons sealed."""
    body = await _body(ctx)
    app = await _appeals(ctx).reconsider(ctx.user, ctx.require_device(), _id(ctx), body.bool("changed"),
                                         _record(body), _grants(body))
    return await step_answer(ctx, app, "appeal_reconsidered")


@api("/api/applications/{application_id}/forwarding", "POST", action=Action.APPLICATION_HANDLE, response=ONE_APPLICATION)
async def forward(ctx: Ctx) -> Response:
    """(staff) The appeal is sent to the administrative court `court` (its name)."""
    body = await ctx.body()
    app = await _appeals(ctx).forward(ctx.user, _id(ctx), body.str("court", 200))
    return await step_answer(ctx, app, "appeal_forwarded")


@api("/api/applications/{application_id}/dismissal", "POST", action=Action.APPLICATION_HANDLE, response=ONE_APPLICATION)
async def dismiss(ctx: Ctx) -> Response:
    """(staff) An appeal that came in too late is dismissed (avvisning, FL 45 §)."""
    app = await _appeals(ctx).dismiss(ctx.user, _id(ctx))
    return await step_answer(ctx, app, "appeal_dismissed")
