"""Layouts that fit (#14 item 3), measured in Chromium: on a 360x740 phone the menu is one row at the bottom in
a citizen's words and the composer sits above it; at 1366x800 the inbox shows at least six cases whole, the
open conversation is the largest part of its pane and its newest message is in view after the meetings band
has come; agency mail is not the top of the case list. axe-core finds nothing."""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat import demo
from chat.model import Case, Role, User, now_ms
from chat.storage import engines
from tests.conftest import RunningServer, start_server, stop_server
from tests.helpers import CASE_DANA
from tests.test_booking import day_start, publish
from tests.test_browser_app import PHONE, Person
from tests.test_browser_home import INBOX_SIZE, Clients, clients  # noqa: F401 (fixture)
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

EXTRA_CASES = 8  # with the demo's two: ten cases assigned to Anna
TIMEOUT = 30_000


async def seed(database: Path) -> None:
    """The demo and eight more citizens with a case each, assigned to Anna, before the server starts."""
    database.parent.mkdir(parents=True, exist_ok=True)
    store = engines.make_store(database)
    await store.open()
    try:
        await demo.seed(store)
        for i in range(EXTRA_CASES):
            citizen = f"layout-citizen-{i}"
            await store.add_user(User(citizen, citizen, f"Invånare {i + 1} Exempelsson", Role.CITIZEN, None))
            await store.add_case(Case(f"eb-2026-01{i:02d}", demo.UNIT.id, citizen, "anna",
                                      "Ansökan om ekonomiskt bistånd", "open", now_ms()))
    finally:
        await store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("samtal")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        pool.submit(asyncio.run, seed(tmp / "server" / "samtal.sqlite3")).result()
    running = start_server(tmp, SAMTAL_DATABASE_URL="")
    yield running
    stop_server(running)


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found  # type: ignore[no-any-return]


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return inner["y"] >= outer["y"] - 1 and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1


def test_the_phone_menu_is_one_row_at_the_bottom_in_a_citizens_words(browser, server, axe) -> None:  # type: ignore[no-untyped-def]
    dana = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    page = dana.page
    try:
        menu = page.get_by_role("navigation", name="Huvudmeny")
        links = menu.get_by_role("link")
        expect(links).to_have_text(["Mina ärenden", "Ansök", "Säkerhet", "Inställningar"])
        rows = {round(box(link)["y"]) for link in links.all()}
        assert len(rows) == 1, f"the menu takes {len(rows)} rows"
        bar = box(menu)
        assert bar["y"] + bar["height"] >= 740 - 1 and bar["height"] <= 64  # at the bottom, one row high
        assert box(page.locator("header.topbar"))["height"] <= 64  # the top bar is one row too
        check(dana, axe)

        dana.open_conversation(f"/cases/{CASE_DANA}")
        assert box(page.get_by_role("button", name="Skicka"))["y"] + 44 <= bar["y"] + 1  # not under the menu
        page.get_by_role("link", name="Säkerhet").click()
        page.wait_for_url("**/devices")
        expect(page.get_by_role("heading", level=1)).to_have_text("Säkerhet")
        check(dana, axe)
    finally:
        page.context.close()


def test_the_inbox_at_1366x800_shows_six_cases_and_the_newest_message(browser, server, axe,  # type: ignore[no-untyped-def]
                                                                       clients: Clients) -> None:
    anna_client = clients["anna"]
    slot = clients.run(publish(anna_client, day_start(2) + 9 * 3600_000, ["in_person", "phone"]))
    clients.run(anna_client.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                           {"slot_id": slot["id"], "form": "in_person"}))

    async def talk() -> None:
        socket = await anna_client.transport.open_socket()
        try:
            case = await anna_client.case(CASE_DANA)
            for i in range(24):
                await anna_client.send(socket, case, f"Meddelande {i + 1}: om hyran och tiden på torsdag")
        finally:
            await socket.close()
    clients.run(talk())

    anna: Person = signed_in(browser, server, "Anna Lind", "/inbox", options=INBOX_SIZE)
    page = anna.page
    try:
        rows = page.locator("#case-list .case-item")
        expect(rows).to_have_count(2 + EXTRA_CASES, timeout=TIMEOUT)
        pane = box(page.get_by_role("region", name="Inkorg"))
        whole = [r for r in rows.all() if inside(box(r), pane)]
        assert len(whole) >= 6, f"{len(whole)} whole cases in view"
        expect(page.get_by_role("region", name="Myndighetspost")).to_be_hidden()  # not on top of the cases
        check(anna, axe)

        page.locator(f"[data-case-id='{CASE_DANA}']").click()
        anna.wait_ready()
        meetings = page.get_by_role("region", name="Bokade möten")
        expect(meetings).to_contain_text("Besök", timeout=TIMEOUT)
        newest = page.locator("#messages .message", has_text="Meddelande 24:")
        expect(newest).to_be_visible(timeout=TIMEOUT)
        page.wait_for_timeout(500)  # let the band's arrival settle the layout
        messages = box(page.get_by_role("list", name="Meddelanden"))
        case_pane = box(page.get_by_role("region", name="Öppet ärende"))
        assert inside(box(newest), messages), "the newest message is cut"
        assert messages["height"] >= case_pane["height"] / 2, "the conversation is not the largest part of its pane"
        check(anna, axe)
        anna.assert_clean()
    finally:
        page.context.close()


def test_booking_says_when_how_and_with_whom_and_joining_waits_for_the_time(browser, server, axe,  # type: ignore[no-untyped-def]
                                                                            clients: Clients) -> None:
    slot = clients.run(publish(clients["anna"], day_start(3) + 10 * 3600_000, ["video", "phone"]))
    dana = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    page = dana.page
    try:
        dana.goto(f"/cases/{CASE_DANA}/booking")
        expect(page.get_by_role("link", name="Tillbaka till meddelandena")).to_be_visible()  # not "Samtal"
        # Calling instead: the office's number and address, not just "call or visit the office".
        contact = page.get_by_role("region", name="Ring eller besök oss i stället")
        expect(contact.get_by_role("link", name="Ring 031-390 06 00")).to_have_attribute("href", "tel:0313900600",
                                                                                        timeout=TIMEOUT)
        expect(contact).to_contain_text("Besök Storgatan 1, 111 22 Stockholm")
        offered = page.locator(f"#open-slots li[data-slot-id='{slot['id']}']")
        offered.get_by_label("Videomöte").check(timeout=TIMEOUT)
        offered.get_by_role("button", name="Boka den här tiden").click()
        confirmation = page.get_by_role("region", name="Ditt möte är bokat")
        expect(confirmation).to_be_focused(timeout=TIMEOUT)
        expect(confirmation).to_contain_text("Videomöte med Anna Lind")
        expect(confirmation).to_contain_text("knappen visas 15 minuter före")
        # Three days ahead, the way into the call is there but not the page's main button.
        join = page.locator("#my-bookings li[data-booking-id]", has_text="Videomöte").get_by_role(
            "link", name="Anslut till videosamtalet")
        expect(join).to_be_visible()
        assert "primary" not in (join.get_attribute("class") or "")
        check(dana, axe)
        dana.assert_clean()
    finally:
        page.context.close()
