"""A home that says what is waiting (#14), in Chromium and live: Dana on a 360 px phone sees on *Mina ärenden*
the meeting the unit books for her (when, how, with whom), the answer to her objection (until she has read it)
and a request for completion with its last day, each arriving over the socket while the page is open; Anna's
inbox at 1366x800 shows Dana's objection as waiting, never "Besvarat", as soon as Dana makes it, and the badge
goes when Anna answers. The unit's side and Dana's objection are made with the Python client (another device of
the same people). axe-core finds nothing on either page."""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crypto.encoding import b64u
from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA
from tests.test_applications import DAY, grants_for, now_ms, sealed, submit
from tests.test_booking import day_start, publish
from tests.test_browser_app import Person
from tests.test_browser_applications import dana  # noqa: F401 (fixture: Dana on a 360 px phone)
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in
from tests.test_journal import entry_body, request, upload_body
from web.client.session import ClientSession

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
INBOX_SIZE = {"viewport": {"width": 1366, "height": 800}}
TIMEOUT = 30_000


class Clients:
    """The Python client's sessions, on an event loop of their own in a thread (Playwright's sync API holds
    this thread's loop)."""

    def __init__(self, server: RunningServer, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server, self.folder = server, folder
        self.sessions: dict[str, ClientSession] = {}

    def run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def __getitem__(self, name: str) -> ClientSession:
        if name not in self.sessions:
            session = ClientSession(self.server.url, self.folder, name)
            self.run(session.start())
            self.sessions[name] = session
        return self.sessions[name]

    def close(self) -> None:
        for session in self.sessions.values():
            self.run(session.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def clients(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    made = Clients(server, tmp_path_factory.mktemp("clients"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def anna(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Anna Lind", "/inbox", options=INBOX_SIZE)
    yield person
    person.page.context.close()


def waiting(page: Any) -> Any:
    return page.get_by_role("region", name="Väntar på dig")


def test_the_citizens_home_shows_what_waits_live(dana: Person, anna: Person, clients: Clients, axe: str) -> None:
    page = dana.page
    home = waiting(page)
    expect(home).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("list", name="Ärenden").get_by_role("link", name=re.compile("^Ansökan om ekonomiskt"))).to_be_visible(
        timeout=TIMEOUT)
    expect(home.get_by_role("link", name=re.compile("^Möte"))).to_have_count(0)

    # The unit books a phone meeting for her: it appears with when, how and with whom.
    unit = clients["anna"]
    slot = clients.run(publish(unit, day_start(2) + 9 * 3600_000, ["phone"]))
    clients.run(unit.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings", {"slot_id": slot["id"], "form": "phone"}))
    meeting = home.get_by_role("link", name=re.compile(r"^Möte .*: Telefonmöte med Anna Lind$"))
    expect(meeting).to_be_visible(timeout=TIMEOUT)
    expect(meeting).to_have_attribute("href", f"/cases/{CASE_DANA}/booking")

    # An objection answered: listed until she opens her documentation.
    entry_id, body = clients.run(upload_body(unit, "journal.entry", entry_body("Hembesök", "Hyran är obetald"), True))
    clients.run(unit.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(body, sign=True, publish=True)))
    citizen = clients["dana"]
    dispute_id, dispute = clients.run(upload_body(citizen, "journal.remark", {"type": "journal.remark",
                                                                              "text": "Hyran är betald"}, True))
    clients.run(citizen.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(dispute)))
    expect(home.get_by_role("link", name="Din invändning väntar på enhetens svar")).to_be_visible(timeout=TIMEOUT)

    # Anna's inbox at 1366x800: the row says the objection waits, not "Besvarat", live.
    row = anna.page.locator(f"[data-case-id='{CASE_DANA}']")
    expect(row).to_contain_text("Invändning väntar på svar", timeout=TIMEOUT)
    expect(row).not_to_contain_text("Besvarat")
    check(anna, axe)

    _, response = clients.run(upload_body(unit, "journal.response", {"type": "journal.response",
                                                                     "text": "Vi har rättat uppgiften"}, True))
    clients.run(unit.transport.call("POST", f"/api/journal/remarks/{dispute_id}/responses", request(response)))
    expect(row).not_to_contain_text("Invändning väntar på svar", timeout=TIMEOUT)
    answered = home.get_by_role("link", name="Enheten har svarat på din invändning")
    expect(answered).to_be_visible(timeout=TIMEOUT)
    expect(home.get_by_role("link", name="Din invändning väntar på enhetens svar")).to_have_count(0)
    check(dana, axe)

    # A request for completion with its last day, live; the inbox row names the near due date.
    record_id, _ = clients.run(submit(citizen, {"type": "application", "form": {"id": "ekonomiskt-bistand",
                                                                               "version": 1},
                                                "answers": {"month": "2026-12"}}, "dana"))
    expect(row.get_by_text("Ny ansökan")).to_be_visible(timeout=TIMEOUT)
    due = now_ms() + DAY
    completion_id, data, key = sealed(unit, "application.completion", {"type": "completion",
                                                                      "text": "Skicka hyreskontraktet"}, CASE_DANA)
    clients.run(unit.transport.call("POST", f"/api/applications/{record_id}/completion-requests", {
        "record": b64u(data), "grants": clients.run(grants_for(unit, completion_id, key, "dana")), "due_at": due}))
    request_link = home.get_by_role("link", name=re.compile("^Enheten ber dig komplettera din ansökan senast"))
    expect(request_link).to_be_visible(timeout=TIMEOUT)
    expect(request_link).to_have_attribute("href", f"/apply/{record_id}")
    expect(row.get_by_text(re.compile("^Komplettering senast"))).to_be_visible(timeout=TIMEOUT)

    # Reading the answer takes it off the list.
    answered.click()
    page.wait_for_url(f"**/cases/{CASE_DANA}/documentation")
    expect(page.get_by_text("Vi har rättat uppgiften")).to_be_visible(timeout=TIMEOUT)
    page.go_back()
    page.wait_for_url("**/cases")
    expect(home.get_by_role("link", name=re.compile("^Enheten ber dig komplettera"))).to_be_visible(timeout=TIMEOUT)
    expect(home.get_by_role("link", name="Enheten har svarat på din invändning")).to_have_count(0)
    assert not dana.errors and not anna.errors
