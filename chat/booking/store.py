"""Tidsbokning: caseworkers publish times with the meeting forms they offer (in person at one of the unit's
offices, phone, video); a citizen books a time for one of their own cases in that unit, and cancels or
reschedules it until a limit before it starts; staff of the unit do every step on the citizen's behalf (a
booking by phone), recorded as such. The server keeps metadata only: times, forms, who booked and how."""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.model import Case, Role, User, now_ms
from chat.policy import Action, decide
from chat.storage.sqlite.writer import SqliteWriter

FORMS = ("in_person", "phone", "video")
HOUR_MS = 3600 * 1000
MAX_SLOT_MS = 8 * HOUR_MS
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$")


@dataclass(frozen=True, slots=True)
class Office:
    id: int
    unit_id: str
    address: str


@dataclass(frozen=True, slots=True)
class Slot:
    id: int
    unit_id: str
    caseworker: str
    starts_at: int
    ends_at: int
    forms: tuple[str, ...]
    office_id: int | None
    address: str | None  # the office's address, when the slot offers in_person
    withdrawn_at: int | None = None


@dataclass(frozen=True, slots=True)
class Booking:
    id: int
    slot: Slot
    case_id: str
    citizen_id: str
    form: str
    status: str  # booked, cancelled, rescheduled
    booked_by: str
    on_behalf: bool
    created_at: int
    changed_at: int | None
    changed_by: str | None
    changed_on_behalf: bool | None
    replaced_by: int | None


_SLOT_COLS = ("s.id, s.unit_id, s.caseworker, s.starts_at, s.ends_at, s.forms, s.office_id, o.address,"
              " s.withdrawn_at")
_SLOT_FROM = "booking_slots s LEFT JOIN booking_offices o ON o.id = s.office_id"
_BOOKING_COLS = ("b.id, b.case_id, b.citizen_id, b.form, b.status, b.booked_by, b.on_behalf, b.created_at,"
                 " b.changed_at, b.changed_by, b.changed_on_behalf, b.replaced_by")


def _slot(r: Any) -> Slot:
    return Slot(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), r[6], r[7], r[8])


def _booking(r: Any) -> Booking:
    slot = _slot(r[:9])
    b = r[9:]
    return Booking(b[0], slot, b[1], b[2], b[3], b[4], b[5], bool(b[6]), b[7], b[8], b[9],
                   None if b[10] is None else bool(b[10]), b[11])


_BOOKING_SELECT = (f"SELECT {_SLOT_COLS}, {_BOOKING_COLS} FROM bookings b JOIN booking_slots s ON s.id = b.slot_id"
                   " LEFT JOIN booking_offices o ON o.id = s.office_id")


MAX_ADDRESS = 200


def office_address(text: str) -> str:
    """An office address as people write it, on one line: spaces collapsed, 3 to 200 characters, no control
    characters (it goes into e-mails and calendar invitations)."""
    address = " ".join(text.split())
    if not 3 <= len(address) <= MAX_ADDRESS or any(not ch.isprintable() for ch in address):
        raise InvalidInput(f"an address is 3 to {MAX_ADDRESS} printable characters", code="invalid_address")
    return address


def add_office(db: sqlite3.Connection, unit_id: str, address: str) -> int:
    """Add an office to a unit in `db` (the server, and `samtal booking office`); a retired one comes back."""
    db.execute("INSERT INTO booking_offices (unit_id, address) VALUES (?, ?)"
               " ON CONFLICT (unit_id, address) DO UPDATE SET retired_at = NULL", (unit_id, address))
    (office_id,) = db.execute("SELECT id FROM booking_offices WHERE unit_id = ? AND address = ?",
                              (unit_id, address)).fetchone()
    return int(office_id)


