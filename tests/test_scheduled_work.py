"""Scheduled work done once per item across server processes (#12 item 2; chat/scheduled.py): the claims on both
engines, then two real server processes on one PostgreSQL database that both run the booking reminders, each
reminder mailed once; and a node killed while it mails a reminder, whose reminder the other node sends after the
lease, once."""
from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from web.client.session import ClientSession

from . import engines
from .conftest import RunningServer, free_port, start_server, stop_server
from .helpers import CASE_DANA, CASE_ERIK, Mailbox
from .test_storage import database, engine, open_store, store  # noqa: F401 (fixtures)
from .waiting import eventually

UNIT = "ekonomiskt-bistand"
HOUR = 3600 * 1000
T0 = 1_800_000_000_000


# -- the claims, on both engines ------------------------------------------------------------------------------
async def test_an_item_is_claimed_by_one_node_taken_over_after_its_lease_and_never_after_it_is_done(store) -> None:  # type: ignore[no-untyped-def]
    claims = store.schedule
    assert await claims.claim("reminder", "1", "node-a", T0, lease_ms=1000)
    assert not await claims.claim("reminder", "1", "node-b", T0 + 999, lease_ms=1000)  # a's, within its lease
    assert await claims.claim("reminder", "1", "node-b", T0 + 1000, lease_ms=1000)  # a died: b takes it over
    await claims.release("reminder", "1", "node-a")  # a late release of a lost claim changes nothing
    assert not await claims.claim("reminder", "1", "node-c", T0 + 1001, lease_ms=1000)
    await claims.finish("reminder", "1", T0 + 1002)
    assert not await claims.claim("reminder", "1", "node-c", T0 + 10 * HOUR, lease_ms=1000)  # done is done
    assert await claims.claim("reminder", "2", "node-a", T0, lease_ms=1000)
    await claims.release("reminder", "2", "node-a")  # its mail failed: free for the next round at once
    assert await claims.claim("reminder", "2", "node-b", T0 + 1, lease_ms=1000)
    assert await claims.claim("alert", "1", "node-c", T0, lease_ms=1000)  # another kind, another item


async def test_nodes_claiming_at_once_get_each_item_once(engine: str, database: Path | str, store) -> None:  # type: ignore[no-untyped-def]
    if engine != "postgres":
        pytest.skip("one server process per SQLite data folder")
    other = await open_store(database)
    try:
        nodes = [store.schedule, other.schedule]
        won = await asyncio.gather(*(nodes[i % 2].claim("reminder", str(i // 4), f"node-{i % 2}", T0, 60_000)
                                     for i in range(40)))
    finally:
        await other.close()
    assert sum(won) == 10  # ten items, each claimed once out of four tries from two nodes


# -- two server processes on one database -------------------------------------------------------------------
class SlowFirstReminder(Mailbox):
    """A mail server that keeps the first reminder waiting (as a stuck or far away one would) and then refuses
    it; every other mail is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.held = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if subject(envelope).startswith("Påminnelse") and not self.held.is_set():
            self.held.set()
            await asyncio.sleep(30)  # the node that sent it is killed meanwhile
            return "451 try again later"
        return await super().handle_DATA(server, session, envelope)


def subject(envelope: Any) -> str:
    return str(email.message_from_bytes(envelope.content, policy=email.policy.default)["Subject"])


def reminders(box: Mailbox) -> list[str]:
    """The booking each reminder is about, by the UID of its calendar entry."""
    found = []
    for envelope in box.messages:
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if str(mail["Subject"]).startswith("Påminnelse"):
            (calendar,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
            text = calendar.get_payload(decode=True).decode("utf-8")
            found.append(text.split("UID:", 1)[1].splitlines()[0].strip())
    return found


@pytest.fixture
def mail_server() -> Iterator[tuple[int, SlowFirstReminder]]:
    from aiosmtpd.controller import Controller

    box, port = SlowFirstReminder(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def node(tmp: Path, name: str, database: str, smtp_port: int) -> RunningServer:
    (tmp / name).mkdir()
    return start_server(tmp / name, SAMTAL_DATABASE_URL=database, SAMTAL_PNR_HMAC_KEY="k" * 32,
                        SAMTAL_SMTP_HOST="127.0.0.1", SAMTAL_SMTP_PORT=str(smtp_port),
                        SAMTAL_BOOKING_REMINDER_HOURS="2", SAMTAL_BOOKING_REMINDER_CHECK_SECONDS="1",
                        SAMTAL_SCHEDULE_LEASE_SECONDS="3")


async def book_soon(url: str, clients: Path, first: int, count: int) -> None:
    """`count` bookings starting within the reminder window, for Dana's and Erik's cases, each one minute long
    and six minutes apart, the first `first` times six minutes after the hour from now."""
    sessions = {name: ClientSession(url, clients, name) for name in ("anna", "dana", "erik")}
    try:
        for session in sessions.values():
            await session.start()
        start = int(time.time() * 1000) + HOUR
        for i in range(first, first + count):
            slot = await sessions["anna"].transport.call("POST", f"/api/units/{UNIT}/slots", {
                "starts_at": start + i * HOUR // 10, "ends_at": start + i * HOUR // 10 + 60_000, "forms": ["video"]})
            case = CASE_DANA if i % 2 else CASE_ERIK
            await sessions["anna"].transport.call("POST", f"/api/cases/{case}/bookings",
                                                  {"slot_id": slot["slot"]["id"], "form": "video"})
    finally:
        for session in sessions.values():
            await session.close()


async def test_two_nodes_send_each_reminder_once_and_one_left_by_a_killed_node_goes_after_its_lease(
        tmp_path: Path, mail_server: tuple[int, SlowFirstReminder]) -> None:
    smtp_port, box = mail_server
    database = engines.postgres_url()  # two server processes on one database: PostgreSQL
    a = node(tmp_path, "a", database, smtp_port)
    b: RunningServer | None = None
    try:
        await book_soon(a.url, tmp_path / "clients", 0, 1)
        # a claimed the reminder and is mailing it
        await eventually(box.held.is_set, within=120, what="the first reminder being mailed")
        os.kill(a.process.pid, signal.SIGKILL)  # and dies there: its claim stays unfinished
        a.process.wait(10)
        b = node(tmp_path, "b", database, smtp_port)
        # b takes it over once a's lease has passed
        await eventually(lambda: len(reminders(box)) == 1, within=120, what="the held reminder, from the other node")
        first = reminders(box)

        a = node(tmp_path, "a2", database, smtp_port)  # now two nodes, both running the reminder loop
        await book_soon(b.url, tmp_path / "clients", 1, 6)
        await eventually(lambda: len(reminders(box)) >= 7, within=120, what="every reminder")
        await asyncio.sleep(4)  # several more rounds of both loops, past the lease: nothing is sent again
    finally:
        for running in (a, b):
            if running is not None and running.process.poll() is None:
                stop_server(running)
    sent = reminders(box)
    assert len(sent) == 7 and len(set(sent)) == 7 and first[0] in sent, sent
    with engines.connect(database) as db:
        assert db.execute("SELECT count(*) FROM bookings WHERE reminded_at IS NOT NULL").fetchone()[0] == 7
        nodes = {n for (n,) in db.execute("SELECT node FROM scheduled_claims WHERE kind = 'booking_reminder'"
                                          " AND finished_at IS NOT NULL").fetchall()}
    print(f"reminders: {len(sent)} sent once each, finished by {len(nodes)} node(s)")

