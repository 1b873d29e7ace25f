"""Representatives in Chromium (docs/representatives.md): Anna registers an ombud for Dana (read, write) and a
custodian for Erik, a child of twelve (read, book). Each signs in as themselves on a 360 px phone and finds the
case on Mina ärenden as "För Dana Karlsson" / "För Erik Nilsson". The ombud reads Anna's message and answers
it, and Dana's own client shows the answer as the ombud's; the custodian reads but has no composer, with the
reason in words. axe-core finds nothing on the pages, in Swedish and English."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_browser_app import PHONE, Person
from tests.test_browser_home import Clients
from tests.test_browser_pages import axe, browser, check, new_person  # noqa: F401 (fixtures)

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
TIMEOUT = 30_000
HOUR = 3_600_000


@pytest.fixture(scope="module")
def clients(server, tmp_path_factory) -> Iterator[Clients]:  # type: ignore[no-untyped-def]
    running = Clients(server, tmp_path_factory.mktemp("clients"))
    yield running
    running.close()


def register(clients: Clients, case_id: str, **fields: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    body = {"starts_at": now - 1000, **fields}
    answer = clients.run(clients["anna"].transport.call("POST", f"/api/cases/{case_id}/representatives", body))
    return answer["representative"]  # type: ignore[no-any-return]


def signed_in_as(browser: Any, server: Any, username: str, lang: str = "sv") -> Person:  # type: ignore[no-untyped-def]
    """A representative's phone, signed in with the demo login (the sign-in page lists only the seeded people)."""
    person = new_person(browser, server, PHONE, lang)
    response = person.page.request.post(f"{server.url}/api/demo/login", data={"username": username})
    assert response.ok, response.text()
    return person


def test_an_ombud_and_a_custodian_act_within_their_scopes(browser, server, clients, axe):  # type: ignore[no-untyped-def]
    anna, dana = clients["anna"], clients["dana"]
    blob = clients.run(anna.transport.upload(f"/api/cases/{CASE_DANA}/blobs", b"\x02" * 64))["blob_id"]
    ombud = register(clients, CASE_DANA, personal_number="198003031005", name="Olga Ombud", kind="ombud",
                     basis="power_of_attorney", document_blob=blob, scopes=["read", "write"],
                     ends_at=int(time.time() * 1000) + 24 * HOUR)
    twelve = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 12.5 * 365.25 * 86400))
    custodian = register(clients, CASE_ERIK, personal_number="199009091001", name="Gerd Förälder", kind="guardian",
                         basis="custody", child_born=twelve, scopes=["read", "book"])

    async def write(case_id: str, text: str) -> None:
        socket = await anna.transport.open_socket()
        try:
            await anna.send(socket, await anna.case(case_id), text)
        finally:
            await socket.close()
    clients.run(write(CASE_DANA, "Hej, här är beslutet om hyran."))
    clients.run(write(CASE_ERIK, "Välkomna på möte om Erik."))

    olga = signed_in_as(browser, server, ombud["holder"])
    try:
        olga.goto("/cases")
        item = olga.page.locator(".case-item", has_text="För Dana Karlsson")
        expect(item).to_have_count(1, timeout=TIMEOUT)
        check(olga, axe)
        item.locator(".case-link").click()
        olga.wait_ready()
        expect(olga.page.locator("#conversation-title")).to_contain_text("För Dana Karlsson")
        expect(olga.page.locator("#conversation-with")).to_contain_text("Som ombud: läsa, skriva")
        expect(olga.message("Hej, här är beslutet om hyran.")).to_have_count(1, timeout=TIMEOUT)
        olga.send("Tack, jag hjälper Dana att svara.")
        expect(olga.message("Tack, jag hjälper Dana att svara.")).to_have_count(1, timeout=TIMEOUT)
        check(olga, axe)
        olga.assert_clean()
    finally:
        olga.page.context.close()

    async def danas_last() -> Any:
        return (await dana.history(await dana.case(CASE_DANA)))[-1]
    last = clients.run(danas_last())
    assert (last.sender, last.body and last.body["text"]) == (ombud["holder"], "Tack, jag hjälper Dana att svara.")

    for lang, words in (("sv", ("För Erik Nilsson", "Ditt uppdrag låter dig läsa ärendet")),
                        ("en", ("For Erik Nilsson", "Your mandate lets you read this case"))):
        gerd = signed_in_as(browser, server, custodian["holder"], lang)
        try:
            gerd.goto(f"/cases?lang={lang}")
            item = gerd.page.locator(".case-item", has_text=words[0])
            expect(item).to_have_count(1, timeout=TIMEOUT)
            item.locator(".case-link").click()
            gerd.wait_ready()
            expect(gerd.message("Välkomna på möte om Erik.")).to_have_count(1, timeout=TIMEOUT)
            expect(gerd.page.locator("#message-text")).to_be_hidden()
            expect(gerd.page.get_by_text(words[1])).to_be_visible()
            check(gerd, axe)
            gerd.assert_clean()
        finally:
            gerd.page.context.close()


