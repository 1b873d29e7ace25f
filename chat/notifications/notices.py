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
import functools
import logging
import re
import smtplib
from typing import TYPE_CHECKING

from chat import automation
from chat.booking import mail as booking_mail
from chat.errors import Conflict, InvalidInput
from chat.model import Case, User, now_ms
from chat.notifications import mail as notification_mail
from chat.scheduled import DEFAULT_LEASE_SECONDS, Claims
from chat.storage.notifications import DueMail, Preferences

if TYPE_CHECKING:
    from chat.storage import Storage

log = logging.getLogger("samtal.notifications")

BOOKING = "booking"
KIND = re.compile(r"^[a-z][a-z_]{0,31}$")
LANGUAGES = ("sv", "en")


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
    await store.notifications.waiting(case.citizen_id, case.id, kind, seq, now_ms())


async def seen(store: Storage, user_id: str, case_id: str, kind: str) -> None:
    """A device of the person's has received what was new of `kind` in the case (call it where the citizen's
    device fetches it, or where it is pushed to a connected device of theirs)."""
    _check_kind(kind)
    await store.notifications.seen(user_id, case_id, kind)


async def preferences(store: Storage, user_id: str) -> Preferences:
    return await store.notifications.preferences(user_id)


async def set_preferences(store: Storage, user: User, email_opt_in: bool, language: str | None,
                          contact_email: str | None) -> Preferences:
    """E-mail needs an address to go to: turning it on without one is refused, not silently useless."""
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"language is one of {', '.join(LANGUAGES)} or null", code="invalid_field")
    if email_opt_in and contact_email is None:
        raise Conflict("give a contact e-mail first", code="contact_email_missing")
    prefs = Preferences(email_opt_in, language)
    await store.notifications.set_preferences(user.id, prefs, now_ms())
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
                await self.store.notifications.note(waiting, received)
            except Exception as error:  # noqa: BLE001 (a lost note costs one notification, never a message)
                log.error("notifications not noted", extra={"error": type(error).__name__})

    async def drain(self) -> None:
        """Wait for the writes under way (at shutdown, and in tests)."""
        while self._writer is not None and not self._writer.done():
            await self._writer


class Notifier:
    """The sweep: who is due, one mail each through the booking mail's sender, then the throttle."""

    def __init__(self, store: Storage, mail: booking_mail.MailConfig, grace_seconds: int,
                 min_interval_seconds: int, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> None:
        self.store = store.notifications
        self.audit = store  # the audit log: each mail is an automated step (chat/automation.py)
        self.claims = Claims(store.schedule, lease_seconds)
        self.mail = mail
        self.grace_ms = grace_seconds * 1000
        self.interval_ms = min_interval_seconds * 1000

    async def sweep(self, now: int | None = None) -> int:
        """Mail everyone due at `now` (the clock by default); returns how many mails went. A mail that
        cannot be sent leaves what waits in place, to be tried at the next sweep."""
        now = now_ms() if now is None else now
        sent = 0
        for due in await self.store.due(now, self.grace_ms, self.interval_ms):
            # Claimed first (every node sweeps): one mail per person after their previous one, whichever node.
            item = f"{due.user_id}:{due.last_sent_at or 0}"
            if await self.claims.once("notification_mail", item, functools.partial(self._mail, due, now)):
                sent += 1
        if sent:
            log.info("notification mails sent", extra={"count": sent})
        return sent

    async def _mail(self, due: DueMail, now: int) -> bool:
        mail = notification_mail.message(due.email, due.language, self.mail)
        try:
            await asyncio.to_thread(booking_mail.send, self.mail, mail)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("notification mail not sent", extra={"error": type(error).__name__})
            return False
        await self.store.mailed(due.user_id, now)
        await automation.record(self.audit, "notification_mail", person=due.user_id)
        return True
