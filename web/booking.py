"""Tidsbokning over HTTP (docs/protocol.md §14.1): open times and bookings of a case, the unit's calendar,
publishing times, the person's contact e-mail; and the mail that confirms and reminds (chat.booking_mail)."""
from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import smtplib
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from chat import automation
from chat.booking import mail as booking_mail
from chat.booking.service import Bookings
from chat.errors import InvalidInput
from chat.model import Case, now_ms
from chat.notifications import notices as notifications
from chat.policy import Action
from chat.scheduled import Claims
from chat.storage.bookings import Booking, Office, Slot
from crypto.encoding import b64u
from web import frames
from web.apischema import BOOL, ID, MS, STR, array, enum, integer, nullable, obj, string
from web.httpapi import Ctx, RouteTable
from web.keyfiles import server_secret

# The secret the video rooms' names are derived from (web/keyfiles.py).
api = RouteTable()  # this feature's routes, listed in web/app.py

ROOM_KEY_FILE = "video-room.key"

if TYPE_CHECKING:
    from chat.storage import Storage
    from web.config import Settings

log = logging.getLogger("samtal.booking")

# Demo data: the demo unit's office, and demo contact addresses for the demo citizens.
# 031-390 06 00: from the range PTS keeps for fiction (031-3900600 to 031-3900699), never a real line.
DEMO_OFFICE = ("ekonomiskt-bistand", "Storgatan 1, 111 22 Stockholm", "031-390 06 00")
DEMO_EMAILS = {"dana": "dana@demo.samtal.invalid", "erik": "erik@demo.samtal.invalid"}


class BookingApp:
    """The booking service of one server, with its mailer and reminder loop."""

    def __init__(self, settings: Settings, store: Storage) -> None:
        self.settings, self.store = settings, store
        self.bstore = store.bookings
        self.claims = Claims(store.schedule, settings.schedule_lease_seconds)
        self.bookings = Bookings(self.bstore, store.get_user, settings.booking_change_hours, self._notify)
        link = (getattr(settings, "public_url", "") or f"http://{settings.host}:{settings.port}") + "/"
        self.mail_config = booking_mail.MailConfig(settings.smtp_server, settings.smtp_from, link)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reminders: asyncio.Task[None] | None = None
        self._room_key: bytes | None = None
        # unit id -> the unit's own meeting link template, set on /unit (web/settings.py)
        self.unit_video_links: dict[str, str] = {}

    async def start(self) -> None:
        if self.settings.demo and await self.store.get_unit(DEMO_OFFICE[0]) is not None:
            await self.bstore.add_office(*DEMO_OFFICE)
            for user_id, email in DEMO_EMAILS.items():
                if await self.store.get_user(user_id) is not None:
                    await self.bstore.add_contact_email_if_missing(user_id, email)
        if self.settings.smtp_host:
            self._reminders = asyncio.create_task(self._remind_loop())

    async def stop(self) -> None:
        if self._reminders is not None:
            self._reminders.cancel()
        for task in list(self._tasks):
            task.cancel()

    def video_link_template(self, unit_id: str) -> str:
        """The unit's own meeting link template, or the server's; "" when calls are Samtal's own."""
        return self.unit_video_links.get(unit_id) or self.settings.video_link_template

    def video_link(self, booking: Booking) -> str:
        """The meeting link. `{booking}` becomes a room name derived from the booking with a server secret:
        the same in every mail and on the page, and not guessable from the (sequential) booking id. The
        unit's own template wins over the server's."""
        template = self.video_link_template(booking.slot.unit_id)
        if not template:
            return ""
        if self._room_key is None:
            self._room_key = server_secret(self.settings.data_dir, ROOM_KEY_FILE)
        room = hmac.new(self._room_key, f"samtal/video-room/v1/{booking.id}".encode(), hashlib.sha256).digest()
        return template.format(booking=b64u(room[:16]), unit=booking.slot.unit_id)

    # -- mail ---------------------------------------------------------------------------------------------
    def _notify(self, kind: str, booking: Booking) -> None:
        by_staff = booking.on_behalf if kind == "confirmation" else booking.changed_on_behalf
        if by_staff:  # something new for the citizen in Samtal (chat/notifications/notices.py)
            self._spawn(notifications.something_new(self.store, booking.case_id, notifications.BOOKING))
        if self.settings.smtp_host:
            self._spawn(self._mail(kind, booking))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mail(self, kind: str, booking: Booking) -> bool:
        email = await self.bstore.contact_email(booking.citizen_id)
        if email is None:
            return False
        config = booking_mail.MailConfig(**{**self.mail_config.__dict__, "video_link": self.video_link(booking)})
        try:
            await asyncio.to_thread(booking_mail.send, config, booking_mail.message(kind, booking, email, config))
        except (OSError, smtplib.SMTPException) as error:
            log.warning("booking mail not sent", extra={"error": type(error).__name__, "kind": kind})
            return False
        return True

    async def remind_once(self) -> int:
        now = now_ms()
        sent = 0
        for booking in await self.bstore.due_reminders(now + self.settings.booking_reminder_hours * 3600_000, now):
            # Claimed first: every node runs this loop, and each reminder goes once (chat/scheduled.py).
            if await self.claims.once("booking_reminder", str(booking.id), functools.partial(self._remind, booking)):
                sent += 1
        return sent

    async def _remind(self, booking: Booking) -> bool:
        """The reminder mailed (or there is no address to mail): done. A mail that failed is tried again."""
        mailed = await self._mail("reminder", booking)
        if mailed or await self.bstore.contact_email(booking.citizen_id) is None:
            await self.bstore.mark_reminded(booking.id, now_ms())
            await automation.record(self.store, "booking_reminder", case_id=booking.case_id,
                                    unit_id=booking.slot.unit_id, booking=booking.id, mailed=mailed)
            return True
        return False

    async def _remind_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.booking_reminder_check_seconds)
            try:
                await self.remind_once()
            except Exception as error:  # noqa: BLE001 (one bad round must not end the reminders)
                log.error("booking reminder check failed", extra={"error": type(error).__name__})


