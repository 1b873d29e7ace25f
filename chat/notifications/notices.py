"""Notifications by e-mail (avisering): when something new waits for a citizen and none of their devices has
received it, one e-mail after a grace period, and at most one per interval, that says only that there is
something new in Samtal, with a link (DOMAIN.md rule 14). The design, and how other features tell about their
new things: docs/notifications.md.

Other features call two functions, with the storage they already have:

    await notifications.something_new(store, case.id, "journal", by=user)   # staff published something
    await notifications.seen(store, user.id, case.id, "journal")            # the citizen's device fetched it

Messages need neither: the server notes every staff message (web/app.py) and the citizen's delivered and
read receipts say what their devices have."""
from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat.booking import mail as booking_mail
from chat.errors import Conflict, InvalidInput
from chat.model import Case, User, now_ms
from chat.notifications import mail as notification_mail

if TYPE_CHECKING:
    from chat.storage import Storage
    from chat.storage.sqlite.writer import SqliteWriter

log = logging.getLogger("samtal.notifications")

MESSAGE = "message"  # kinds this module's callers use; other features name their own
BOOKING = "booking"
KIND = re.compile(r"^[a-z][a-z_]{0,31}$")
LANGUAGES = ("sv", "en")
# One sweep mails at most this many people; the rest wait for the next sweep, a few seconds later.
SWEEP_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Preferences:
    email_opt_in: bool = False
    language: str | None = None  # "sv", "en"; None: not chosen (Swedish with English below)


@dataclass(frozen=True, slots=True)
class DueMail:
    user_id: str
    email: str
    language: str | None


