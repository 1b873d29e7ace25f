"""Dokumentation (the case journal) in Chromium, the caseworker at a desktop and the citizen on a phone: Anna
writes a draft and shares it live, Dana sees the text appear as it is typed and comments on it, Anna sees the
comment and signs the entry as "Synlig för den enskilde"; Dana sees it and marks it "Jag anser att detta är
felaktigt" with a comment; Anna sees the open dispute beside the entry and answers; Dana sees the answer. A
correction shows version 2 with version 1 still readable on both sides. Dana's supplement with a PDF reaches
Anna, who downloads and reads it. Anna files one of Dana's messages into the documentation (Journalför).
Dana exports her file: the download holds the entry and the message. axe-core passes on both pages in
Swedish and English, and the database holds nothing of what was typed."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import DESKTOP, PHONE, Person, asked_first, sign_in
from tests.test_browser_applications import anna, dana  # noqa: F401 (fixtures: Anna at a desk, Dana on a phone)
from tests.test_browser_call import TamperingRelay, flip_signature
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
TIMEOUT = 30_000
TITLE = "Samtal om boendet i Ekbacken"
FIRST = "Dana berättade att hyresvärden"
SECOND = " har sagt upp kontraktet till juli"
COMMENT = "Det var i juni, inte i juli"
DISPUTE = "Uppsägningen gäller från augusti enligt brevet"
RESPONSE = "Tack, vi har rättat datumet efter brevet från hyresvärden"
CORRECTED = "Dana berättade att hyresvärden har sagt upp kontraktet från augusti"
REASON = "Fel månad enligt brevet"
SUPPLEMENT = "Här är brevet om uppsägningen från Ekbackens bostäder"
MESSAGE = "Jag har fått ett nytt brev från Försäkringskassan om bostadsbidraget"
LIVE_TITLE = "Anteckning från hembesöket"
LIVE_TEXT = "Lägenheten var städad och barnen var hemma"
PDF = b"%PDF-1.4\n% uppsagning Ekbacken\n"
TYPED = [TITLE, FIRST, SECOND.strip(), COMMENT, DISPUTE, RESPONSE, CORRECTED, REASON, SUPPLEMENT, MESSAGE,
         "uppsagning Ekbacken", LIVE_TITLE, LIVE_TEXT]


def entry(person: Person, text: str) -> Any:
    return person.page.locator("#entries article.journal-entry", has_text=text)


def test_live_draft_sign_dispute_answer_and_correct(dana: Person, anna: Person, axe: str) -> None:
    citizen, staff = dana.page, anna.page
    expect(citizen.get_by_role("link", name=re.compile("^Min dokumentation"))).to_have_count(1, timeout=TIMEOUT)
    citizen.get_by_role("link", name=re.compile("^Min dokumentation")).click()
    citizen.wait_for_url(f"**/cases/{CASE_DANA}/documentation")
    expect(citizen.locator("#entries")).to_contain_text("Inget har delats med dig än.", timeout=TIMEOUT)

    anna.open_conversation(f"/inbox/{CASE_DANA}")
    staff.get_by_role("link", name="Dokumentation", exact=True).click()
    staff.wait_for_url(f"**/inbox/{CASE_DANA}/documentation")
    expect(staff.locator("#entries")).to_contain_text("Inga anteckningar än.", timeout=TIMEOUT)
    check(anna, axe)

    # A draft shared live: the citizen sees it as it is typed.
    staff.get_by_label("Rubrik").fill(TITLE)
    staff.get_by_label("Anteckning", exact=True).fill(FIRST)
    staff.get_by_role("button", name="Dela live").click()
    expect(staff.get_by_role("button", name="Sluta dela")).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    expect(citizen.locator("#live-panel")).to_be_visible(timeout=TIMEOUT)
    expect(citizen.locator("#live-title")).to_have_text(TITLE)
    expect(citizen.locator("#live-text")).to_have_text(FIRST)
    staff.get_by_label("Anteckning", exact=True).press("End")
    staff.get_by_label("Anteckning", exact=True).press_sequentially(SECOND, delay=15)
    expect(citizen.locator("#live-text")).to_have_text(FIRST + SECOND, timeout=TIMEOUT)
    expect(citizen.locator("#live-updated")).not_to_be_empty()
    check(dana, axe)
    citizen.get_by_label("Kommentar till utkastet").fill(COMMENT)
    citizen.get_by_role("button", name="Skicka kommentaren").click()
    expect(citizen.locator("#documentation-status")).to_have_text("Din kommentar är skickad till din handläggare.",
                                                                 timeout=TIMEOUT)
    draft = entry(anna, TITLE)
    expect(draft).to_contain_text(COMMENT, timeout=TIMEOUT)
    expect(draft).to_contain_text("Kommentar från den enskilde")
    expect(draft).to_contain_text("Utkast")

    # What was typed while shared is saved as it is typed (#20 item 1): leaving asks first, and after the page
    # went away anyway (closed without asking) the draft holds every word and "Fortsätt skriva" shares it again.
    expect(staff.locator("#journal-status")).to_have_text("Det delade utkastet sparas medan du skriver.",
                                                          timeout=TIMEOUT)
    assert staff.evaluate("""() => { const e = new Event("beforeunload", { cancelable: true });
        dispatchEvent(e); return e.defaultPrevented; }""")
    context = staff.context
    staff.close()
    anna.__init__(context.new_page(), anna.server)
    staff = anna.page
    anna.goto(f"/inbox/{CASE_DANA}/documentation")
    entry(anna, TITLE).get_by_role("button", name="Fortsätt skriva").click()
    expect(staff.get_by_label("Anteckning", exact=True)).to_have_value(FIRST + SECOND, timeout=TIMEOUT)
    expect(staff.get_by_role("button", name="Sluta dela")).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    expect(citizen.locator("#live-text")).to_have_text(FIRST + SECOND, timeout=TIMEOUT)

    # Signed and visible to the citizen.
    staff.get_by_label("Synlig för den enskilde").check()
    # Signing is final: asked first, saying so (#14 "No lost input"); Avbryt keeps the draft as it was.
    asked_first(staff, staff.get_by_role("button", name="Signera", exact=True), "Signera anteckningen?",
                "kan inte ändras, bara rättas i en ny version. Den blir synlig för den enskilde direkt.", "Signera",
                lambda: expect(staff.get_by_label("Anteckning", exact=True)).to_have_value(FIRST + SECOND))
    signed = entry(anna, TITLE)
    expect(signed).to_contain_text("Synlig för den enskilde sedan", timeout=TIMEOUT)
    expect(signed).to_contain_text("Signerad av Anna Lind")
    expect(signed.get_by_role("heading", name=TITLE)).to_be_focused()
    expect(citizen.locator("#live-panel")).to_be_hidden(timeout=TIMEOUT)
    shown = entry(dana, TITLE)
    expect(shown).to_contain_text(FIRST + SECOND, timeout=TIMEOUT)

    # The citizen disputes it; both sides see the dispute beside the entry until it is answered.
    shown.get_by_role("button", name="Jag anser att detta är felaktigt").click()
    shown.get_by_label(re.compile("^Vad är felaktigt")).fill(DISPUTE)
    shown.get_by_role("button", name="Skicka", exact=True).click()
    expect(shown).to_contain_text("Du har markerat detta som felaktigt", timeout=TIMEOUT)
    expect(shown).to_contain_text(DISPUTE)
    expect(shown).to_contain_text("Väntar på svar")
    check(dana, axe)
    disputed = entry(anna, TITLE)
    expect(disputed).to_contain_text(DISPUTE, timeout=TIMEOUT)
    expect(disputed).to_contain_text("Markerad som felaktig, väntar på svar")
    # Heard as sentences, not "Signerad Markerad som felaktig…" (#14 "Small ones").
    expect(disputed.locator(".entry-status")).to_contain_text("Signerad. Markerad som felaktig")
    expect(staff.locator("#entries-summary")).to_contain_text("1 öppen invändning")
    check(anna, axe)
    disputed.get_by_label("Ditt svar till den enskilde").fill(RESPONSE)
    disputed.get_by_role("button", name="Skicka svaret").click()
    expect(disputed).to_contain_text(RESPONSE, timeout=TIMEOUT)
    expect(disputed).to_contain_text("Besvarat")
    expect(shown).to_contain_text(RESPONSE, timeout=TIMEOUT)
    expect(shown).to_contain_text("Svar från Anna Lind")

    # A correction: version 2 on top, version 1 still readable on both sides.
    entry(anna, TITLE).get_by_role("button", name="Rättelse").click()
    expect(staff.get_by_role("heading", name=f"Rättelse av: {TITLE}")).to_be_focused()
    staff.get_by_label("Anteckning", exact=True).fill(CORRECTED)
    staff.get_by_label("Varför rättas anteckningen?").fill(REASON)
    staff.get_by_role("button", name="Signera rättelsen").click()
    staff.get_by_role("dialog", name="Signera rättelsen?").get_by_role("button", name="Signera rättelsen").click()
    corrected = entry(anna, CORRECTED)
    expect(corrected).to_contain_text("Rättad, version 2", timeout=TIMEOUT)
    corrected.get_by_text("Version 1 (ersatt)").click()
    expect(corrected.locator("details.earlier-version")).to_contain_text(FIRST + SECOND)
    on_phone = entry(dana, CORRECTED)
    expect(on_phone).to_contain_text("Rättad, version 2", timeout=TIMEOUT)
    expect(on_phone).to_contain_text(f"Rättelse: {REASON}")
    on_phone.get_by_text("Version 1 (ersatt)").click()
    expect(on_phone.locator("details.earlier-version")).to_contain_text(FIRST + SECOND)
    check(dana, axe)
    assert dana.errors == [] and anna.errors == []


def test_a_live_draft_that_does_not_verify_is_never_shown(browser: Any, server: RunningServer, dana: Person,
                                                          anna: Person) -> None:
    """A relay that changes the signature of the snapshots it passes on (a dishonest server): that phone shows
    nothing of the draft and says so, while Dana's other phone, on an honest connection, shows it."""
    relay = TamperingRelay(flip_signature, "journal.live")
    context = browser.new_context(locale="sv-SE", **PHONE)
    context.route_web_socket(re.compile(r".*/ws\?.*"), relay)
    try:
        page = context.new_page()
        sign_in(page, server, "Dana Karlsson")
        tampered = Person(page, server)
        tampered.open_conversation(f"/cases/{CASE_DANA}")  # this new device has been given the case key
        tampered.goto(f"/cases/{CASE_DANA}/documentation")
        expect(entry(tampered, CORRECTED)).to_be_visible(timeout=TIMEOUT)
        dana.goto(f"/cases/{CASE_DANA}/documentation")
        expect(entry(dana, CORRECTED)).to_be_visible(timeout=TIMEOUT)

        staff = anna.page
        staff.get_by_label("Rubrik").fill(LIVE_TITLE)
        staff.get_by_label("Anteckning", exact=True).fill(LIVE_TEXT)
        staff.get_by_role("button", name="Dela live").click()
        expect(dana.page.locator("#live-text")).to_have_text(LIVE_TEXT, timeout=TIMEOUT)
        expect(page.locator("#live-panel[data-refused]")).to_have_count(1, timeout=TIMEOUT)
        expect(page.locator("#live-panel")).to_be_hidden()
        expect(page.locator("#documentation-status")).to_have_text(
            "Ett utkast från din handläggare kunde inte verifieras och visades inte.")
        assert relay.changed >= 1
        assert LIVE_TEXT not in page.content()

        staff.get_by_role("button", name="Ta bort utkastet").click()
        expect(dana.page.locator("#live-panel")).to_be_hidden(timeout=TIMEOUT)
        expect(entry(anna, LIVE_TITLE)).to_have_count(0)
        assert tampered.errors == [] and anna.errors == []
    finally:
        context.close()