def _app(ctx: Ctx) -> BookingApp:
    return ctx.services.booking


CONTACT = obj(optional={"email": nullable(string(254))})


SLOT_VIEW = obj({"id": integer(), "unit_id": ID, "caseworker": ID, "starts_at": MS, "ends_at": MS,
                 "forms": array(STR), "address": nullable(STR)})
BOOKING_VIEW = obj({
    "id": integer(), "slot": SLOT_VIEW, "case_id": ID, "citizen_id": ID, "form": STR,
    "status": enum("booked", "cancelled", "rescheduled"), "booked_by": ID, "on_behalf": BOOL, "created_at": MS,
    "changed_at": nullable(MS), "changed_by": nullable(ID), "changed_on_behalf": nullable(BOOL),
    "replaced_by": nullable(integer()), "may_change": BOOL, "why_not": nullable(STR), "video_link": nullable(STR),
    "video_unavailable": BOOL})
OFFICE = obj({"id": integer(), "address": STR, "phone": nullable(STR)})
OFFICES = obj({"offices": array(OFFICE)})
ONE_BOOKING = obj({"booking": BOOKING_VIEW})


def slot_view(slot: Slot) -> dict[str, Any]:
    return {"id": slot.id, "unit_id": slot.unit_id, "caseworker": slot.caseworker, "starts_at": slot.starts_at,
            "ends_at": slot.ends_at, "forms": list(slot.forms), "address": slot.address}


async def video_blocked(ctx: Ctx, citizen_id: str) -> bool:
    """Samtal's own video call cannot be held for this citizen: a protected identity's calls go through a
    TURN relay only, and none is configured (the call would be refused, relay_unavailable)."""
    return not ctx.services.settings.has_turn and await ctx.services.protection.is_protected(citizen_id)


def booking_view(app: BookingApp, ctx: Ctx, booking: Booking, video_blocked: bool = False) -> dict[str, Any]:
    """`video_unavailable`: a video meeting whose call the server would refuse (see video_blocked), so that
    pages offer no way in that leads nowhere and say what to do instead."""
    may_change, why = app.bookings.may_change(ctx.user, booking)
    video_link = app.video_link(booking) if booking.form == "video" else None
    return {"id": booking.id, "slot": slot_view(booking.slot), "case_id": booking.case_id,
            "citizen_id": booking.citizen_id, "form": booking.form, "status": booking.status,
            "booked_by": booking.booked_by, "on_behalf": booking.on_behalf, "created_at": booking.created_at,
            "changed_at": booking.changed_at, "changed_by": booking.changed_by,
            "changed_on_behalf": booking.changed_on_behalf, "replaced_by": booking.replaced_by,
            "may_change": may_change, "why_not": why or None, "video_link": video_link,
            "video_unavailable": booking.form == "video" and not video_link and video_blocked}


@api("/api/cases/{case_id}/bookings", "GET", action=Action.BOOKING_READ, response=obj({
    "bookings": array(BOOKING_VIEW), "offices": array(obj({"address": STR, "phone": nullable(STR)})),
    "open_slots": array(SLOT_VIEW), "change_limit_hours": integer(), "reminder_hours": nullable(integer()),
    "video_unavailable": BOOL}))