class NotificationStore:
    """The tables of migration 0011 through the single SQLite writer; each call is one transaction."""

    def __init__(self, writer: SqliteWriter) -> None:
        self.writer = writer

    async def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return await self.writer.transaction(fn)

    async def waiting(self, user_id: str, case_id: str, kind: str, seq: int | None, at: int) -> None:
        """Note something new; `since` stays at the oldest unseen thing, `seq` rises to the newest."""
        await self._run(lambda db: db.execute(
            "INSERT INTO notifications_waiting (user_id, case_id, kind, since, seq) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, case_id, kind) DO UPDATE SET seq = MAX(COALESCE(seq, 0), COALESCE(excluded.seq, 0))",
            (user_id, case_id, kind, at, seq)))

    async def note(self, waiting: dict[tuple[str, str], tuple[int, int]],
                   received: dict[tuple[str, str], tuple[int, int]]) -> None:
        """Messages noted and receipts heard since the last call, in one transaction: first what waits
        (person, case) -> (since, newest seq), then what their devices have (person, case) -> (seq, at)."""
        def apply(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO notifications_waiting (user_id, case_id, kind, since, seq) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, case_id, kind) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                [(user, case, MESSAGE, since, seq) for (user, case), (since, seq) in waiting.items()])
            for (user, case), (through, at) in received.items():
                self._messages_received(db, user, case, through, at)
        await self._run(apply)

    async def seen(self, user_id: str, case_id: str, kind: str) -> None:
        await self._run(lambda db: db.execute(
            "DELETE FROM notifications_waiting WHERE user_id = ? AND case_id = ? AND kind = ?",
            (user_id, case_id, kind)))

    @staticmethod
    def _messages_received(db: sqlite3.Connection, user_id: str, case_id: str, through_seq: int, at: int) -> None:
        """The person's devices have the case's messages up to `through_seq`. What is left came while they were
        there, so its grace period starts again now."""
        db.execute("DELETE FROM notifications_waiting WHERE user_id = ? AND case_id = ? AND kind = ?"
                   " AND seq <= ?", (user_id, case_id, MESSAGE, through_seq))
        db.execute("UPDATE notifications_waiting SET since = MAX(since, ?) WHERE user_id = ? AND case_id = ?"
                   " AND kind = ?", (at, user_id, case_id, MESSAGE))

    async def preferences(self, user_id: str) -> Preferences:
        row = await self._run(lambda db: db.execute(
            "SELECT email_opt_in, language FROM notification_settings WHERE user_id = ?", (user_id,)).fetchone())
        return Preferences() if row is None else Preferences(bool(row[0]), row[1])

    async def set_preferences(self, user_id: str, prefs: Preferences, at: int) -> None:
        await self._run(lambda db: db.execute(
            "INSERT INTO notification_settings (user_id, email_opt_in, language, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET email_opt_in = excluded.email_opt_in,"
            " language = excluded.language, updated_at = excluded.updated_at",
            (user_id, int(prefs.email_opt_in), prefs.language, at)))

    async def due(self, now: int, grace_ms: int, interval_ms: int) -> list[DueMail]:
        """Who is to be mailed now: opted in, with a contact address, something unseen for longer than the
        grace period, and not mailed within the interval. Messages the person's devices have received since
        they were noted (their receipts) are dropped first, in the same transaction."""
        def pick(db: sqlite3.Connection) -> list[DueMail]:
            db.execute(
                "DELETE FROM notifications_waiting WHERE kind = ? AND seq <= (SELECT MAX(r.delivered_seq, r.read_seq)"
                " FROM receipts r WHERE r.case_id = notifications_waiting.case_id"
                " AND r.user_id = notifications_waiting.user_id)", (MESSAGE,))
            rows = db.execute(
                "SELECT w.user_id, e.email, s.language FROM notifications_waiting w"
                " JOIN notification_settings s ON s.user_id = w.user_id AND s.email_opt_in = 1"
                " JOIN contact_emails e ON e.user_id = w.user_id"
                " LEFT JOIN notification_mails m ON m.user_id = w.user_id"
                " WHERE m.last_sent_at IS NULL OR m.last_sent_at <= ?"
                " GROUP BY w.user_id HAVING MIN(w.since) <= ? ORDER BY MIN(w.since) LIMIT ?",
                (now - interval_ms, now - grace_ms, SWEEP_LIMIT)).fetchall()
            return [DueMail(*row) for row in rows]
        return await self._run(pick)  # type: ignore[no-any-return]

    async def mailed(self, user_id: str, at: int) -> None:
        """The mail went: it covers everything that waited, so those are cleared, and the throttle starts."""
        def record(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO notification_mails (user_id, last_sent_at) VALUES (?, ?) ON CONFLICT (user_id)"
                       " DO UPDATE SET last_sent_at = excluded.last_sent_at", (user_id, at))
            db.execute("DELETE FROM notifications_waiting WHERE user_id = ? AND since <= ?", (user_id, at))
        await self._run(record)

    async def waiting_kinds(self, user_id: str) -> list[tuple[str, str]]:
        """(case id, kind) of what waits for the person: for tests and the operator, never mailed."""
        rows = await self._run(lambda db: db.execute(
            "SELECT case_id, kind FROM notifications_waiting WHERE user_id = ? ORDER BY case_id, kind",
            (user_id,)).fetchall())
        return [(r[0], r[1]) for r in rows]


def _store(store: Storage) -> NotificationStore:
    return NotificationStore(store.writer)  # type: ignore[attr-defined]


def _check_kind(kind: str) -> None:
    if not KIND.match(kind):
        raise ValueError(f"a notification kind is a short lower-case word, not {kind!r}")


async def something_new(store: Storage, case_id: str, kind: str, *, by: User | None = None,
                        seq: int | None = None) -> None:
    """Something new of `kind` waits in the case for its citizen. Nothing is noted when `by` (whoever made
    it) is the citizen: they have seen what they did. The e-mail says nothing of the kind or the case."""
    _check_kind(kind)
    case = await store.get_case(case_id)
    if case is None or (by is not None and by.id == case.citizen_id):
        return
    await _store(store).waiting(case.citizen_id, case.id, kind, seq, now_ms())


