"""The staff pages in a real browser: a supervisor approves a colleague's new browser device on /unit after
seeing the same safety number as the device's own Devices page (the browser wraps the unit key itself; no
demo key steward runs here), and the approved device then decrypts a case; the supervisor reassigns a case
and sets and removes a substitute; the log reviewer filters the log by case and records a finding on
/review; both pages pass axe-core in Swedish and English; other roles get no menu entry and "no access"."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_browser_app import DESKTOP, Person, client_sends, run_async
from tests.test_browser_pages import axe, browser, check, new_person  # noqa: F401 (fixtures)
from web.client.session import ClientSession
from web.client.steward import Steward

from .waiting import eventually

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture(SAMTAL_DEMO_STEWARD="0")
SECRET = "Beslutet om bistånd är klart"


def signed_in(browser: Any, server: RunningServer, name: str, home: str, lang: str = "sv",
              options: dict[str, Any] = DESKTOP) -> Person:
    """A new browser context (desktop unless `options` says otherwise), signed in with the demo login."""
    person = new_person(browser, server, options, lang)
    person.goto("/")
    person.page.get_by_role("button", name=name).click()
    person.page.wait_for_url(f"**{home}")
    return person


@pytest.fixture(scope="module")
def supervisor(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Cecilia Berg", "/inbox")
    person.goto("/unit")
    expect(person.page.locator("#pending-devices li")).not_to_have_count(0, timeout=10_000)
    yield person
    person.page.context.close()


@pytest.fixture(scope="module")
def reviewer(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Greta Holm", "/review")
    yield person
    person.page.context.close()


def first_key_holder(server: RunningServer, folder: Path, *browsers: Person) -> None:
    """cecilia's command-line device does once what the demo steward would: makes the unit key and the
    case keys, approves the staff browsers waiting (`browsers`: first wait until each has registered its
    device and is connected, or there would be nothing to approve yet); then it writes in a case."""
    for person in browsers:
        expect(person.page.locator("#connection[data-kind=online]")).to_have_count(1, timeout=20_000)

    async def keys() -> None:
        async with ClientSession(server.url, folder, "cecilia") as client:
            await client.start()
            steward = Steward(client)
            await steward.bootstrap_unit_key()
            await steward.run_tasks()
    run_async(keys())
    client_sends(server, folder, "cecilia", CASE_DANA, SECRET)


def wait_for_epochs(server: RunningServer, folder: Path, unit_epoch: int, case_epoch: int) -> dict[str, Any]:
    """Dana's client watches her case until the unit and case key epochs are the given ones (bounded)."""
    async def watch() -> dict[str, Any]:
        async with ClientSession(server.url, folder, "dana") as dana:
            await dana.demo_login()
            async def reached() -> dict[str, Any]:
                view = await dana.case(CASE_DANA)
                assert (max((e["epoch"] for e in view["unit_key_epochs"]), default=0) == unit_epoch
                        and view["key_epoch"] == case_epoch), \
                    f"epochs stayed at {view['unit_key_epochs']}, case {view['key_epoch']}"
                return view
            return await eventually(reached)
    return run_async(watch())


def test_supervisor_approves_a_new_device_after_comparing_safety_numbers(browser, server, supervisor, axe,
                                                                         tmp_path):
    wait_for_epochs(server, tmp_path / "watch", 1, 1)  # the supervisor's open browser made the unit's keys
    client_sends(server, tmp_path, "dana", CASE_DANA, SECRET)
    bo = signed_in(browser, server, "Bo Ek", "/inbox")
    # Not approved yet: the case says why it cannot be read and who can help (#20 item 5).
    bo.goto(f"/inbox/{CASE_DANA}")
    expect(bo.page.locator("#conversation-status")).to_contain_text(
        "Be Cecilia Berg göra det", timeout=20_000)
    bo.goto("/devices")
    number = bo.page.locator("#this-fingerprint")
    expect(number).not_to_be_empty(timeout=10_000)
    expect(bo.page.locator("#this-label")).to_have_text("Chrome på Linux")  # the browser too, not "Webbläsare"
    supervisor.goto("/unit")
    waiting = supervisor.page.locator(".pending-device", has_text="Bo Ek")
    expect(waiting).to_have_count(1, timeout=10_000)
    expect(waiting.locator(".fingerprint")).to_have_text(number.text_content())
    expect(waiting).to_contain_text(bo.page.locator("#this-label").text_content())
    check(supervisor, axe)
    start = " ".join(number.text_content().split()[:2])
    approve = waiting.get_by_role("button", name=re.compile(rf"^Godkänn .* av Bo Ek, tillagd .*, säkerhetsnummer som börjar {start}$"))
    approve.click()
    expect(supervisor.page.locator("#pending-devices")).to_contain_text("Inga enheter väntar", timeout=10_000)
    assert supervisor.page.locator("#unit-error").text_content() == ""
    bo.open_conversation(f"/inbox/{CASE_DANA}")
    expect(bo.message(SECRET)).to_be_visible(timeout=10_000)
    bo.page.context.close()