async def case_bookings(ctx: Ctx) -> Response:
    """The case's bookings and the open times of its unit, with the limit for changes."""
    app, case = _app(ctx), ctx.case
    bookings = await app.bookings.of_case(ctx.user, case)
    if ctx.user.id == case.citizen_id:  # the citizen's device now has what staff booked or changed
        await notifications.seen(ctx.services.store, ctx.user.id, case.id, notifications.BOOKING)
    slots = await app.bookings.open_slots(ctx.user, case) if case.status == "open" else []
    blocked = await video_blocked(ctx, case.citizen_id)
    # Where to call or go instead of booking here: the unit's offices, with their phone numbers.
    offices = [{"address": o.address, "phone": o.phone} for o in await app.bstore.offices(case.unit_id)]
    return JSONResponse({"bookings": [booking_view(app, ctx, b, blocked) for b in bookings], "offices": offices,
                         "open_slots": [slot_view(s) for s in slots],
                         "change_limit_hours": app.settings.booking_change_hours,
                         # Reminders are an automated step (chat/automation.py): the page says so, and when.
                         "reminder_hours": app.settings.booking_reminder_hours if app.settings.smtp_host else None,
                         "video_unavailable": blocked and not app.video_link_template(case.unit_id)})


def _booking_changed(ctx: Ctx, case: Case) -> None:
    """The next meeting shown on the citizen's home may have changed (chat/pending.py)."""
    frame = frames.pending_frame(case.id, "booking", now_ms())
    ctx.services.hub.publish_user(case.citizen_id, frame)
    ctx.services.hub.publish_unit_staff(case.unit_id, frame)


@api("/api/cases/{case_id}/bookings", "POST", action=Action.BOOKING_WRITE, status=201,
     body=obj({"slot_id": integer(1), "form": string(16)}), response=ONE_BOOKING)
async def book(ctx: Ctx) -> Response:
    app, case = _app(ctx), ctx.case
    body = await ctx.body()
    booking = await app.bookings.book(ctx.user, case, body.int("slot_id", 1), body.str("form", 16))
    _booking_changed(ctx, case)
    return JSONResponse({"booking": booking_view(app, ctx, booking, await video_blocked(ctx, case.citizen_id))},
                        status_code=201)


@api("/api/cases/{case_id}/bookings/{booking_id:int}/cancel", "POST", action=Action.BOOKING_WRITE,
     response=ONE_BOOKING)
async def cancel_booking(ctx: Ctx) -> Response:
    app, case = _app(ctx), ctx.case
    booking = await app.bookings.cancel(ctx.user, case, ctx.request.path_params["booking_id"])
    _booking_changed(ctx, case)
    return JSONResponse({"booking": booking_view(app, ctx, booking)})


@api("/api/cases/{case_id}/bookings/{booking_id:int}/reschedule", "POST", action=Action.BOOKING_WRITE, status=201,
     body=obj({"slot_id": integer(1), "form": string(16)}), response=ONE_BOOKING)
async def reschedule_booking(ctx: Ctx) -> Response:
    app, case = _app(ctx), ctx.case
    body = await ctx.body()
    booking = await app.bookings.reschedule(ctx.user, case, ctx.request.path_params["booking_id"],
                                            body.int("slot_id", 1), body.str("form", 16))
    _booking_changed(ctx, case)
    return JSONResponse({"booking": booking_view(app, ctx, booking)}, status_code=201)


@api("/api/units/{unit_id}/calendar", "GET", action=Action.AVAILABILITY_MANAGE, response=obj({
    "slots": array({**SLOT_VIEW, "properties": {**SLOT_VIEW["properties"], "booking": nullable(
        {**BOOKING_VIEW, "properties": {**BOOKING_VIEW["properties"], "citizen_name": nullable(STR)}})}}),
    "offices": array(OFFICE)}))
async def calendar(ctx: Ctx) -> Response:
    """A day (days=1) or week (days=7) from `start` (ms): the times and their bookings; by default the
    asking caseworker's own, `caseworker=` another's, `caseworker=*` the whole unit's."""
    app, unit_id = _app(ctx), ctx.request.path_params["unit_id"]
    who = ctx.request.query_params.get("caseworker", ctx.user.id)
    entries = await app.bookings.calendar(ctx.user, unit_id, None if who == "*" else who,
                                          ctx.query_int("start", now_ms()), ctx.query_int("days", 1))
    names: dict[str, str | None] = {}
    blocked: dict[str, bool] = {}
    for _, booking in entries:
        if booking is not None and booking.citizen_id not in names:
            citizen = await ctx.services.store.get_user(booking.citizen_id)
            names[booking.citizen_id] = citizen.display_name if citizen else None
            blocked[booking.citizen_id] = await video_blocked(ctx, booking.citizen_id)
    offices = await app.bookings.offices(ctx.user, unit_id)
    return JSONResponse({
        "slots": [{**slot_view(slot), "booking": None if booking is None else {
            **booking_view(app, ctx, booking, blocked[booking.citizen_id]), "citizen_name": names.get(booking.citizen_id)}}
            for slot, booking in entries],
        **_offices_view(offices)})


