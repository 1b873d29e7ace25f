"""Notifications by e-mail, the rules with the clock in hand: real SQLite storage, a real local SMTP server,
and sweeps at chosen times, so that "after the grace period" and "within the interval" are exact instead of
waited for. A burst sends one mail, a message the citizen's device received sends none, the throttle holds,
no opt-in or no address sends none, the mail says nothing but that there is something new, and what waits
survives a restart. tests/test_notifications_server.py drives the same through a running server."""
from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chat import demo
from chat.booking.mail import MailConfig
from chat.errors import Conflict
from chat.mailer import SmtpServer
from chat.model import now_ms
from chat.notifications import notices as notifications
from chat.notifications.notices import Notices, Notifier
from chat.storage.sqlite.store import SqliteStore

from .conftest import free_port
from .helpers import CASE_DANA, CASE_ERIK, Mailbox, local_mailbox

SMTP_PORT = free_port()
GRACE, INTERVAL = 300, 3600
SECOND = 1000
CONFIG = MailConfig(SmtpServer("127.0.0.1", SMTP_PORT, "none"), "samtal@kommun.example",
                    "https://samtal.example-kommun.se/")
# What a notification must never carry: the case, the unit, the people, the kind of thing.
SENSITIVE = ("eb-2026", "Ansökan", "bistånd", "Ekonomiskt", "Dana", "Karlsson", "Erik", "Nilsson", "Anna", "Lind",
             "meddelande från", "message from", "bokning", "booking")


@pytest.fixture(scope="module")
def smtp() -> Iterator[Mailbox]:
    yield from local_mailbox(SMTP_PORT)


@pytest.fixture
def mailbox(smtp: Mailbox) -> Mailbox:
    smtp.messages.clear()
    return smtp


