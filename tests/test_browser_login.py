"""Sign-in in a real browser (Debian's Chromium): a citizen and a caseworker go through the OpenID provider's
page and land signed in. The session cookie is SameSite=Strict and is set at the end of a redirect chain that
began on the provider's site; the app's pages must still find the session."""
from __future__ import annotations

import pytest

from tests.browser import chromium

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
