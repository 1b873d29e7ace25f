"""Booking's storage (tidsbokning): offices, published times, bookings and contact e-mail addresses; the records
and the interface the SQL implementation (chat/storage/sql/bookings.py) keeps. Each change is one transaction;
a time is booked at most once (a unique index), whoever asks first."""
from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

from chat.model import Case, User


@dataclass(frozen=True, slots=True)
class Office:
    id: int
    unit_id: str
    address: str
    phone: str | None = None  # the number to call the office at, if the unit gave one


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


class BookingStore(abc.ABC):
    @abc.abstractmethod
    async def add_office(self, unit_id: str, address: str, phone: str | None = None) -> int:
        """Add an office (an address retired earlier is taken into use again, with its id)."""

    @abc.abstractmethod
    async def offices(self, unit_id: str) -> list[Office]:
        """The offices in use: those new times can be at."""

    @abc.abstractmethod
    async def retire_office(self, unit_id: str, office_id: int, at: int) -> Office:
        """Stop using an office for new times. Refused while a time still to come is at it (withdraw or
        move those first); earlier times keep naming it."""

    @abc.abstractmethod
    async def set_contact_email(self, user_id: str, email: str | None) -> None: ...

    @abc.abstractmethod
    async def add_contact_email_if_missing(self, user_id: str, email: str) -> None: ...

    @abc.abstractmethod
    async def contact_email(self, user_id: str) -> str | None: ...

    @abc.abstractmethod
    async def add_slot(self, unit_id: str, caseworker: str, starts_at: int, ends_at: int, forms: tuple[str, ...],
                       office_id: int | None, created_by: str) -> Slot: ...

    @abc.abstractmethod
    async def slot(self, slot_id: int) -> Slot | None: ...

    @abc.abstractmethod
    async def withdraw_slot(self, unit_id: str, slot_id: int) -> None: ...

    @abc.abstractmethod
    async def open_slots(self, unit_id: str, after: int) -> list[Slot]: ...

    @abc.abstractmethod
    async def calendar(self, unit_id: str, caseworker: str | None, start: int, end: int
                       ) -> list[tuple[Slot, Booking | None]]: ...

    @abc.abstractmethod
    async def booking(self, booking_id: int) -> Booking | None: ...

    @abc.abstractmethod
    async def bookings_of_case(self, case_id: str) -> list[Booking]: ...

    @abc.abstractmethod
    async def book(self, slot_id: int, case: Case, form: str, actor: User, at: int,
                   check: Callable[[Slot], None], replaces: int | None = None) -> Booking:
        """Book `slot_id` in one transaction: the slot is checked and taken together, so two requests for the
        same time cannot both win. With `replaces`, that booking becomes `rescheduled` in the same step."""

    @abc.abstractmethod
    async def cancel(self, booking_id: int, actor: User, at: int) -> Booking: ...

    @abc.abstractmethod
    async def due_reminders(self, start_before: int, now: int) -> list[Booking]: ...

    @abc.abstractmethod
    async def mark_reminded(self, booking_id: int, at: int) -> None: ...
