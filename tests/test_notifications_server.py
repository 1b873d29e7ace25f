"""Notifications by e-mail through a running server, with a local SMTP server and a one-second grace period:
staff messages and a booking made by staff are noted for the citizen and cleared by their receipts and by
their opening the booking page; a burst of messages sends one mail with nothing of the messages in it; the
throttle holds and a citizen who has not opted in gets none; what waits survives a restart.

"None came" is shown without sleeping: the server mails due people oldest first in one sweep, so once a mail
to someone noted later has arrived, a mail to someone noted earlier would have arrived before it."""
from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path
from typing import Any

import pytest

from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import RunningServer, free_port, start_server, stop_server
from .helpers import CASE_DANA, CASE_ERIK, Mailbox, local_mailbox
from .waiting import eventually

SMTP_PORT = free_port()
FAST = {"SAMTAL_SMTP_HOST": "127.0.0.1", "SAMTAL_SMTP_PORT": str(SMTP_PORT), "SAMTAL_NOTIFY_GRACE_SECONDS": "1",
        "SAMTAL_NOTIFY_CHECK_SECONDS": "1", "SAMTAL_NOTIFY_MIN_INTERVAL_SECONDS": "3600"}
UNIT = "ekonomiskt-bistand"
SECRETS = ["Beslut: du får 4 200 kr i bistånd för mars", "Ring mig om skulden till Kronofogden",
           "Ditt läkarintyg från vårdcentralen har kommit"]
SENSITIVE = ("eb-2026", "Ansökan", "bistånd", "Ekonomiskt", "Dana", "Karlsson", "Erik", "Nilsson", "Anna", "Lind",
             "Kronofogden", "läkarintyg")


@pytest.fixture(scope="module")
def mailbox() -> Any:
    yield from local_mailbox(SMTP_PORT)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = start_server(tmp_path_factory.mktemp("samtal"), **FAST)
    yield running
    stop_server(running)


def waiting(server: RunningServer, user_id: str) -> list[tuple[str, str]]:
    """What the server's database says waits for the person (read-only, beside the running server)."""
    with server.db() as db:
        return [tuple(r) for r in db.execute(  # type: ignore[misc]
            "SELECT case_id, kind FROM notifications_waiting WHERE user_id = ? ORDER BY case_id, kind", (user_id,))]


async def until(check: Any, what: str, timeout: float = 30.0) -> None:
    await eventually(check, within=timeout, what=what)


def mails_to(box: Mailbox, address: str) -> list[Any]:
    """The notification mails to `address` (not the booking mails that also go there)."""
    mails = [email.message_from_bytes(m.content, policy=email.policy.default) for m in box.messages
             if address in m.rcpt_tos]
    return [m for m in mails if "Nytt i Samtal" in m["Subject"] or "New in Samtal" in m["Subject"]]


async def write(staff: ClientSession, case_id: str, *texts: str) -> int:
    socket = await staff.transport.open_socket()
    try:
        case = await staff.case(case_id)
        return max([(await staff.send(socket, case, text))["seq"] for text in texts])
    finally:
        await socket.close()


async def receipt(citizen: ClientSession, case_id: str, seq: int) -> None:
    socket = await citizen.transport.open_socket()
    try:
        await socket.request({"t": "receipt", "case_id": case_id, "delivered_seq": seq})
    finally:
        await socket.close()


async def opt_in(citizen: ClientSession, address: str) -> None:
    await citizen.transport.call("PUT", "/api/me/contact", {"email": address})
    answer = await citizen.transport.call("PUT", "/api/me/notifications", {"email_opt_in": True, "language": None})
    assert answer == {"email_opt_in": True, "language": None, "grace_seconds": answer["grace_seconds"],
                      "min_interval_seconds": 3600}


