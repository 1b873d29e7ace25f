"""A citizen's and a caseworker's day, the small findings (issue 14): a file chosen the moment the
conversation opens is kept; a long file name keeps its button's shape on the phone; the newest message is not
hidden behind the composer; Enter on a phone makes a new line; the month of an application is a picker with
no "write 2026-05" hint; cancelling a meeting in the calendar asks first. The citizen at 360 px, staff at
a desktop, pages driven by their accessible names."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import PHONE, Person, asked_first, client_sends
from tests.test_browser_booking import HOUR, as_user, publish
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in
from web.icon import png

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
LONG_NAME = "Kontoutdrag_Swedbank_privatkonto_och_sparkonto_mars_april_maj_2026_alla_sidor.pdf"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"



@pytest.fixture(scope="module")
def dana(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    yield person
    person.page.context.close()


def box(page: Any, selector: str) -> dict[str, float]:
    return page.locator(selector).evaluate("(el) => el.getBoundingClientRect().toJSON()")  # type: ignore[no-any-return]


def test_a_file_chosen_as_the_conversation_opens_is_kept_and_its_long_name_fits_its_button(dana, axe):
    page = dana.page
    dana.goto(f"/cases/{CASE_DANA}")
    # At once, before the page is ready: it was silently dropped (3 of 3 times).
    page.locator("#attachment-input").set_input_files({"name": LONG_NAME, "mimeType": "application/pdf", "buffer": PDF})
    dana.wait_ready()
    expect(page.locator("#attachment-name")).to_contain_text(LONG_NAME)
    page.get_by_role("button", name="Skicka", exact=True).click()
    button = page.get_by_role("button", name=f"Ladda ner {LONG_NAME}")
    expect(button).to_be_visible(timeout=20_000)

    # The name stays on one line inside its button, shortened before ".pdf", within the bubble and the phone.
    bubble = button.locator("xpath=ancestor::li[contains(@class, 'message')]")
    outer, inner = bubble.evaluate("(el) => el.getBoundingClientRect().toJSON()"), button.evaluate(
        "(el) => el.getBoundingClientRect().toJSON()")
    assert inner["left"] >= outer["left"] and inner["right"] <= outer["right"] <= 360, (inner, outer)
    line = button.evaluate("(el) => parseFloat(getComputedStyle(el).lineHeight)")
    assert inner["height"] < 2 * line + 24, inner  # one line of text and the button's padding, not six
    tail = button.locator(".file-tail")
    expect(tail).to_contain_text(".pdf")
    assert tail.evaluate("(el) => el.getBoundingClientRect().right") <= inner["right"]
    check(dana, axe)


def test_the_newest_message_is_above_the_composer_and_enter_makes_a_new_line_on_the_phone(dana, server,
                                                                                         tmp_path: Path):
    for n in range(4):
        client_sends(server, tmp_path, "anna", CASE_DANA, f"Svar {n}: " + "Vi behöver ett kontoutdrag till. " * 8)
    dana.open_conversation(f"/cases/{CASE_DANA}")
    newest = dana.message("Svar 3:")
    expect(newest).to_be_visible(timeout=20_000)
    last, composer = box(dana.page, "#messages > li:last-child"), box(dana.page, "#composer")
    assert last["bottom"] <= composer["top"] + 1, (last, composer)  # not under the sticky composer
    assert last["top"] >= 0

    # A picture as the newest message grows when it is drawn: it was cut off under the composer.
    dana.page.locator("#attachment-input").set_input_files({"name": "kvitto.png", "mimeType": "image/png",
                                                           "buffer": png(400)})
    dana.page.get_by_role("button", name="Skicka", exact=True).click()
    expect(dana.page.get_by_role("img", name="kvitto.png")).to_be_visible(timeout=20_000)
    picture = dana.page.locator("#messages > li:last-child")
    expect(picture).to_contain_text("Skickat", timeout=20_000)
    dana.page.wait_for_function("""() => {
        const last = document.querySelector('#messages > li:last-child').getBoundingClientRect();
        return last.bottom <= document.getElementById('composer').getBoundingClientRect().top + 1;
    }""", timeout=10_000)

    text = dana.page.get_by_role("textbox", name="Meddelande")
    text.fill("Första raden")
    text.press("Enter")
    text.type("andra raden")
    expect(text).to_have_value("Första raden\nandra raden")  # a new line, nothing sent
    expect(dana.message("Första raden")).to_have_count(0)


def test_the_month_of_an_application_is_a_picker_without_a_format_to_type(dana):
    dana.goto("/apply")
    dana.page.get_by_role("button", name="Ansökan om ekonomiskt bistånd").first.click()
    month = dana.page.get_by_label("Vilken månad söker du för?")
    expect(month).to_have_attribute("type", "month", timeout=20_000)
    expect(month).to_have_accessible_description("Ansökan gäller oftast kommande månad.")


def test_cancelling_a_meeting_in_the_calendar_asks_first(browser, server):
    slot = publish(server, int(time.time() * 1000) + 3 * 24 * HOUR, ["phone"])
    with as_user(server, "dana") as client:
        client.post(f"/api/cases/{CASE_DANA}/bookings", json={"slot_id": slot["id"], "form": "phone"}).raise_for_status()
    anna = signed_in(browser, server, "Anna Lind", "/inbox")
    try:
        day = time.strftime("%Y-%m-%d", time.localtime(slot["starts_at"] / 1000))
        anna.goto("/calendar")
        anna.page.get_by_label("Datum").first.fill(day)
        anna.page.get_by_role("button", name="Visa").click()
        booked = anna.page.locator(f"li[data-slot-id='{slot['id']}']")
        expect(booked).to_contain_text("Bokad", timeout=20_000)
        asked_first(anna.page, booked.get_by_role("button", name="Avboka"), "Avboka mötet?",
                    "med Dana Karlsson avbokas, och den enskilde får veta det", "Avboka",
                    lambda: expect(booked).to_contain_text("Bokad"))
        expect(booked).to_contain_text("Ledig", timeout=20_000)
    finally:
        anna.page.context.close()