def test_a_supplement_with_a_file_reaches_the_caseworker(dana: Person, anna: Person, tmp_path: Path,
                                                         axe: str) -> None:
    citizen, staff = dana.page, anna.page
    dana.goto(f"/cases/{CASE_DANA}/documentation")
    citizen.get_by_label("Vad vill du lägga till?").fill(SUPPLEMENT)
    citizen.locator("#s-files").set_input_files(files=[{"name": "uppsagning.pdf", "mimeType": "application/pdf",
                                                        "buffer": PDF}])
    expect(citizen.locator("#supplement-form")).to_contain_text("uppsagning.pdf")
    citizen.get_by_role("button", name="Skicka tillägget").click()
    expect(citizen.locator("#supplements")).to_contain_text(SUPPLEMENT, timeout=TIMEOUT)
    check(dana, axe)

    supplements = staff.locator("#supplements")
    expect(supplements).to_contain_text(SUPPLEMENT, timeout=TIMEOUT)
    with staff.expect_download() as download:
        supplements.get_by_role("button", name=re.compile("uppsagning.pdf")).click()
    saved = tmp_path / "uppsagning.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF
    assert anna.errors == []


def test_a_message_is_filed_and_the_citizen_exports_her_file(dana: Person, anna: Person, server: RunningServer,
                                                             tmp_path: Path) -> None:
    citizen, staff = dana.page, anna.page
    dana.open_conversation(f"/cases/{CASE_DANA}")
    dana.send(MESSAGE)
    expect(dana.message(MESSAGE).locator(".state")).to_have_text(re.compile("Skickat|Levererat|Läst"), timeout=TIMEOUT)

    anna.open_conversation(f"/inbox/{CASE_DANA}")
    file_it = anna.message(MESSAGE).get_by_role("link", name="Journalför")
    expect(file_it).to_have_attribute("href", re.compile(rf"^/inbox/{CASE_DANA}/documentation\?from=\d+$"))
    file_it.click()
    staff.wait_for_url(re.compile(rf".*/inbox/{CASE_DANA}/documentation(\?from=\d+)?$"))
    expect(staff.get_by_label("Anteckning", exact=True)).to_have_value(MESSAGE, timeout=TIMEOUT)
    expect(staff.locator("#editor-source")).to_contain_text("Från meddelande")
    expect(staff.get_by_label("Synlig för den enskilde")).not_to_be_checked()  # a harm assessment is never a default
    staff.get_by_role("button", name="Signera", exact=True).click()
    staff.get_by_role("dialog", name="Signera anteckningen?").get_by_role("button", name="Signera", exact=True).click()
    filed = entry(anna, MESSAGE)
    expect(filed).to_contain_text("Inte synlig för den enskilde", timeout=TIMEOUT)
    expect(filed.get_by_role("link", name="Från meddelande")).to_have_attribute("href", f"/inbox/{CASE_DANA}")
    filed.get_by_role("button", name="Publicera för den enskilde").click()
    expect(filed).to_contain_text("Synlig för den enskilde sedan", timeout=TIMEOUT)
    expect(filed.get_by_role("button", name="Publicera för den enskilde")).to_have_count(0)

    dana.goto(f"/cases/{CASE_DANA}/documentation")
    expect(entry(dana, MESSAGE)).to_be_visible(timeout=TIMEOUT)
    with citizen.expect_download() as download:
        citizen.get_by_role("button", name="Exportera min akt").click()
    saved = tmp_path / "akt.html"
    download.value.save_as(saved)
    assert download.value.suggested_filename.startswith(f"akt-{CASE_DANA}-")
    document = saved.read_text(encoding="utf-8")
    for text in (CORRECTED, MESSAGE, RESPONSE, SUPPLEMENT, "uppsagning.pdf", "Version 1 (ersatt)"):
        assert text in document, text
    assert "<script" not in document and "&gt;" not in document.split("</style>")[0]
    expect(citizen.locator("#export-status")).to_contain_text("Dokumentet är nedladdat")
    # The page fits the phone: no entry title or message widens it.
    assert citizen.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert dana.errors == [] and anna.errors == []

    for _path in [server]:
        content = server.stored_bytes()
        for typed in TYPED:
            assert typed.encode() not in content, f"{typed!r} in the database"


@pytest.mark.parametrize(("name", "home", "path", "heading", "options"), [
    ("Dana Karlsson", "/cases", f"/cases/{CASE_DANA}/documentation", "My documentation", PHONE),
    ("Anna Lind", "/inbox", f"/inbox/{CASE_DANA}/documentation", "Documentation", DESKTOP)])
def test_the_documentation_pages_in_english(browser: Any, server: RunningServer, axe: str, name: str, home: str,
                                            path: str, heading: str, options: dict[str, Any]) -> None:
    person = signed_in(browser, server, name, home, "en", options)
    try:
        person.goto(path)
        expect(person.page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(person.page.locator("#entries li").first).to_be_visible(timeout=TIMEOUT)
        check(person, axe)
    finally:
        person.page.context.close()
