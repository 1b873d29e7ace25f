"""The booking tables (migration 0010), for both engines; each change is one transaction."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chat.errors import Conflict, NotFound
from chat.model import Case, Role, User, now_ms
from chat.storage.bookings import Booking, BookingStore, Office, Slot
from chat.storage.sql import Db, Engine

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



def add_office(db: Db, unit_id: str, address: str, phone: str | None = None) -> int:
    """Add an office to a unit in `db` (the server, and `samtal booking office`); a retired one comes back, and
    a phone number given replaces the one it had."""
    db.execute("INSERT INTO booking_offices (unit_id, address, phone) VALUES (?, ?, ?)"
               " ON CONFLICT (unit_id, address) DO UPDATE SET retired_at = NULL,"
               " phone = coalesce(excluded.phone, booking_offices.phone)", (unit_id, address, phone))
    (office_id,) = db.execute("SELECT id FROM booking_offices WHERE unit_id = ? AND address = ?",
                              (unit_id, address)).fetchone()
    return int(office_id)



class SqlBookingStore(BookingStore):
    """Each change is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def _run(self, fn: Callable[[Db], Any]) -> Any:
        return await self.engine.transaction(fn)

    # -- offices and contact addresses -----------------------------------------------------------------
    async def add_office(self, unit_id: str, address: str, phone: str | None = None) -> int:
        """Add an office (an address retired earlier is taken into use again, with its id)."""
        return int(await self._run(lambda db: add_office(db, unit_id, address, phone)))

    async def offices(self, unit_id: str) -> list[Office]:
        """The offices in use: those new times can be at."""
        rows = await self._run(lambda db: db.execute(
            "SELECT id, unit_id, address, phone FROM booking_offices WHERE unit_id = ? AND retired_at IS NULL"
            " ORDER BY id",
            (unit_id,)).fetchall())
        return [Office(*r) for r in rows]

    async def retire_office(self, unit_id: str, office_id: int, at: int) -> Office:
        """Stop using an office for new times. Refused while a time still to come is at it (withdraw or
        move those first); earlier times keep naming it."""
        def retire(db: Db) -> Office:
            row = db.execute("SELECT id, unit_id, address, phone FROM booking_offices WHERE id = ? AND unit_id = ? AND"
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
        def put(db: Db) -> None:
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
        def add(db: Db) -> Slot:
            overlap = db.execute(
                "SELECT 1 FROM booking_slots WHERE caseworker = ? AND withdrawn_at IS NULL AND starts_at < ?"
                " AND ends_at > ?", (caseworker, ends_at, starts_at)).fetchone()
            if overlap:
                raise Conflict("the caseworker already has a time that overlaps this one", code="slot_overlaps")
            cur = db.execute(
                "INSERT INTO booking_slots (unit_id, caseworker, starts_at, ends_at, forms, office_id, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (unit_id, caseworker, starts_at, ends_at, json.dumps(list(forms)), office_id, created_by, now_ms()))
            return self._slot_in(db, int(cur.fetchone()[0]))  # type: ignore[return-value]
        return await self._run(add)  # type: ignore[no-any-return]

    @staticmethod
    def _slot_in(db: Db, slot_id: int) -> Slot | None:
        row = db.execute(f"SELECT {_SLOT_COLS} FROM {_SLOT_FROM} WHERE s.id = ?", (slot_id,)).fetchone()
        return None if row is None else _slot(row)

    async def slot(self, slot_id: int) -> Slot | None:
        return await self._run(lambda db: self._slot_in(db, slot_id))  # type: ignore[no-any-return]

    async def withdraw_slot(self, unit_id: str, slot_id: int) -> None:
        def withdraw(db: Db) -> None:
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
        def read(db: Db) -> list[tuple[Slot, Booking | None]]:
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
    def _booking_in(db: Db, booking_id: int) -> Booking | None:
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

        def book(db: Db) -> Booking:
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
                " VALUES (?, ?, ?, ?, 'booked', ?, ?, ?) RETURNING id",
                (slot_id, case.id, case.citizen_id, form, actor.id, int(on_behalf), at))
            new_id = int(cur.fetchone()[0])
            if replaces is not None:
                db.execute("UPDATE bookings SET replaced_by = ? WHERE id = ?", (new_id, replaces))
            return self._booking_in(db, new_id)  # type: ignore[return-value]
        try:
            return await self._run(book)  # type: ignore[no-any-return]
        except self.engine.IntegrityError:  # the unique index: someone booked it a moment earlier
            raise Conflict("the time is already booked", code="slot_taken") from None

    async def cancel(self, booking_id: int, actor: User, at: int) -> Booking:
        def cancel(db: Db) -> Booking:
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

