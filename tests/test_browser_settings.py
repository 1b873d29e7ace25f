"""Settings in a real browser: the citizen on a phone finds Settings in the menu, is told to give an address
before turning e-mail on, saves an address and the notifications, and switches the pages to English there;
the supervisor sets and removes the unit's video meeting link on /unit; on /calendar every radio button and
checkbox sits beside its words. axe-core finds nothing on these pages, in Swedish and in English."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import server_fixture
from tests.test_browser_app import PHONE
from tests.test_browser_booking import as_user
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
UNIT = "ekonomiskt-bistand"


def fits_the_width(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_citizen_turns_on_notifications_and_changes_language_on_a_phone(browser, server, axe):
    dana = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    page = dana.page
    try:
        page.get_by_role("link", name="Inställningar").click()
        page.wait_for_url("**/settings")
        expect(page.get_by_role("heading", level=1)).to_have_text("Inställningar")
        address = page.get_by_label("Din e-postadress")
        expect(address).to_have_value("dana@demo.samtal.invalid")  # the demo's contact address
        opt_in = page.get_by_label("Skicka e-post till mig när något nytt väntar på mig i Samtal")
        expect(opt_in).not_to_be_checked()
        expect(page.locator("#notify-timing")).to_contain_text("tidigast 5 minuter")
        expect(page.get_by_label("Svenska")).to_be_checked()
        check(dana, axe)
        assert fits_the_width(page)

        address.fill("")
        opt_in.check()
        page.get_by_role("button", name="Spara").click()
        expect(page.locator("#contact-email-error")).to_have_text(
            "Skriv din e-postadress för att få e-post, eller stäng av e-posten.")
        expect(address).to_be_focused()
        expect(address).to_have_attribute("aria-invalid", "true")
        check(dana, axe)
        address.fill("inte en adress")
        page.get_by_role("button", name="Spara").click()
        expect(page.locator("#contact-email-error")).to_have_text(
            "Det här är inte en e-postadress. Kontrollera den och försök igen.")
        address.fill("dana.ny@example.se")
        page.get_by_role("button", name="Spara").click()
        expect(page.locator("#settings-status")).to_have_text("Dina inställningar är sparade.")
        expect(page.locator("#contact-email-error")).to_be_empty()
        with as_user(server, "dana") as api:
            assert api.get("/api/me/contact").json() == {"email": "dana.ny@example.se"}
            assert api.get("/api/me/notifications").json()["email_opt_in"] is True

        page.get_by_label("English").check()
        page.get_by_role("button", name="Spara").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#settings-status")).to_have_text("Your settings are saved.")
        expect(page.get_by_label("E-mail me when something new waits for me in Samtal")).to_be_checked()
        expect(page.get_by_label("English")).to_be_checked()
        check(dana, axe)
        assert fits_the_width(page)
        with as_user(server, "dana") as api:
            assert api.get("/api/me/notifications").json()["language"] == "en"
        assert dana.errors == []
    finally:
        page.context.close()


def test_the_supervisor_sets_and_removes_the_units_video_link(browser, server, axe):
    cecilia = signed_in(browser, server, "Cecilia Berg", "/inbox")
    page = cecilia.page
    try:
        page.get_by_role("link", name="Arbetsledning").click()
        page.wait_for_url("**/unit")
        current = page.locator("#video-current")
        expect(current).to_have_text("Ingen länk är angiven: videomöten hålls i Samtals eget videosamtal.", timeout=20_000)
        field = page.get_by_label("Verksamhetens möteslänk")
        field.fill("https://mote.example-kommun.se/rum")
        page.get_by_role("button", name="Spara länken").click()
        expect(page.locator("#video-status")).to_contain_text("måste vara en https-adress")
        field.fill("https://mote.example-kommun.se/{booking}")
        page.get_by_role("button", name="Spara länken").click()
        expect(page.locator("#video-status")).to_have_text("Verksamhetens möteslänk är sparad.")
        expect(current).to_have_text("Verksamhetens egen länk används.")
        check(cecilia, axe)
        with as_user(server, "anna") as api:
            assert api.get(f"/api/units/{UNIT}/settings").json()["video_link_template"] == (
                "https://mote.example-kommun.se/{booking}")
        page.get_by_role("button", name="Ta bort verksamhetens länk").click()
        expect(page.locator("#video-status")).to_have_text("Verksamhetens länk är borttagen.")
        expect(field).to_have_value("")
        assert cecilia.errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_calendar_choices_sit_beside_their_words(browser, server, axe, lang):
    anna = signed_in(browser, server, "Anna Lind", "/inbox", lang)
    try:
        anna.goto("/calendar")
        expect(anna.page.locator("#calendar-summary")).not_to_be_empty(timeout=20_000)
        options = anna.page.locator("label.option")
        expect(options).to_have_count(5)  # day, week, and the three meeting forms
        for i in range(5):
            label = options.nth(i)
            box, text = label.locator("input").bounding_box(), label.bounding_box()
            assert box and text
            # One line: the box is vertically centred in its label and the label is one touch target high.
            assert abs((box["y"] + box["height"] / 2) - (text["y"] + text["height"] / 2)) < 2, label.inner_text()
            assert 44 <= text["height"] < 50, (label.inner_text(), text)
        day, week = options.nth(0).bounding_box(), options.nth(1).bounding_box()
        assert day and week and day["y"] == week["y"]  # Day and Week side by side
        check(anna, axe)
    finally:
        anna.page.context.close()