async def test_staff_messages_and_bookings_wait_until_the_citizens_device_has_them(login, server):
    anna, bo, erik = await login("anna"), await login("bo"), await login("erik")
    seq = await write(anna, CASE_ERIK, "Hej Erik, har du fått beslutet?")
    await until(lambda: waiting(server, "erik") == [(CASE_ERIK, "message")], "noting the message")
    await receipt(erik, CASE_ERIK, seq)
    await until(lambda: waiting(server, "erik") == [], "clearing it by the receipt")

    await write(erik, CASE_ERIK, "Ja, tack!")  # his own message is nothing new to him
    start = int(time.time() * 1000) + 3 * 24 * 3600 * 1000
    slot = (await anna.transport.call("POST", f"/api/units/{UNIT}/slots", {
        "starts_at": start, "ends_at": start + 3600 * 1000, "forms": ["phone"]}))["slot"]
    await bo.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings", {"slot_id": slot["id"], "form": "phone"})
    await until(lambda: waiting(server, "erik") == [(CASE_ERIK, "booking")], "noting the booking made by staff")
    await erik.transport.call("GET", f"/api/cases/{CASE_ERIK}/bookings")
    assert waiting(server, "erik") == []

    await erik.transport.call("PUT", "/api/me/contact", {"email": None})
    with pytest.raises(ClientError) as refused:  # e-mail needs an address to go to
        await erik.transport.call("PUT", "/api/me/notifications", {"email_opt_in": True, "language": None})
    assert (refused.value.status, refused.value.code) == (409, "contact_email_missing")
    for body in ({"email_opt_in": "yes", "language": None}, {"email_opt_in": False, "language": "de"},
                 {"email_opt_in": False, "language": 7}):
        with pytest.raises(ClientError) as invalid:
            await erik.transport.call("PUT", "/api/me/notifications", body)
        assert invalid.value.code == "invalid_field"
    assert await erik.transport.call("GET", "/api/me/notifications") == {
        "email_opt_in": False, "language": None, "grace_seconds": 1, "min_interval_seconds": 3600}
    await erik.transport.call("PUT", "/api/me/contact", {"email": "erik@demo.samtal.invalid"})


async def test_a_burst_sends_one_mail_with_nothing_of_the_messages_and_the_throttle_holds(login, server, mailbox):
    anna, dana, erik = await login("anna"), await login("dana"), await login("erik")
    await opt_in(dana, "dana.notiser@example.se")
    # Erik has a contact address (the demo's) but has not opted in: a message waits for him all the same.
    erik_seq = await write(anna, CASE_ERIK, "Till Erik, som inte vill ha e-post")
    await write(anna, CASE_DANA, *SECRETS)
    await until(lambda: len(mails_to(mailbox, "dana.notiser@example.se")) == 1, "the mail to Dana")
    (mail,) = mails_to(mailbox, "dana.notiser@example.se")
    assert mail["Subject"] == "Nytt i Samtal / New in Samtal"
    text = mail.get_body(("plain",)).get_content()
    assert server.url + "/" in text.splitlines()
    headers = [f"{name}: {value}" for name, value in mail.items() if name != "To"]
    for word in (*SECRETS, *SENSITIVE):
        assert word.lower() not in "\n".join([text, *headers]).lower(), word
    assert mails_to(mailbox, "erik@demo.samtal.invalid") == []  # noted before Dana's messages: no mail

    # Erik reads his, then opts in. Dana gets more within the hour; then Erik gets one.
    await receipt(erik, CASE_ERIK, erik_seq)
    await until(lambda: waiting(server, "erik") == [], "clearing Erik's")
    await opt_in(erik, "erik.notiser@example.se")
    await write(anna, CASE_DANA, "Och en sak till", "Hör av dig")
    await until(lambda: waiting(server, "dana") == [(CASE_DANA, "message")], "noting Dana's second burst")
    await write(anna, CASE_ERIK, "Hej Erik")
    await until(lambda: len(mails_to(mailbox, "erik.notiser@example.se")) == 1, "the mail to Erik")
    assert len(mails_to(mailbox, "dana.notiser@example.se")) == 1  # throttled: still one
    assert waiting(server, "dana") == [(CASE_DANA, "message")]
    db_bytes = server.stored_bytes()
    for secret in SECRETS:
        assert secret.encode() not in db_bytes


async def test_what_waits_survives_a_restart(tmp_path: Path, mailbox):
    slow = start_server(tmp_path, **{**FAST, "SAMTAL_NOTIFY_GRACE_SECONDS": "3600"})
    try:
        async with ClientSession(slow.url, tmp_path / "clients", "dana") as dana, \
                ClientSession(slow.url, tmp_path / "clients", "anna") as anna:
            await dana.start()
            await anna.start()
            await opt_in(dana, "dana.omstart@example.se")
            await write(anna, CASE_DANA, "Skrivet före omstarten")
            await until(lambda: waiting(slow, "dana") == [(CASE_DANA, "message")], "noting the message")
    finally:
        stop_server(slow)
    assert mails_to(mailbox, "dana.omstart@example.se") == []
    fast = start_server(tmp_path, **FAST)  # the same data folder
    try:
        await until(lambda: len(mails_to(mailbox, "dana.omstart@example.se")) == 1, "the mail after the restart")
    finally:
        stop_server(fast)

