"""Tidsbokning: caseworkers publish times with the meeting forms they offer (in person at one of the unit's
offices, phone, video); a citizen books a time for one of their own cases in that unit, and cancels or
reschedules it until a limit before it starts; staff of the unit do every step on the citizen's behalf (a
booking by phone), recorded as such. The server keeps metadata only: times, forms, who booked and how."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.model import Case, Role, User, now_ms
from chat.policy import Action, decide
from chat.storage.bookings import Booking, BookingStore, Office, Slot

FORMS = ("in_person", "phone", "video")
HOUR_MS = 3600 * 1000
MAX_SLOT_MS = 8 * HOUR_MS
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$")


MAX_ADDRESS = 200


def office_address(text: str) -> str:
    """An office address as people write it, on one line: spaces collapsed, 3 to 200 characters, no control
    characters (it goes into e-mails and calendar invitations)."""
    address = " ".join(text.split())
    if not 3 <= len(address) <= MAX_ADDRESS or any(not ch.isprintable() for ch in address):
        raise InvalidInput(f"an address is 3 to {MAX_ADDRESS} printable characters", code="invalid_address")
    return address




def office_phone(text: str) -> str:
    """A phone number as people write it: digits, spaces, +, - and brackets, 5 to 30 characters."""
    phone = " ".join(text.split())
    if not 5 <= len(phone) <= 30 or not re.fullmatch(r"\+?[0-9 ()\-]+", phone) or sum(c.isdigit() for c in phone) < 5:
        raise InvalidInput("a phone number is 5 to 30 characters of digits, spaces, +, - and brackets",
                           code="invalid_phone")
    return phone


Notify = Callable[[str, Booking], None]  # kind (confirmation, cancellation), booking


class Bookings:
    """The rules. `change_hours`: how long before the start a citizen may still cancel or reschedule; staff
    acting for the citizen may change a booking until it starts (they talk with the person)."""

    def __init__(self, store: BookingStore, get_user: Callable[[str], Any], change_hours: int,
                 notify: Notify | None = None) -> None:
        self.store = store
        self.get_user = get_user
        self.change_ms = change_hours * HOUR_MS
        self.notify = notify or (lambda kind, booking: None)

    @staticmethod
    def _require(actor: User, action: Action, *, case: Case | None = None, unit_id: str | None = None) -> None:
        decision = decide(actor, action, case=case, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")

    # -- availability, by the unit's staff ------------------------------------------------------------
    async def publish(self, actor: User, unit_id: str, starts_at: int, ends_at: int, forms: list[str],
                      office_id: int | None, caseworker: str | None = None) -> Slot:
        self._require(actor, Action.AVAILABILITY_MANAGE, unit_id=unit_id)
        chosen = tuple(f for f in FORMS if f in forms)
        if not forms or len(chosen) != len(set(forms)):
            raise InvalidInput(f"forms is a non-empty list of {', '.join(FORMS)}", code="invalid_field")
        if not 0 < ends_at - starts_at <= MAX_SLOT_MS:
            raise InvalidInput("a time ends after it starts and lasts at most 8 hours", code="invalid_field")
        if starts_at <= now_ms():
            raise InvalidInput("a time is published before it starts", code="slot_past")
        owner = caseworker or actor.id
        if owner != actor.id:
            staff = await self.get_user(owner)
            if staff is None or staff.unit_id != unit_id or not staff.is_staff:
                raise InvalidInput("not staff of this unit", code="invalid_field")
        offices = {o.id: o for o in await self.store.offices(unit_id)}
        if "in_person" in chosen:
            if office_id is None and offices:
                office_id = next(iter(offices))
            if office_id not in offices:
                raise InvalidInput("a meeting in person needs one of the unit's office addresses", code="no_office")
        else:
            office_id = None
        return await self.store.add_slot(unit_id, owner, starts_at, ends_at, chosen, office_id, actor.id)

    async def withdraw(self, actor: User, unit_id: str, slot_id: int) -> None:
        self._require(actor, Action.AVAILABILITY_MANAGE, unit_id=unit_id)
        await self.store.withdraw_slot(unit_id, slot_id)

    async def calendar(self, actor: User, unit_id: str, caseworker: str | None, start: int, days: int
                       ) -> list[tuple[Slot, Booking | None]]:
        self._require(actor, Action.AVAILABILITY_MANAGE, unit_id=unit_id)
        if days not in (1, 7):
            raise InvalidInput("days is 1 (a day) or 7 (a week)", code="invalid_field")
        return await self.store.calendar(unit_id, caseworker, start, start + days * 24 * HOUR_MS)

    async def offices(self, actor: User, unit_id: str) -> list[Office]:
        self._require(actor, Action.AVAILABILITY_MANAGE, unit_id=unit_id)
        return await self.store.offices(unit_id)

    async def add_office(self, actor: User, unit_id: str, address: str, phone: str | None = None) -> int:
        """(a supervisor) An address where the unit meets citizens in person; it goes in booking e-mails."""
        self._require(actor, Action.UNIT_SETTINGS_MANAGE, unit_id=unit_id)
        return await self.store.add_office(unit_id, office_address(address),
                                           None if phone is None else office_phone(phone))

    async def retire_office(self, actor: User, unit_id: str, office_id: int) -> Office:
        self._require(actor, Action.UNIT_SETTINGS_MANAGE, unit_id=unit_id)
        return await self.store.retire_office(unit_id, office_id, now_ms())

    # -- bookings, by the citizen or by staff on the citizen's behalf ---------------------------------
    async def open_slots(self, actor: User, case: Case) -> list[Slot]:
        self._require(actor, Action.BOOKING_READ, case=case)
        return await self.store.open_slots(case.unit_id, now_ms())

    async def of_case(self, actor: User, case: Case) -> list[Booking]:
        self._require(actor, Action.BOOKING_READ, case=case)
        return await self.store.bookings_of_case(case.id)

    def may_change(self, actor: User, booking: Booking, at: int | None = None) -> tuple[bool, str]:
        """Whether `actor` may still cancel or reschedule, and why not."""
        at = now_ms() if at is None else at
        if booking.status != "booked":
            return False, "booking_not_active"
        if booking.slot.starts_at <= at:
            return False, "booking_started"
        if actor.role == Role.CITIZEN and booking.slot.starts_at - at < self.change_ms:
            return False, "too_late_to_change"
        return True, ""

    def _check_slot(self, case: Case, form: str) -> Callable[[Slot], None]:
        def check(slot: Slot) -> None:
            if slot.unit_id != case.unit_id:
                raise Forbidden("the time belongs to another unit than the case", code="slot_other_unit")
            if slot.starts_at <= now_ms():
                raise Conflict("the time has passed", code="slot_past")
            if form not in slot.forms:
                raise InvalidInput("the time does not offer this meeting form", code="form_not_offered")
        return check

    async def book(self, actor: User, case: Case, slot_id: int, form: str) -> Booking:
        self._require(actor, Action.BOOKING_WRITE, case=case)
        if form not in FORMS:
            raise InvalidInput(f"form is one of {', '.join(FORMS)}", code="invalid_field")
        booking = await self.store.book(slot_id, case, form, actor, now_ms(), self._check_slot(case, form))
        self.notify("confirmation", booking)
        return booking

    async def _own_booking(self, actor: User, case: Case, booking_id: int) -> Booking:
        self._require(actor, Action.BOOKING_WRITE, case=case)
        booking = await self.store.booking(booking_id)
        if booking is None or booking.case_id != case.id:
            raise NotFound("no such booking", code="unknown_booking")
        allowed, why = self.may_change(actor, booking)
        if not allowed:
            hours = self.change_ms // HOUR_MS
            raise Conflict({"too_late_to_change": f"a booking can be changed here until {hours} hours before it"
                                                  " starts; call the unit to change it",
                            "booking_started": "the meeting has started or passed",
                            "booking_not_active": "the booking is cancelled or rescheduled"}[why], code=why)
        return booking

    async def cancel(self, actor: User, case: Case, booking_id: int) -> Booking:
        await self._own_booking(actor, case, booking_id)
        booking = await self.store.cancel(booking_id, actor, now_ms())
        self.notify("cancellation", booking)
        return booking

    async def reschedule(self, actor: User, case: Case, booking_id: int, slot_id: int, form: str) -> Booking:
        await self._own_booking(actor, case, booking_id)
        if form not in FORMS:
            raise InvalidInput(f"form is one of {', '.join(FORMS)}", code="invalid_field")
        booking = await self.store.book(slot_id, case, form, actor, now_ms(), self._check_slot(case, form),
                                        replaces=booking_id)
        old = await self.store.booking(booking_id)
        if old is not None:
            self.notify("cancellation", old)  # the old time leaves the person's calendar
        self.notify("confirmation", booking)
        return booking

    # -- contact e-mail ----------------------------------------------------------------------------------
    async def set_contact_email(self, actor: User, email: str | None) -> None:
        if email is not None and (len(email) > 254 or not EMAIL.match(email)):
            raise InvalidInput("not an e-mail address", code="invalid_field")
        await self.store.set_contact_email(actor.id, email)
