"""A hostile server operator (#19), seen by a person in Chromium: the citizen's conversation page shows a
message changed in the database as one that could not be opened (with why) and keeps showing the rest, and
flags messages reordered, replayed under a new seq or withheld, in words (docs/protocol.md §20). The server's
database is changed under the running server, as an operator with a database console would."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import RunningServer, server_fixture, start_server, stop_server
from tests.helpers import CASE_DANA
from tests.test_browser_app import PHONE, Person, client_sends, person, words

server = server_fixture(SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.browser import chromium
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def citizen(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    yield from person(browser, server, "Dana Karlsson", PHONE)


def database(server: RunningServer) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "samtal.sqlite3", timeout=10)


def seq_of(server: RunningServer, text_marker: str, messages: list[str]) -> int:
    """The seq of the message in `messages` (texts sent in order) whose text is `text_marker`."""
    with database(server) as db:
        seqs = [row[0] for row in db.execute("SELECT seq FROM messages WHERE case_id = ? ORDER BY seq", (CASE_DANA,))]
    return seqs[len(seqs) - len(messages) + messages.index(text_marker)]


def flagged(citizen: Person, text: str) -> Any:
    return citizen.message(text).locator(".transcript-problem")


def open_case(citizen: Person) -> None:
    citizen.open_conversation(f"/cases/{CASE_DANA}")


def test_a_changed_message_is_shown_as_changed_and_the_rest_still_shown(citizen, server, tmp_path):
    sent = [words("Första"), words("Andra"), words("Tredje")]
    for text in sent:
        client_sends(server, tmp_path, "anna", CASE_DANA, text)
    with database(server) as db:
        seq = seq_of(server, sent[1], sent)
        (env,) = db.execute("SELECT envelope FROM messages WHERE case_id = ? AND seq = ?", (CASE_DANA, seq)).fetchone()
        changed = bytearray(env)
        changed[-70] ^= 1
        db.execute("UPDATE messages SET envelope = ? WHERE case_id = ? AND seq = ?", (bytes(changed), CASE_DANA, seq))
    open_case(citizen)
    expect(citizen.message(sent[0])).to_be_visible()
    expect(citizen.message(sent[2])).to_be_visible()
    expect(citizen.message(sent[1])).to_have_count(0)
    expect(citizen.page.locator("#messages .unreadable", has_text="ändrats efter att det skickades")).to_have_count(1)
    # The next one (the same sender's) answered the changed message as it was sent, which is not shown.
    expect(flagged(citizen, sent[2])).to_have_text([
        "Varning: ett tidigare meddelande från samma avsändare saknas här.",
        "Varning: ett meddelande som skrevs före det här saknas."])
    citizen.assert_clean()


def test_reordered_messages_are_flagged(citizen, server, tmp_path):
    sent = [words("Fråga om hyran"), words("Svar om hyran")]
    client_sends(server, tmp_path, "anna", CASE_DANA, sent[0])
    client_sends(server, tmp_path, "anna", CASE_DANA, sent[1])
    first, second = seq_of(server, sent[0], sent), seq_of(server, sent[1], sent)
    with database(server) as db:
        db.execute("UPDATE messages SET seq = -1 WHERE case_id = ? AND seq = ?", (CASE_DANA, first))
        db.execute("UPDATE messages SET seq = ? WHERE case_id = ? AND seq = ?", (first, CASE_DANA, second))
        db.execute("UPDATE messages SET seq = ? WHERE case_id = ? AND seq = -1", (second, CASE_DANA))
    open_case(citizen)
    expect(flagged(citizen, sent[1]).filter(has_text="i fel ordning")).to_have_count(1)
    expect(flagged(citizen, sent[0]).filter(has_text="i fel ordning")).to_have_count(1)
    expect(citizen.message(sent[0])).to_be_visible()
    citizen.assert_clean()


def test_a_replayed_message_is_flagged_as_shown_again(citizen, server, tmp_path):
    text = words("Beslut: 3 000 kr")
    client_sends(server, tmp_path, "anna", CASE_DANA, text)
    with database(server) as db:
        db.executescript("""
            CREATE TABLE messages_copy AS SELECT * FROM messages;
            DROP TABLE messages;
            ALTER TABLE messages_copy RENAME TO messages;""")
        db.execute("INSERT INTO messages SELECT case_id, (SELECT max(seq) + 1 FROM messages WHERE case_id = ?),"
                   " msg_id, sender_device, sender_user, envelope, stored_at FROM messages WHERE case_id = ?"
                   " AND seq = (SELECT max(seq) FROM messages WHERE case_id = ?)", (CASE_DANA, CASE_DANA, CASE_DANA))
    open_case(citizen)
    expect(citizen.message(text)).to_have_count(2)
    expect(flagged(citizen, text)).to_have_text(["Varning: meddelandet visas igen. Servern upprepar ett tidigare meddelande."])
    citizen.assert_clean()


def test_a_message_deleted_in_the_middle_is_noticed(citizen, server, tmp_path):
    sent = [words("Ett"), words("Två"), words("Tre")]
    for text in sent:
        client_sends(server, tmp_path, "anna", CASE_DANA, text)
    with database(server) as db:
        db.execute("DELETE FROM messages WHERE case_id = ? AND seq = ?", (CASE_DANA, seq_of(server, sent[1], sent)))
    open_case(citizen)
    expect(citizen.message(sent[1])).to_have_count(0)
    expect(flagged(citizen, sent[2])).to_have_text([
        "Varning: ett tidigare meddelande från samma avsändare saknas här.",
        "Varning: ett meddelande som skrevs före det här saknas."])
    citizen.assert_clean()


def test_the_last_message_deleted_after_it_was_shown_is_noticed(citizen, server, tmp_path):
    last = words("Sista")
    client_sends(server, tmp_path, "anna", CASE_DANA, last)
    open_case(citizen)
    expect(citizen.message(last)).to_be_visible()
    with database(server) as db:
        db.execute("DELETE FROM messages WHERE case_id = ? AND seq = (SELECT max(seq) FROM messages WHERE case_id = ?)",
                   (CASE_DANA, CASE_DANA))
    open_case(citizen)
    expect(citizen.message(last)).to_have_count(0)
    expect(citizen.page.locator("#transcript-status")).to_have_text(
        "Varning: ett meddelande som visades här tidigare är borta. Servern har tagit bort det.")
    citizen.assert_clean()


def test_a_device_relabelled_to_the_citizen_is_not_shown_as_her_own(citizen, server, tmp_path):
    """Run last: the server is stopped, its database changed and started again on its port (its device cache
    emptied)."""
    text = words("Ring 070-123 45 67 och uppge BankID-koden")
    client_sends(server, tmp_path, "anna", CASE_DANA, text)
    with database(server) as db:
        (device,) = db.execute("SELECT sender_device FROM messages WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
                               (CASE_DANA,)).fetchone()
    citizen.page.goto("about:blank")  # no page of the server open while it is stopped
    stop_server(server)
    with database(server) as db:
        db.execute("UPDATE devices SET user_id = 'dana' WHERE id = ?", (device,))
        db.execute("UPDATE messages SET sender_user = 'dana' WHERE sender_device = ?", (device,))
    # The same port again: the demo e-identification's issuer is the server's address, and the steward pinned it
    # on first use (a new port would be a provider it did not pin, so no citizen device would be proven).
    restarted = start_server(server.data_dir.parent, int(server.url.rsplit(":", 1)[1]),
                             SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")
    server.url, server.process = restarted.url, restarted.process  # the module's teardown stops this one
    citizen.server = server
    open_case(citizen)
    expect(citizen.message(text)).to_have_count(0)
    expect(citizen.page.locator("#messages .unreadable", has_text="servern anger en annan avsändare")).to_have_count(1)
    citizen.assert_clean()