def test_supervisor_reassigns_a_case_and_sets_and_removes_a_substitute(supervisor, axe):
    page = supervisor.page
    supervisor.goto("/unit")
    page.get_by_label(f"Handläggare för {CASE_ERIK}").select_option(label="Bo Ek")
    page.get_by_role("button", name=f"Tilldela {CASE_ERIK}").click()
    item = page.locator(".assign-item", has_text=CASE_ERIK)
    expect(item.locator("[data-assigned]")).to_have_text("Handläggs av Bo Ek", timeout=10_000)
    # A substitution the server would refuse says why in words, beside the form (#20 item 2).
    page.get_by_label("Frånvarande handläggare").select_option(label="Anna Lind")
    page.get_by_label("Vikarie", exact=True).select_option(label="Anna Lind")
    page.get_by_label("Från (datum)").fill(date.today().isoformat())
    page.get_by_label("Till och med (datum)").fill((date.today() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Lägg till vikarie").click()
    expect(page.locator("#substitute-error")).to_have_text(
        "Vikarien ska vara en annan person än den frånvarande handläggaren. Välj någon annan.")
    page.get_by_label("Vikarie", exact=True).select_option(label="Bo Ek")
    page.get_by_label("Till och med (datum)").fill((date.today() - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Lägg till vikarie").click()
    expect(page.locator("#substitute-error")).to_contain_text("Perioden slutar innan den börjar.")
    page.get_by_label("Till och med (datum)").fill((date.today() + timedelta(days=7)).isoformat())
    # It switches only when confirmed (#20 item 10): cancelled, nothing is added.
    page.get_by_role("button", name="Lägg till vikarie").click()
    dialog = page.get_by_role("dialog", name="Lägga till vikariatet?")
    expect(dialog).to_contain_text("svarar Bo Ek i ärenden som tilldelats Anna Lind")
    check(supervisor, axe)
    dialog.get_by_role("button", name="Avbryt").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#substitutions")).to_have_text("Inga vikariat.")
    expect(page.locator("#substitute-error")).to_be_empty()
    page.get_by_role("button", name="Lägg till vikarie").click()
    dialog.get_by_role("button", name="Lägg till vikarie").click()
    substitution = page.locator(".substitution", has_text="Bo Ek vikarierar för Anna Lind")
    expect(substitution).to_have_count(1, timeout=10_000)
    check(supervisor, axe)
    substitution.get_by_role("button").click()
    page.get_by_role("dialog", name="Ta bort vikariatet?").get_by_role("button", name="Ta bort vikariatet").click()
    expect(page.locator("#substitutions")).to_have_text("Inga vikariat.", timeout=10_000)


def test_supervisor_adds_an_office_and_stops_using_it(supervisor, axe):
    page = supervisor.page
    supervisor.goto("/unit")
    expect(page.locator("#offices")).to_contain_text("Storgatan 1, 111 22 Stockholm", timeout=10_000)
    page.get_by_label("Ny adress").fill("x")
    page.get_by_role("button", name="Lägg till adressen").click()
    expect(page.locator("#office-status")).to_have_text("Skriv adressen på en rad, 3 till 200 tecken.")
    expect(page.get_by_label("Ny adress")).to_be_focused()
    page.get_by_label("Ny adress").fill("Kungsgatan 7, 411 19 Göteborg")
    page.get_by_role("button", name="Lägg till adressen").click()
    added = page.locator("#offices li", has_text="Kungsgatan 7, 411 19 Göteborg")
    expect(added).to_have_count(1, timeout=10_000)
    expect(page.get_by_label("Ny adress")).to_have_value("")
    check(supervisor, axe)
    added.get_by_role("button", name="Sluta använda adressen: Kungsgatan 7, 411 19 Göteborg").click()
    expect(added).to_have_count(0, timeout=10_000)
    expect(page.get_by_role("heading", name="Besöksadresser")).to_be_focused()
    assert page.locator("#unit-error").text_content() == ""


def test_supervisor_marks_a_protected_identity_in_the_inbox(supervisor, browser, server, axe):
    page = supervisor.page
    supervisor.goto(f"/inbox/{CASE_DANA}")  # the case's metadata, whether or not its keys are here yet
    expect(page.locator("#case-meta")).to_contain_text(CASE_DANA, timeout=10_000)
    mark = page.get_by_role("button", name="Skyddade personuppgifter")
    expect(mark).to_have_attribute("aria-pressed", "false")
    mark.click()  # asked first (#20 item 10): cancelled, nothing changes
    dialog = page.get_by_role("dialog", name="Markera skyddade personuppgifter?")
    expect(dialog).to_contain_text("Dana Karlsson")
    dialog.get_by_role("button", name="Avbryt").click()
    expect(mark).to_be_focused()
    expect(mark).to_have_attribute("aria-pressed", "false")
    mark.click()
    dialog.get_by_role("button", name="Markera skyddade personuppgifter").click()
    expect(mark).to_have_attribute("aria-pressed", "true", timeout=10_000)
    expect(page.locator("#case-meta")).to_contain_text("Skyddade personuppgifter")
    page.get_by_label("Ärenden", exact=True).select_option("unit")
    listed = page.locator(f"[data-case-id='{CASE_DANA}']")
    expect(listed.locator(".badge.protected")).to_have_text("Skyddade personuppgifter")
    check(supervisor, axe)
    anna = signed_in(browser, server, "Anna Lind", "/inbox")
    try:  # a caseworker sees the marking on the case, and cannot change it
        anna.goto(f"/inbox/{CASE_DANA}")
        expect(anna.page.locator("#case-meta")).to_contain_text("Skyddade personuppgifter", timeout=10_000)
        expect(anna.page.locator("#protected")).to_be_hidden()
    finally:
        anna.page.context.close()
    mark.click()
    page.get_by_role("dialog", name="Ta bort markeringen av skyddade personuppgifter?").get_by_role(
        "button", name="Ta bort markeringen").click()
    expect(mark).to_have_attribute("aria-pressed", "false", timeout=10_000)
    expect(listed.locator(".badge.protected")).to_have_count(0)


def test_log_reviewer_filters_by_case_and_records_a_finding(reviewer, axe):
    page = reviewer.page
    # The page is ready (its search answers) once its opening list is shown; a search before that went
    # to the server as a plain form and reloaded the page with the whole log.
    expect(page.locator("#results-summary")).not_to_be_empty(timeout=20_000)
    page.get_by_label("Ärende (ärendenummer)").fill(CASE_DANA)
    page.get_by_role("button", name="Sök", exact=True).click()
    rows = page.locator("#audit-rows tr")
    # The page opens with the whole log; the search's answer replaces it.
    expect(rows.locator("td:nth-child(6)").filter(has_not_text=CASE_DANA)).to_have_count(0, timeout=10_000)
    expect(rows).not_to_have_count(0, timeout=10_000)
    # The case's number, and whose case it is.
    assert set(rows.locator("td:nth-child(6)").all_text_contents()) == {f"{CASE_DANA} · Dana Karlsson"}
    # Codes in words, Swedish here, with the code beside them for precision.
    reading = rows.filter(has=page.locator("td:nth-child(4) code", has_text="case.read")).first
    expect(reading.locator("td:nth-child(4)")).to_contain_text("läste ärendet")
    expect(reading.locator("td:nth-child(5)")).to_contain_text("tillåten")
    first = page.locator("#audit-rows tr:not([hidden]):not(.audit-sitting)").first
    audit_id = first.get_attribute("data-audit-id")
    first.locator("summary").click()
    first.get_by_label("Bedömning").select_option("question")
    first.get_by_label("Anteckning").fill("Varför läste en handläggare ärendet <b>utan</b> uppdrag?")
    first.get_by_role("button", name="Spara iakttagelse").click()
    finding = page.locator(f"#findings [data-audit-id='{audit_id}']")
    expect(finding).to_contain_text("Fråga", timeout=10_000)
    expect(finding).to_contain_text("<b>utan</b>")  # shown as text, never markup
    check(reviewer, axe)
    page.get_by_role("button", name="Dra ett slumpmässigt stickprov").click()
    expect(page.locator("#results-summary")).to_contain_text("post", timeout=10_000)
    check(reviewer, axe)


def test_log_review_reads_as_words_with_dates_names_and_sittings_and_does_no_key_work(browser, server, supervisor,
                                                                                      axe, tmp_path):
    """#14: every event in words with its code, dates in the time column, search by a person's name, one
    person's looks at one case grouped into a sitting, key grants named as such, and a log reviewer's page
    that makes no device keys and asks for no key work (it read 'preparing encryption keys' and got 403s)."""
    wait_for_epochs(server, tmp_path / "watch", 1, 1)  # the supervisor's browser has done the unit's key work

    async def looks() -> None:  # bo, not Erik's caseworker, looks at Erik's case three times
        async with ClientSession(server.url, tmp_path / "bo", "bo") as bo:
            await bo.demo_login()
            for _ in range(3):
                await bo.case(CASE_ERIK)
                await bo.transport.call("GET", f"/api/cases/{CASE_ERIK}/messages")
    run_async(looks())
    greta = new_person(browser, server, DESKTOP)
    asked: list[str] = []
    greta.page.on("request", lambda request: asked.append(request.url))
    greta.goto("/")
    expect(greta.page.get_by_role("button", name="Greta Holm")).to_contain_text("(granskare)")
    greta.page.get_by_role("button", name="Greta Holm").click()
    greta.page.wait_for_url("**/review")
    page = greta.page
    expect(page.locator("#results-summary")).not_to_be_empty(timeout=20_000)
    page.get_by_label("Medarbetare (namn)").fill("Bo Ek")
    page.get_by_label("Enskild (namn)").fill("Erik")
    page.get_by_role("button", name="Sök", exact=True).click()
    sitting = page.locator("#audit-rows tr.audit-sitting").first
    expect(sitting).to_contain_text("tittade i ärendet", timeout=10_000)
    expect(sitting).to_contain_text("Bo Ek")
    expect(sitting.locator("td:nth-child(6)")).to_have_text(f"{CASE_ERIK} · Erik Nilsson")
    expect(sitting.locator("time").first).to_have_text(__import__("re").compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
    show = sitting.get_by_role("button", name=__import__("re").compile("Visa de \\d+ händelserna"))
    singles = int(sitting.get_attribute("data-sitting"))
    assert singles >= 3
    hidden = page.locator("#audit-rows tr[hidden]")
    expect(hidden).to_have_count(singles)
    expect(show).to_have_attribute("aria-expanded", "false")
    show.click()
    expect(sitting.get_by_role("button", name="Dölj händelserna")).to_have_attribute("aria-expanded", "true")
    expect(hidden).to_have_count(0)
    check(greta, axe)
    # Key work is named as such, and every code the page shows has words beside it.
    codes = page.locator("#audit-rows tr:not(.audit-sitting) td:nth-child(4)")
    for cell in codes.all():
        assert cell.locator("code").count() == 1, f"an event shown without words: {cell.text_content()}"
    page.get_by_label("Medarbetare (namn)").fill("Cecilia")
    page.get_by_label("Enskild (namn)").fill("")
    page.get_by_role("button", name="Sök", exact=True).click()
    expect(page.locator("#audit-rows code", has_text="case.keys.write").first).to_be_visible(timeout=10_000)
    key_work = page.locator("#audit-rows td:nth-child(4)", has=page.locator("code", has_text="case.keys.write")).first
    expect(key_work).to_contain_text("nyckelarbete")
    # No device, no key work, no errors.
    assert not [url for url in asked if "/api/devices" in url or "/api/keys" in url or "/ws" in url], asked
    expect(page.locator("#setup-status")).to_be_empty()
    assert greta.errors == []
    page.context.close()


def test_both_pages_in_english(supervisor, reviewer, server, axe):
    for person, path, heading in ((supervisor, "/unit", "Unit"), (reviewer, "/review", "Log review")):
        person.page.context.add_cookies([{"name": "lang", "value": "en", "url": server.url}])
        person.goto(path)
        expect(person.page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(person.page.locator("#setup-status")).to_be_empty(timeout=10_000)
        check(person, axe)
        person.page.context.add_cookies([{"name": "lang", "value": "sv", "url": server.url}])


def menu(person: Person) -> list[str]:
    return person.page.locator(".mainnav li:visible").all_text_contents()


def test_other_roles_get_no_menu_entry_and_no_access(browser, server, supervisor, reviewer, axe):
    anna = signed_in(browser, server, "Anna Lind", "/inbox")
    for path in ("/unit", "/review"):
        assert httpx.get(server.url + path, cookies={c["name"]: c["value"] for c in anna.page.context.cookies()}
                         ).status_code == 403
        anna.goto(path)
        expect(anna.page.get_by_role("heading", level=2)).to_have_text("Ingen åtkomst")
        expect(anna.page.locator("#unit-error, #review-error, #audit-rows")).to_have_count(0)
    expect(anna.page.locator(".mainnav")).to_be_visible()
    assert "Arbetsledning" not in menu(anna) and "Loggkontroll" not in menu(anna)
    check(anna, axe)
    anna.page.context.close()
    reviewer.goto("/unit")
    expect(reviewer.page.get_by_role("heading", level=2)).to_have_text("Ingen åtkomst")
    expect(reviewer.page.locator(".mainnav li:visible")).to_have_text(["Loggkontroll", "Gallring", "Enheter"])
    supervisor.goto("/review")
    expect(supervisor.page.get_by_role("heading", level=2)).to_have_text("Ingen åtkomst")
    expect(supervisor.page.locator(".mainnav li:visible")).to_have_text(["Inkorg", "Kalender", "Ansökningar",
                                                                         "Registerutdrag", "Arbetsledning", "Gallring",
                                                                         "Enheter"])
