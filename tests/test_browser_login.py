"""Sign-in in a real browser (Debian's Chromium): a citizen and a caseworker go through the OpenID provider's
page and land signed in. The session cookie is SameSite=Strict and is set at the end of a redirect chain that
began on the provider's site; the app's pages must still find the session."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import chromium
from tests.test_browser_pages import axe, check, new_person  # noqa: F401 (fixture)

from .test_oidc import issuer_port, server  # noqa: F401  (the module's Samtal and its OpenID provider)


@pytest.mark.parametrize(("kind", "account", "home", "name"), [
    ("citizen", "tolvan", "/cases", "Tolvan Tolvansson"), ("staff", "anna", "/inbox", "Anna Lind")])
def test_sign_in_through_the_provider_in_a_browser(server, kind, account, home, name):  # noqa: F811
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/login/{kind}")
        page.click(f"button[value={account}]")  # the test provider's sign-in page: one button per person
        page.wait_for_url(f"{server.url}{home}", timeout=20_000)
        me = page.evaluate("fetch('/api/me').then(response => response.json())")
        assert me["user"]["display_name"] == name


def test_a_refused_sign_in_shows_a_page_that_says_why_and_what_to_do(server, axe):  # noqa: F811
    # An e-identification at level 2 is not enough: the person gets a page in Swedish, not a JSON error.
    with chromium() as browser:
        person = new_person(browser, server, {"viewport": {"width": 360, "height": 740}})
        person.page.goto(f"{server.url}/login/citizen")
        person.page.click("button[value=low]")
        expect(person.page.get_by_role("heading", level=1)).to_have_text("Du är inte inloggad", timeout=20_000)
        expect(person.page.locator("main")).to_contain_text("högre tillitsnivå")
        expect(person.page.locator("main")).to_contain_text("assurance_too_low")
        assert not [c for c in person.page.context.cookies() if c["name"] == "samtal_session"]
        check(person, axe)
        person.page.get_by_role("link", name="Försök igen").click()
        expect(person.page.get_by_role("heading", level=1)).to_have_text("Logga in i Samtal")


def test_a_citizens_sign_in_carries_the_new_devices_key_and_proves_it(server):  # noqa: F811
    """docs/protocol.md §21: the sign-in page makes the device's keys first and sends their nonce through the
    provider; the provider's ID token then attests this device, which the devices page (checking the token
    against the keys it fetches from the provider itself, under the page's own policy) shows as proven.
    Signe, whom no other test signs in: the person an account belongs to is the one whose e-identification proved
    the first device a client sees (§21), and Tolvan's first device here was proven by the demo e-identification
    (test_sign_in_through_the_provider_in_a_browser goes straight to /login/citizen, so the demo binding proved
    it), another issuer, so a second device of Tolvan's proven by this provider is rightly shown as not hers."""
    with chromium() as browser:
        # The pages' own Content-Security-Policy (not bypassed): the provider is another origin.
        context = browser.new_context(locale="sv-SE", viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(f"{server.url}/")
        page.get_by_role("link", name="Logga in med BankID eller Freja eID").click()
        page.click("button[value=signe]")
        page.wait_for_url(f"{server.url}/cases", timeout=20_000)
        page.goto(f"{server.url}/devices")
        expect(page.locator("#this-proof")).to_have_text("Bevisad som din med din e-legitimation", timeout=20_000)
        me = page.evaluate("fetch('/api/me').then(response => response.json())")
        this = page.locator("#this-id").inner_text()
        assert next(d for d in me["devices"] if d["id"] == this)["binding"]["kind"] == "signin"
        expect(page.locator("#link-this")).to_be_hidden()
        context.close()
