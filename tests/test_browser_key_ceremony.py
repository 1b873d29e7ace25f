"""The key ceremony explained where someone waits for keys (#20 item 5), with no demo key steward: a citizen
who signs in while no staff device is open is told why she cannot write yet and what happens next, and may
not send until the keys come; a caseworker's new device names the supervisor who can approve it; a
supervisor on a new browser is offered no Approve that must fail, but told which approved devices the unit
has, and after removing her lost one her browser makes the unit's new keys and approves her colleague."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import PHONE, Person
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import SECRET, first_key_holder, signed_in

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture(SAMTAL_DEMO_STEWARD="0")


@pytest.fixture(scope="module")
def dana(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    yield person
    person.page.context.close()


def test_a_citizen_waiting_for_keys_is_told_why_and_may_write_once_they_come(dana, server, axe,
                                                                           tmp_path: Path):
    # No staff device has been open on this server: the unit has no keys at all yet.
    dana.goto(f"/cases/{CASE_DANA}")
    expect(dana.page.locator("#conversation-status")).to_have_text(
        "Den här enheten har inte fått nycklarna till ärendet ännu. De ges så snart någon på enheten har Samtal "
        "öppet; då öppnas samtalet här av sig självt. Om det dröjer, ring enheten.", timeout=30_000)
    send = dana.page.get_by_role("button", name="Skicka", exact=True)
    expect(send).to_be_disabled()  # a message could not be sealed yet
    text = dana.page.get_by_role("textbox", name="Meddelande")
    text.fill("Hej, jag väntar på svar om mitt bistånd.")
    text.press("Enter")  # Enter on the phone is a new line, never a send that must fail
    check(dana, axe)

    first_key_holder(server, tmp_path, dana)  # someone at the unit opens Samtal
    expect(dana.message(SECRET)).to_be_visible(timeout=30_000)
    expect(dana.page.locator("#conversation-status")).to_have_text("")
    expect(send).to_be_enabled()
    expect(text).to_have_value("Hej, jag väntar på svar om mitt bistånd.\n")  # what she wrote is kept
    send.click()
    expect(dana.message("Hej, jag väntar på svar om mitt bistånd.")).to_be_visible(timeout=20_000)


def test_a_supervisor_on_a_new_browser_is_told_which_devices_can_approve_and_recovers(browser, server, dana, axe):
    # The unit's keys are on cecilia's command-line device only (the first test).
    bo = signed_in(browser, server, "Bo Ek", "/inbox")
    cecilia = signed_in(browser, server, "Cecilia Berg", "/inbox")
    try:
        bo.goto(f"/inbox/{CASE_DANA}")
        expect(bo.page.locator("#conversation-status")).to_contain_text("Be Cecilia Berg göra det", timeout=30_000)

        cecilia.goto("/unit")
        pending = cecilia.page.locator(".pending-device")
        expect(pending.filter(has_text="Bo Ek")).to_have_count(1, timeout=20_000)
        expect(pending.filter(has_text="Cecilia Berg")).to_contain_text("kan inte godkänna sig själv")
        # Approving passes on keys this browser does not have: no button that would answer "try again".
        expect(cecilia.page.get_by_role("button", name=re.compile("^Godkänn"))).to_have_count(0)
        note = cecilia.page.locator("#approve-blocked")
        expect(note).to_contain_text("Den här enheten är inte godkänd än")
        expect(note).to_contain_text("Enhetens godkända enheter: Du: ”samtal CLI (cecilia)”, tillagd")
        check(cecilia, axe)

        # The command-line device is no longer used: she removes it, and her browser makes the unit's new keys.
        cecilia.goto("/devices")
        cecilia.page.get_by_role("button", name="Ta bort samtal CLI (cecilia)").click()
        cecilia.page.get_by_role("dialog").get_by_role("button", name="Ta bort enheten").click()
        cecilia.goto("/unit")
        approve = cecilia.page.get_by_role("button", name=re.compile("^Godkänn .* av Bo Ek"))
        expect(approve).to_have_count(1, timeout=30_000)
        expect(note).to_be_hidden()
        approve.click()
        expect(cecilia.page.locator("#pending-devices")).to_contain_text("Inga enheter väntar", timeout=20_000)
        # Bo's device has the new keys: the case opens (what was written under the lost keys stays unreadable
        # to new devices: no device that held both could seal the old keys into the new).
        bo.open_conversation(f"/inbox/{CASE_DANA}")
        expect(bo.page.locator("#conversation-status")).to_have_text("", timeout=30_000)
    finally:
        bo.page.context.close()
        cecilia.page.context.close()