async def open_store(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    await demo.seed(store)
    return store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_store(tmp_path / "samtal.sqlite3")
    yield store
    await store.close()


async def opt_in(store: SqliteStore, user_id: str, address: str, language: str | None = None) -> None:
    await store.bookings.set_contact_email(user_id, address)
    user = await store.get_user(user_id)
    assert user is not None
    await notifications.set_preferences(store, user, True, language, address)


async def staff_wrote(store: SqliteStore, case_id: str, *seqs: int) -> tuple[int, int]:
    """Anna's messages `seqs` in the case, noted as the server notes them; returns the clock around it."""
    case = await store.get_case(case_id)
    assert case is not None
    notices = Notices(store)
    before = now_ms()
    for seq in seqs:
        notices.message_stored(case, seq, "anna")
    await notices.drain()
    return before, now_ms()


def mails_to(box: Mailbox, address: str) -> list[Any]:
    return [email.message_from_bytes(m.content, policy=email.policy.default) for m in box.messages
            if address in m.rcpt_tos]


async def test_a_burst_of_messages_sends_one_mail_once_the_grace_period_has_passed(store, mailbox):
    await opt_in(store, "dana", "dana@example.se")
    notifier = Notifier(store, CONFIG, GRACE, INTERVAL)
    first, last = await staff_wrote(store, CASE_DANA, 1, 2, 3)
    assert await notifier.sweep(first + GRACE * SECOND - 1) == 0  # not yet
    assert await notifier.sweep(last + GRACE * SECOND) == 1
    assert await notifier.sweep(last + GRACE * SECOND + 1) == 0
    assert len(mails_to(mailbox, "dana@example.se")) == 1
    assert await store.notifications.waiting_kinds("dana") == []


async def test_a_message_a_device_received_before_the_grace_period_sends_nothing(store, mailbox):
    await opt_in(store, "dana", "dana@example.se")
    await opt_in(store, "erik", "erik@example.se")
    notifier = Notifier(store, CONFIG, GRACE, INTERVAL)
    waiting = store.notifications
    # Dana's phone got both messages (a delivered receipt); the server hears of it live.
    _, last = await staff_wrote(store, CASE_DANA, 1, 2)
    dana_case = await store.get_case(CASE_DANA)
    marks = await store.mark_receipt(CASE_DANA, "dana", delivered_seq=2, read_seq=0)
    notices = Notices(store)
    notices.receipt(dana_case, marks.user_id, marks.delivered_seq, marks.read_seq)
    await notices.drain()
    assert await waiting.waiting_kinds("dana") == []
    # Erik read the message, and the sweep sees his receipt even if the live note never came.
    await staff_wrote(store, CASE_ERIK, 1)
    await store.mark_receipt(CASE_ERIK, "erik", delivered_seq=0, read_seq=1)
    assert await notifier.sweep(last + 10 * GRACE * SECOND) == 0
    assert mailbox.messages == [] and await waiting.waiting_kinds("erik") == []


async def test_what_a_device_has_not_received_still_counts_from_when_the_person_was_last_there(store, mailbox):
    await opt_in(store, "dana", "dana@example.se")
    notifier = Notifier(store, CONFIG, GRACE, INTERVAL)
    first, _ = await staff_wrote(store, CASE_DANA, 1, 2, 3)
    case = await store.get_case(CASE_DANA)
    marks = await store.mark_receipt(CASE_DANA, "dana", delivered_seq=1, read_seq=1)
    notices = Notices(store)
    notices.receipt(case, "dana", marks.delivered_seq, marks.read_seq)
    await notices.drain()
    seen_at = now_ms()
    assert await store.notifications.waiting_kinds("dana") == [(CASE_DANA, "message")]
    assert await notifier.sweep(first + GRACE * SECOND) == 0  # she was there a moment ago
    assert await notifier.sweep(seen_at + GRACE * SECOND + SECOND) == 1


async def test_the_throttle_holds_a_second_burst_until_the_interval_has_passed(store, mailbox):
    await opt_in(store, "dana", "dana@example.se")
    notifier = Notifier(store, CONFIG, GRACE, INTERVAL)
    _, last = await staff_wrote(store, CASE_DANA, 1)
    mailed_at = last + GRACE * SECOND
    assert await notifier.sweep(mailed_at) == 1
    await staff_wrote(store, CASE_DANA, 2, 3, 4)
    assert await notifier.sweep(mailed_at + INTERVAL * SECOND - 1) == 0
    assert await notifier.sweep(mailed_at + INTERVAL * SECOND) == 1
    assert len(mails_to(mailbox, "dana@example.se")) == 2


async def test_no_mail_without_opting_in_or_without_an_address(store, mailbox):
    notifier = Notifier(store, CONFIG, GRACE, INTERVAL)
    dana, erik = await store.get_user("dana"), await store.get_user("erik")
    bookings = store.bookings
    # Erik has an address but never opted in; Dana opted in and then out again.
    await bookings.set_contact_email("erik", "erik@example.se")
    await opt_in(store, "dana", "dana@example.se")
    await notifications.set_preferences(store, dana, False, None, "dana@example.se")
    _, last = await staff_wrote(store, CASE_DANA, 1)
    await staff_wrote(store, CASE_ERIK, 1)
    assert await notifier.sweep(last + 10 * GRACE * SECOND) == 0
    # Opting in needs an address; an address removed afterwards stops the mail too.
    await bookings.set_contact_email("erik", None)
    with pytest.raises(Conflict) as refused:
        await notifications.set_preferences(store, erik, True, None, None)
    assert refused.value.code == "contact_email_missing"
    await opt_in(store, "dana", "dana@example.se")
    await bookings.set_contact_email("dana", None)
    assert await notifier.sweep(last + 10 * GRACE * SECOND) == 0
    assert mailbox.messages == []


async def test_the_mail_says_only_that_something_is_new_and_links_to_samtal(store, mailbox):
    await opt_in(store, "dana", "dana@example.se")
    await opt_in(store, "erik", "erik@example.se", language="en")
    notifier = Notifier(store, CONFIG, GRACE, INTERVAL)
    await staff_wrote(store, CASE_DANA, 1)
    _, last = await staff_wrote(store, CASE_ERIK, 1)
    await notifications.something_new(store, CASE_DANA, notifications.BOOKING)
    assert await notifier.sweep(last + GRACE * SECOND) == 2
    (swedish,) = mails_to(mailbox, "dana@example.se")
    (english,) = mails_to(mailbox, "erik@example.se")
    assert swedish["Subject"] == "Nytt i Samtal / New in Samtal" and english["Subject"] == "New in Samtal"
    assert swedish["From"] == "samtal@kommun.example" and swedish["Auto-Submitted"] == "auto-generated"
    text, text_en = swedish.get_body(("plain",)).get_content(), english.get_body(("plain",)).get_content()
    assert text.index("Det finns något nytt för dig i Samtal") < text.index("There is something new for you in Samtal")
    assert "Det finns" not in text_en and "There is something new for you in Samtal" in text_en
    for mail, body in ((swedish, text), (english, text_en)):
        assert "https://samtal.example-kommun.se/" in body.splitlines()
        assert not mail.is_multipart()  # no attachment, nothing but the text
        headers = [f"{name}: {value}" for name, value in mail.items() if name != "To"]  # To: their own address
        everything = "\n".join([body, *headers]).lower()
        for word in SENSITIVE:
            assert word.lower() not in everything, word


async def test_what_waits_and_the_throttle_survive_a_restart(tmp_path, mailbox):
    path = tmp_path / "samtal.sqlite3"
    store = await open_store(path)
    await opt_in(store, "dana", "dana@example.se")
    await opt_in(store, "erik", "erik@example.se")
    _, last = await staff_wrote(store, CASE_DANA, 1)
    assert await Notifier(store, CONFIG, GRACE, INTERVAL).sweep(last) == 0  # not due before the restart
    await store.close()
    store = await open_store(path)
    try:
        mailed_at = last + GRACE * SECOND
        assert await Notifier(store, CONFIG, GRACE, INTERVAL).sweep(mailed_at) == 1
        await staff_wrote(store, CASE_DANA, 2)
        await store.close()
        store = await open_store(path)
        assert await Notifier(store, CONFIG, GRACE, INTERVAL).sweep(mailed_at + GRACE * SECOND) == 0  # throttled
    finally:
        await store.close()
    assert len(mails_to(mailbox, "dana@example.se")) == 1


async def test_a_mail_the_mail_server_refuses_is_tried_again_at_the_next_sweep(store, mailbox):
    await opt_in(store, "dana", "dana@example.se")
    _, last = await staff_wrote(store, CASE_DANA, 1)
    nobody_listens = MailConfig(SmtpServer("127.0.0.1", free_port(), "none"), CONFIG.sender, CONFIG.link)
    assert await Notifier(store, nobody_listens, GRACE, INTERVAL).sweep(last + GRACE * SECOND) == 0
    assert await Notifier(store, CONFIG, GRACE, INTERVAL).sweep(last + GRACE * SECOND + 1) == 1


async def test_other_features_note_their_own_kinds_and_clear_them_when_seen(store, mailbox):
    waiting = store.notifications
    anna, dana = await store.get_user("anna"), await store.get_user("dana")
    await notifications.something_new(store, CASE_DANA, "journal", by=anna)
    await notifications.something_new(store, CASE_DANA, "application", by=dana)  # her own: nothing new to her
    await notifications.something_new(store, "no-such-case", "journal", by=anna)
    assert await waiting.waiting_kinds("dana") == [(CASE_DANA, "journal")]
    await notifications.seen(store, "dana", CASE_DANA, "journal")
    assert await waiting.waiting_kinds("dana") == []
    for bad in ("", "Journal", "journal entry", "x" * 40):
        with pytest.raises(ValueError):
            await notifications.something_new(store, CASE_DANA, bad, by=anna)


async def test_notes_and_receipts_of_one_moment_are_written_together_and_in_order(store, mailbox):
    case = await store.get_case(CASE_DANA)
    assert case is not None
    notices = Notices(store)
    for seq in (1, 2, 3):
        notices.message_stored(case, seq, "anna")
    notices.receipt(case, "dana", 3, 0)  # her phone had those three...
    notices.message_stored(case, 4, "anna")  # ...and not this one
    notices.receipt(case, "anna", 4, 4)  # the caseworker's receipts say nothing about the citizen's devices
    notices.message_stored(case, 5, "dana")  # nor does her own message wait for her
    await notices.drain()
    rows = await store.writer.transaction(lambda db: db.execute(
        "SELECT case_id, kind, seq FROM notifications_waiting WHERE user_id = 'dana'").fetchall())
    assert rows == [(CASE_DANA, "message", 4)]
    notices.receipt(case, "dana", 0, 4)
    await notices.drain()
    assert await store.notifications.waiting_kinds("dana") == []
