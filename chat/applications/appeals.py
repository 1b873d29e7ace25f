"""Överklagande (FL 44-46 §§, docs/applications.md "Appeals"): the citizen appeals a decision in writing to the
unit that made it: which decision, what change, why, attachments, one sealed record (kind application.appeal),
signed by their device; staff register one that came on paper on their behalf (DOMAIN rule 13). The server
checks the time at once from the recorded day the decision was received (delgivning, FL 44 §: three weeks) and
keeps it as the step's metadata, for the unit's check (rättidsprövning, FL 45 §). The unit then reconsiders (FL
37-39 §§: the decision is changed, by a new decision that replaces it, or not), dismisses an appeal that came in
too late (avvisning, FL 45 §), or forwards it to the administrative court (FL 46 §); each is a step with its date
that the citizen follows. What anyone wrote stays sealed; the server knows the steps and dates."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from chat.applications.deadline import appeal_deadline, day_end_ms, in_time, swedish_day
from chat.applications.service import NOTIFY_KIND, Applications
from chat.errors import Conflict, InvalidInput, NotFound
from chat.model import Role, User, now_ms
from chat.notifications import notices as notifications
from chat.policy import Action
from chat.records import GrantUpload
from chat.storage.applications import Application

KIND_APPEAL = "application.appeal"  # the citizen's appeal: which decision, what change, why
KIND_RECONSIDERATION = "application.reconsideration"  # the unit's omprövning: changed or not, and why
# Where an appeal stands; an appealed application is decided, and these follow it.
APPEAL_STATUSES = ("appealed", "appeal_reconsidered", "appeal_forwarded", "appeal_dismissed")
MAX_COURT = 120


class Appeals:
    def __init__(self, applications: Applications) -> None:
        self.apps = applications

    async def appeal(self, user: User, device_id: str, application_id: str, decision_id: str, raw: bytes,
                     grants: Sequence[GrantUpload], blobs: Sequence[str], arrived_on: date | None = None
                     ) -> Application:
        """A written appeal of `decision_id`, the application's newest decision. The time check is made from
        the day the citizen received the decision to the day the appeal came in: now, or for one that came on
        paper and staff register (on the citizen's behalf) `arrived_on`, the day it reached the unit. An appeal
        of a decision whose receipt is not recorded is in time (the three weeks have not begun)."""
        on_behalf = user.role != Role.CITIZEN
        if arrived_on is not None and not on_behalf:
            raise InvalidInput("an appeal sent in Samtal came in now", code="invalid_field")
        apps = self.apps
        app, case = await apps._application(user, application_id, Action.APPLICATION_HANDLE if on_behalf
                                            else Action.APPLICATION_SUPPLEMENT)
        decisions = await apps.astore.decisions(app.id)
        if not decisions or decisions[-1].id != decision_id:
            raise NotFound("an appeal is of the application's current decision", code="unknown_decision")
        decision = decisions[-1]
        now = now_ms()
        arrived = now
        detail: dict[str, object] = {"decision": decision.id, "in_time": True}
        if arrived_on is not None:
            if not swedish_day(decision.decided_at) <= arrived_on <= swedish_day(now):
                raise InvalidInput("the day it came in is between the decision's day and today", code="invalid_field")
            arrived = min(now, day_end_ms(arrived_on))
            detail["arrived_on"] = arrived_on.isoformat()
        if decision.received_at is not None:
            received = swedish_day(decision.received_at)
            detail.update(in_time=in_time(decision.received_at, arrived), received_on=received.isoformat(),
                          deadline=appeal_deadline(received).isoformat())
        rec = await apps._record(user, device_id, raw, KIND_APPEAL, case.unit_id, case.id, grants, case.citizen_id,
                                 case, blobs)
        app, new = await apps.astore.step(app.id, "appealed", user.id, on_behalf, now, ("decided",), rec,
                                          detail=detail)
        if new:
            apps.notify(app, case, "appealed")
        return app

    async def reconsider(self, user: User, device_id: str, application_id: str, changed: bool, raw: bytes,
                         grants: Sequence[GrantUpload]) -> Application:
        """Omprövning: the unit's answer to the appeal, sealed (why it changes the decision or not). Changed: the
        application is assessed again and a new decision replaces the old one (the appeal lapses insofar as
        the change is what was asked, FL 39 §); not changed: the appeal goes on to the court."""
        apps = self.apps
        app, case = await apps._application(user, application_id, Action.APPLICATION_HANDLE)
        rec = await apps._record(user, device_id, raw, KIND_RECONSIDERATION, case.unit_id, case.id, grants,
                                 case.citizen_id, case, ())
        app, new = await apps.astore.step(app.id, "appeal_reconsidered", user.id, False, now_ms(), ("appealed",),
                                          rec, status="assessing" if changed else "appeal_reconsidered",
                                          detail={"changed": changed})
        if new:
            apps.notify(app, case, "appeal_reconsidered")
            await notifications.something_new(apps.store, case.id, NOTIFY_KIND, by=user)
        return app

    async def forward(self, user: User, application_id: str, court: str) -> Application:
        """The appeal and the case's documents are sent to the administrative court (FL 46 §): recorded with the
        day and the court's name (metadata; the documents go by the court's own channel)."""
        court = court.strip()
        if not 0 < len(court) <= MAX_COURT:
            raise InvalidInput(f"court is the court's name, at most {MAX_COURT} characters", code="invalid_field")
        apps = self.apps
        app, case = await apps._application(user, application_id, Action.APPLICATION_HANDLE)
        app, new = await apps.astore.step(app.id, "appeal_forwarded", user.id, False, now_ms(),
                                          ("appealed", "appeal_reconsidered", "decided"),
                                          detail={"court": court})
        if new:
            apps.notify(app, case, "appeal_forwarded")
            await notifications.something_new(apps.store, case.id, NOTIFY_KIND, by=user)
        return app

    async def dismiss(self, user: User, application_id: str) -> Application:
        """Avvisning (FL 45 §): an appeal that came in too late is dismissed by the unit. Only a late one: an
        appeal in time is the court's to judge (FL 47 §). The unit's decision to dismiss can itself be
        appealed; its reasons are a message or a new decision in the case."""
        apps = self.apps
        app, case = await apps._application(user, application_id, Action.APPLICATION_HANDLE)
        events, _, _ = await apps.astore.timeline(app.id)
        appealed = [e for e in events if e.kind == "appealed"]
        if not appealed or (appealed[-1].detail or {}).get("in_time", True):
            raise Conflict("only an appeal that came in too late is dismissed", code="wrong_status")
        app, new = await apps.astore.step(app.id, "appeal_dismissed", user.id, False, now_ms(), ("appealed",))
        if new:
            apps.notify(app, case, "appeal_dismissed")
            await notifications.something_new(apps.store, case.id, NOTIFY_KIND, by=user)
        return app