class BookingStore:
    """The booking tables (migration 0010) through the single SQLite writer; each change is one transaction."""

    def __init__(self, writer: SqliteWriter) -> None:
        self.writer = writer

    async def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return await self.writer.transaction(fn)

    # -- offices and contact addresses -----------------------------------------------------------------
    async def add_office(self, unit_id: str, address: str) -> int:
        """Add an office (an address retired earlier is taken into use again, with its id)."""
        return int(await self._run(lambda db: add_office(db, unit_id, address)))

    async def offices(self, unit_id: str) -> list[Office]:
        """The offices in use: those new times can be at."""
        rows = await self._run(lambda db: db.execute(
            "SELECT id, unit_id, address FROM booking_offices WHERE unit_id = ? AND retired_at IS NULL ORDER BY id",
            (unit_id,)).fetchall())
        return [Office(*r) for r in rows]

    async def retire_office(self, unit_id: str, office_id: int, at: int) -> Office:
        """Stop using an office for new times. Refused while a time still to come is at it (withdraw or
        move those first); earlier times keep naming it."""
        def retire(db: sqlite3.Connection) -> Office:
            row = db.execute("SELECT id, unit_id, address FROM booking_offices WHERE id = ? AND unit_id = ? AND"
                             " retired_at IS NULL", (office_id, unit_id)).fetchone()
            if row is None:
                raise NotFound("no such office in this unit", code="unknown_office")
            if db.execute("SELECT 1 FROM booking_slots WHERE office_id = ? AND withdrawn_at IS NULL AND ends_at > ?"
                          " LIMIT 1", (office_id, at)).fetchone():
                raise Conflict("times still to come are at this office; withdraw them first", code="office_in_use")
            db.execute("UPDATE booking_offices SET retired_at = ? WHERE id = ?", (at, office_id))
            return Office(*row)
        return await self._run(retire)  # type: ignore[no-any-return]

    async def set_contact_email(self, user_id: str, email: str | None) -> None:
        def put(db: sqlite3.Connection) -> None:
            if email is None:
                db.execute("DELETE FROM contact_emails WHERE user_id = ?", (user_id,))
            else:
                db.execute("INSERT INTO contact_emails (user_id, email, updated_at) VALUES (?, ?, ?) ON CONFLICT"
                           " (user_id) DO UPDATE SET email = excluded.email, updated_at = excluded.updated_at",
                           (user_id, email, now_ms()))
        await self._run(put)

    async def add_contact_email_if_missing(self, user_id: str, email: str) -> None:
        await self._run(lambda db: db.execute(
            "INSERT INTO contact_emails (user_id, email, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, email, now_ms())))

    async def contact_email(self, user_id: str) -> str | None:
        row = await self._run(lambda db: db.execute("SELECT email FROM contact_emails WHERE user_id = ?",
                                                    (user_id,)).fetchone())
        return None if row is None else str(row[0])

    # -- slots -----------------------------------------------------------------------------------------
    async def add_slot(self, unit_id: str, caseworker: str, starts_at: int, ends_at: int, forms: tuple[str, ...],
                       office_id: int | None, created_by: str) -> Slot:
        def add(db: sqlite3.Connection) -> Slot:
            overlap = db.execute(
                "SELECT 1 FROM booking_slots WHERE caseworker = ? AND withdrawn_at IS NULL AND starts_at < ?"
                " AND ends_at > ?", (caseworker, ends_at, starts_at)).fetchone()
            if overlap:
                raise Conflict("the caseworker already has a time that overlaps this one", code="slot_overlaps")
            cur = db.execute(
                "INSERT INTO booking_slots (unit_id, caseworker, starts_at, ends_at, forms, office_id, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (unit_id, caseworker, starts_at, ends_at, json.dumps(list(forms)), office_id, created_by, now_ms()))
            return self._slot_in(db, int(cur.lastrowid or 0))  # type: ignore[return-value]
        return await self._run(add)  # type: ignore[no-any-return]

    @staticmethod
    def _slot_in(db: sqlite3.Connection, slot_id: int) -> Slot | None:
        row = db.execute(f"SELECT {_SLOT_COLS} FROM {_SLOT_FROM} WHERE s.id = ?", (slot_id,)).fetchone()
        return None if row is None else _slot(row)

    async def slot(self, slot_id: int) -> Slot | None:
        return await self._run(lambda db: self._slot_in(db, slot_id))  # type: ignore[no-any-return]

    async def withdraw_slot(self, unit_id: str, slot_id: int) -> None:
        def withdraw(db: sqlite3.Connection) -> None:
            slot = self._slot_in(db, slot_id)
            if slot is None or slot.unit_id != unit_id or slot.withdrawn_at is not None:
                raise NotFound("no such time", code="unknown_slot")
            if db.execute("SELECT 1 FROM bookings WHERE slot_id = ? AND status = 'booked'", (slot_id,)).fetchone():
                raise Conflict("the time is booked; cancel the booking first", code="slot_booked")
            db.execute("UPDATE booking_slots SET withdrawn_at = ? WHERE id = ?", (now_ms(), slot_id))
        await self._run(withdraw)

    async def open_slots(self, unit_id: str, after: int) -> list[Slot]:
        rows = await self._run(lambda db: db.execute(
            f"SELECT {_SLOT_COLS} FROM {_SLOT_FROM} WHERE s.unit_id = ? AND s.withdrawn_at IS NULL AND s.starts_at > ?"
            " AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = s.id AND b.status = 'booked')"
            " ORDER BY s.starts_at, s.id LIMIT 500", (unit_id, after)).fetchall())
        return [_slot(r) for r in rows]

    async def calendar(self, unit_id: str, caseworker: str | None, start: int, end: int
                       ) -> list[tuple[Slot, Booking | None]]:
        def read(db: sqlite3.Connection) -> list[tuple[Slot, Booking | None]]:
            where, args = "s.unit_id = ? AND s.withdrawn_at IS NULL AND s.starts_at < ? AND s.ends_at > ?", [
                unit_id, end, start]
            if caseworker:
                where += " AND s.caseworker = ?"
                args.append(caseworker)
            slots = [_slot(r) for r in db.execute(
                f"SELECT {_SLOT_COLS} FROM {_SLOT_FROM} WHERE {where} ORDER BY s.starts_at, s.id", args)]
            out: list[tuple[Slot, Booking | None]] = []
            for slot in slots:
                row = db.execute(f"{_BOOKING_SELECT} WHERE b.slot_id = ? AND b.status = 'booked'",
                                 (slot.id,)).fetchone()
                out.append((slot, None if row is None else _booking(row)))
            return out
        return await self._run(read)  # type: ignore[no-any-return]

    # -- bookings --------------------------------------------------------------------------------------
    @staticmethod
    def _booking_in(db: sqlite3.Connection, booking_id: int) -> Booking | None:
        row = db.execute(f"{_BOOKING_SELECT} WHERE b.id = ?", (booking_id,)).fetchone()
        return None if row is None else _booking(row)

    async def booking(self, booking_id: int) -> Booking | None:
        return await self._run(lambda db: self._booking_in(db, booking_id))  # type: ignore[no-any-return]

    async def bookings_of_case(self, case_id: str) -> list[Booking]:
        rows = await self._run(lambda db: db.execute(
            f"{_BOOKING_SELECT} WHERE b.case_id = ? ORDER BY s.starts_at DESC, b.id DESC LIMIT 200",
            (case_id,)).fetchall())
        return [_booking(r) for r in rows]

    async def book(self, slot_id: int, case: Case, form: str, actor: User, at: int,
                   check: Callable[[Slot], None], replaces: int | None = None) -> Booking:
        """Book `slot_id` in one transaction: the slot is checked and taken together, so two requests for the
        same time cannot both win. With `replaces`, that booking becomes `rescheduled` in the same step."""
        on_behalf = actor.role != Role.CITIZEN

        def book(db: sqlite3.Connection) -> Booking:
            slot = self._slot_in(db, slot_id)
            if slot is None or slot.withdrawn_at is not None:
                raise NotFound("no such time", code="unknown_slot")
            check(slot)
            if db.execute("SELECT 1 FROM bookings WHERE slot_id = ? AND status = 'booked'", (slot_id,)).fetchone():
                raise Conflict("the time is already booked", code="slot_taken")
            if replaces is not None:
                db.execute("UPDATE bookings SET status = 'rescheduled', changed_at = ?, changed_by = ?,"
                           " changed_on_behalf = ? WHERE id = ? AND status = 'booked'",
                           (at, actor.id, int(on_behalf), replaces))
            cur = db.execute(
                "INSERT INTO bookings (slot_id, case_id, citizen_id, form, status, booked_by, on_behalf, created_at)"
                " VALUES (?, ?, ?, ?, 'booked', ?, ?, ?)",
                (slot_id, case.id, case.citizen_id, form, actor.id, int(on_behalf), at))
            new_id = int(cur.lastrowid or 0)
            if replaces is not None:
                db.execute("UPDATE bookings SET replaced_by = ? WHERE id = ?", (new_id, replaces))
            return self._booking_in(db, new_id)  # type: ignore[return-value]
        try:
            return await self._run(book)  # type: ignore[no-any-return]
        except sqlite3.IntegrityError:  # the unique index: someone booked it a moment earlier
            raise Conflict("the time is already booked", code="slot_taken") from None

    async def cancel(self, booking_id: int, actor: User, at: int) -> Booking:
        def cancel(db: sqlite3.Connection) -> Booking:
            done = db.execute("UPDATE bookings SET status = 'cancelled', changed_at = ?, changed_by = ?,"
                              " changed_on_behalf = ? WHERE id = ? AND status = 'booked'",
                              (at, actor.id, int(actor.role != Role.CITIZEN), booking_id)).rowcount
            if not done:
                raise Conflict("the booking is not active", code="booking_not_active")
            return self._booking_in(db, booking_id)  # type: ignore[return-value]
        return await self._run(cancel)  # type: ignore[no-any-return]

    async def due_reminders(self, start_before: int, now: int) -> list[Booking]:
        rows = await self._run(lambda db: db.execute(
            f"{_BOOKING_SELECT} WHERE b.status = 'booked' AND b.reminded_at IS NULL AND s.starts_at > ?"
            " AND s.starts_at <= ? ORDER BY s.starts_at LIMIT 200", (now, start_before)).fetchall())
        return [_booking(r) for r in rows]

    async def mark_reminded(self, booking_id: int, at: int) -> None:
        await self._run(lambda db: db.execute("UPDATE bookings SET reminded_at = ? WHERE id = ?", (at, booking_id)))


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

    async def add_office(self, actor: User, unit_id: str, address: str) -> int:
        """(a supervisor) An address where the unit meets citizens in person; it goes in booking e-mails."""
        self._require(actor, Action.UNIT_SETTINGS_MANAGE, unit_id=unit_id)
        return await self.store.add_office(unit_id, office_address(address))

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