async def seen(store: Storage, user_id: str, case_id: str, kind: str) -> None:
    """A device of the person's has received what was new of `kind` in the case (call it where the citizen's
    device fetches it, or where it is pushed to a connected device of theirs)."""
    _check_kind(kind)
    await _store(store).seen(user_id, case_id, kind)


async def preferences(store: Storage, user_id: str) -> Preferences:
    return await _store(store).preferences(user_id)


async def set_preferences(store: Storage, user: User, email_opt_in: bool, language: str | None,
                          contact_email: str | None) -> Preferences:
    """E-mail needs an address to go to: turning it on without one is refused, not silently useless."""
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"language is one of {', '.join(LANGUAGES)} or null", code="invalid_field")
    if email_opt_in and contact_email is None:
        raise Conflict("give a contact e-mail first", code="contact_email_missing")
    prefs = Preferences(email_opt_in, language)
    await _store(store).set_preferences(user.id, prefs, now_ms())
    return prefs


class Notices:
    """The live side: notes every staff message for its citizen and clears it when their receipts come.
    Called from the delivery fan-out, which cannot wait. What comes in one turn of the event loop, and
    while a write is under way, is written together in one transaction: a burst of messages costs the
    single writer one commit, not one each."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self._waiting: dict[tuple[str, str], tuple[int, int]] = {}  # (citizen, case) -> (since, newest seq)
        self._received: dict[tuple[str, str], tuple[int, int]] = {}  # (citizen, case) -> (through seq, at)
        self._writer: asyncio.Task[None] | None = None

    def message_stored(self, case: Case, seq: int, sender_user: str) -> None:
        if sender_user == case.citizen_id:
            return
        key = (case.citizen_id, case.id)
        since, newest = self._waiting.get(key, (now_ms(), 0))
        self._waiting[key] = (since, max(newest, seq))
        self._write_soon()

    def receipt(self, case: Case, user_id: str, delivered_seq: int, read_seq: int) -> None:
        if user_id != case.citizen_id:
            return
        key = (user_id, case.id)
        through = max(delivered_seq, read_seq, self._received.get(key, (0, 0))[0])
        self._received[key] = (through, now_ms())
        self._write_soon()

    def _write_soon(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        await asyncio.sleep(0)  # the rest of this turn's fan-out joins the same transaction
        while self._waiting or self._received:
            waiting, received = self._waiting, self._received
            self._waiting, self._received = {}, {}
            try:
                await _store(self.store).note(waiting, received)
            except Exception as error:  # noqa: BLE001 (a lost note costs one notification, never a message)
                log.error("notifications not noted", extra={"error": type(error).__name__})

    async def drain(self) -> None:
        """Wait for the writes under way (at shutdown, and in tests)."""
        while self._writer is not None and not self._writer.done():
            await self._writer


class Notifier:
    """The sweep: who is due, one mail each through the booking mail's sender, then the throttle."""

    def __init__(self, store: Storage, mail: booking_mail.MailConfig, grace_seconds: int,
                 min_interval_seconds: int) -> None:
        self.store = _store(store)
        self.mail = mail
        self.grace_ms = grace_seconds * 1000
        self.interval_ms = min_interval_seconds * 1000

    async def sweep(self, now: int | None = None) -> int:
        """Mail everyone due at `now` (the clock by default); returns how many mails went. A mail that
        cannot be sent leaves what waits in place, to be tried at the next sweep."""
        now = now_ms() if now is None else now
        sent = 0
        for due in await self.store.due(now, self.grace_ms, self.interval_ms):
            mail = notification_mail.message(due.email, due.language, self.mail)
            try:
                await asyncio.to_thread(booking_mail.send, self.mail, mail)
            except (OSError, smtplib.SMTPException) as error:
                log.warning("notification mail not sent", extra={"error": type(error).__name__})
                continue
            await self.store.mailed(due.user_id, now)
            sent += 1
        if sent:
            log.info("notification mails sent", extra={"count": sent})
        return sent