def test_a_caseworker_registers_and_ends_a_god_man_in_the_inbox(browser, server, clients, axe):  # type: ignore[no-untyped-def]
    from tests.test_browser_staff_pages import signed_in
    rune = register(clients, CASE_DANA, personal_number="197707071002", name="Rune Rep", kind="forvaltare",
                    basis="court_decision", reference="Ä 8-26", scopes=["read", "write"],
                    ends_at=int(time.time() * 1000) + 24 * HOUR)

    session = clients[rune["holder"]]  # signed in here: inside a coroutine on the clients' loop it would wait on itself

    async def runes_message() -> None:
        socket = await session.transport.open_socket()
        try:
            await session.send(socket, await session.case(CASE_DANA), "Hej från Danas förvaltare")
        finally:
            await socket.close()
    clients.run(runes_message())
    anna = signed_in(browser, server, "Anna Lind", "/inbox")
    try:
        anna.open_conversation(f"/inbox/{CASE_DANA}")
        page = anna.page
        # The case's timeline says who wrote, and on whose behalf.
        expect(anna.message("Hej från Danas förvaltare").locator(".sender")).to_have_text(
            "Rune Rep, för Dana Karlsson", timeout=TIMEOUT)
        page.locator("#representatives summary").click()
        form = page.locator("#representative-form")
        form.get_by_label("Namn").fill("Gustav Godman")
        form.get_by_label("Personnummer").fill("19690909-1008")
        form.get_by_label("Slag").select_option("god_man")
        form.get_by_label("Domstol och målnummer").fill("Göteborgs tingsrätt Ä 5-26")
        form.get_by_label("skriva").check()
        form.get_by_label("Från").fill(time.strftime("%Y-%m-%d"))
        form.get_by_label("Till och med").fill(time.strftime("%Y-%m-%d", time.localtime(time.time() + 30 * 86400)))
        form.get_by_role("button", name="Registrera").click()
        item = page.locator("#representative-list li", has_text="Gustav Godman")
        expect(item).to_contain_text("Gäller", timeout=TIMEOUT)
        expect(item).to_contain_text("Som god man: läsa, skriva")
        check(anna, axe)
        item.get_by_role("button", name="Avsluta uppdraget för Gustav Godman").click()
        page.get_by_role("dialog", name="Avsluta uppdraget för Gustav Godman?").get_by_role(
            "button", name="Avsluta uppdraget", exact=True).click()
        expect(item).to_contain_text("Upphörde", timeout=TIMEOUT)
        anna.assert_clean()
    finally:
        anna.page.context.close()


def test_a_caseworker_withholds_an_entry_from_the_guardians_on_the_documentation_page(browser, server, clients, axe):  # type: ignore[no-untyped-def]
    from tests.test_browser_staff_pages import signed_in
    from tests.test_journal import entry_body, journal, request, upload_body

    fourteen = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 14.2 * 365.25 * 86400))
    parent = register(clients, CASE_ERIK, personal_number="196606061007", name="Vera Vårdnad", kind="guardian",
                      basis="custody", child_born=fourteen, scopes=["read"])
    anna, vera = clients["anna"], clients[parent["holder"]]

    async def publish() -> str:
        entry_id, body = await upload_body(anna, "journal.entry", entry_body("Om pappans hälsa", "text"), True,
                                           CASE_ERIK)
        await anna.transport.call("POST", f"/api/cases/{CASE_ERIK}/journal", request(body, sign=True, publish=True))
        return entry_id
    entry_id = clients.run(publish())
    staff = signed_in(browser, server, "Anna Lind", "/inbox")
    try:
        staff.goto(f"/inbox/{CASE_ERIK}/documentation")
        page = staff.page
        reason = page.get_by_label("Undanhåll från vårdnadshavarna: skälet enligt menprövningen")
        expect(reason).to_have_count(1, timeout=TIMEOUT)
        reason.fill("Uppgifter om tredje man, OSL 26:1")
        page.get_by_role("button", name="Undanhåll från vårdnadshavarna").click()
        expect(page.get_by_text("Undanhållen från vårdnadshavarna: Uppgifter om tredje man, OSL 26:1")).to_be_visible(
            timeout=TIMEOUT)
        check(staff, axe)
        staff.assert_clean()
    finally:
        staff.page.context.close()
    assert entry_id not in [e["id"] for e in clients.run(journal(vera, CASE_ERIK))["entries"]]
    assert entry_id in [e["id"] for e in clients.run(journal(clients["erik"], CASE_ERIK))["entries"]]