@api("/api/units/{unit_id}/slots", "POST", action=Action.AVAILABILITY_MANAGE, status=201, body=obj(
    {"starts_at": MS, "ends_at": MS, "forms": array(string(16), 10)},
    {"office_id": nullable(integer()), "caseworker": nullable(string(64))}), response=obj({"slot": SLOT_VIEW}))
async def publish_slot(ctx: Ctx) -> Response:
    app, unit_id = _app(ctx), ctx.request.path_params["unit_id"]
    body = await ctx.body()
    forms = body.data.get("forms")
    if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
        raise InvalidInput("forms must be a list of strings", code="invalid_field")
    office = body.data.get("office_id")
    if office is not None and type(office) is not int:
        raise InvalidInput("office_id must be int", code="invalid_field")
    slot = await app.bookings.publish(ctx.user, unit_id, body.int("starts_at"), body.int("ends_at"), forms, office,
                                      body.str("caseworker", 64, required=False))
    return JSONResponse({"slot": slot_view(slot)}, status_code=201)


@api("/api/units/{unit_id}/slots/{slot_id:int}", "DELETE", action=Action.AVAILABILITY_MANAGE, status=204)
async def withdraw_slot(ctx: Ctx) -> Response:
    await _app(ctx).bookings.withdraw(ctx.user, ctx.request.path_params["unit_id"],
                                      ctx.request.path_params["slot_id"])
    return Response(status_code=204)


def _offices_view(offices: list[Office]) -> dict[str, Any]:
    return {"offices": [{"id": o.id, "address": o.address, "phone": o.phone} for o in offices]}


@api("/api/units/{unit_id}/offices", "GET", action=Action.AVAILABILITY_MANAGE, response=OFFICES)
async def list_offices(ctx: Ctx) -> Response:
    """(staff) The offices in use, where the unit's times in person can be."""
    return JSONResponse(_offices_view(await _app(ctx).bookings.offices(ctx.user, ctx.request.path_params["unit_id"])))


@api("/api/units/{unit_id}/offices", "POST", action=Action.UNIT_SETTINGS_MANAGE, status=201,
     body=obj({"address": string(1000)}, {"phone": nullable(string(100))}),
     response=obj({"office": OFFICE, "offices": array(OFFICE)}))
async def add_office(ctx: Ctx) -> Response:
    """(supervisor) An office address `{address}`; the address is kept in the audit log (it names a place,
    not a person)."""
    app, unit_id = _app(ctx), ctx.request.path_params["unit_id"]
    body = await ctx.body()
    phone = body.str("phone", 100) if body.data.get("phone") is not None else None
    office_id = await app.bookings.add_office(ctx.user, unit_id, body.str("address", 1000), phone)
    listed = await app.bookings.offices(ctx.user, unit_id)
    added = next(o for o in listed if o.id == office_id)
    await ctx.services.messages.auditor.record(ctx.user, "unit.office.add", "allowed", unit_id=unit_id,
                                               detail={"office": office_id, "address": added.address})
    return JSONResponse({"office": {"id": added.id, "address": added.address, "phone": added.phone},
                         **_offices_view(listed)},
                        status_code=201)


@api("/api/units/{unit_id}/offices/{office_id:int}", "DELETE", action=Action.UNIT_SETTINGS_MANAGE,
     response=OFFICES)
async def retire_office(ctx: Ctx) -> Response:
    """(supervisor) No new times at this office; refused (409 office_in_use) while times to come are there."""
    app, unit_id = _app(ctx), ctx.request.path_params["unit_id"]
    office = await app.bookings.retire_office(ctx.user, unit_id, ctx.request.path_params["office_id"])
    await ctx.services.messages.auditor.record(ctx.user, "unit.office.retire", "allowed", unit_id=unit_id,
                                               detail={"office": office.id, "address": office.address})
    return JSONResponse(_offices_view(await app.bookings.offices(ctx.user, unit_id)))


@api("/api/me/contact", "GET", action=Action.SELF, response=CONTACT)
async def get_contact(ctx: Ctx) -> Response:
    return JSONResponse({"email": await _app(ctx).bstore.contact_email(ctx.user.id)})


@api("/api/me/contact", "PUT", action=Action.SELF, body=CONTACT, response=CONTACT)
async def set_contact(ctx: Ctx) -> Response:
    """The person's own contact e-mail for booking confirmations and reminders; null removes it."""
    body = await ctx.body()
    email = None if body.data.get("email") is None else body.str("email", 254)
    await _app(ctx).bookings.set_contact_email(ctx.user, email or None)
    return JSONResponse({"email": email or None})
