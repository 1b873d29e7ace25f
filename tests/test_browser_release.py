"""The installed app runs only code of its signed release (templates/sw.js, web/release.py), in Chromium: a
server that then serves a script differing from the signed manifest, or a manifest signed with another key,
does not get its code activated; the service worker keeps the code it has and the page says so. An honest
new release is taken."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import RunningServer, start_server, stop_server
from tests.tampering_proxy import TamperingProxy, tampering_proxy
from tests.test_browser_app import PHONE
from tests.test_browser_pages import browser  # noqa: F401 (fixture)
from tests.test_release import release_dir, samtal  # noqa: F401 (fixture)
from web.assets import Assets
from web.release import parse_manifest, release_key_seed, service_worker_source, sign_manifest

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")

REFUSED = "En ny version av Samtal stoppades"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, release_dir: Path) -> Iterator[RunningServer]:  # noqa: F811
    running = start_server(tmp_path_factory.mktemp("samtal"), SAMTAL_RELEASE_MANIFEST=str(release_dir / "r1.json"),
                           SAMTAL_DEMO_STEWARD="0")
    yield running
    stop_server(running)


def publish(proxy: TamperingProxy, key_file: Path, name: str) -> dict[str, str]:
    """Make the proxy serve release `name`, signed with the key in `key_file`: its worker and its manifest."""
    assets, seed = Assets(), release_key_seed(key_file)
    document = sign_manifest(assets, name, seed)
    release = parse_manifest(document)
    proxy.answer("/release.json", document, "application/json")
    proxy.answer("/sw.js", service_worker_source(assets, name, release.public_key).encode(), "text/javascript")
    return release.files


def installed(page: Any) -> Any:
    """Wait until the page is controlled by an activated worker; its release's caches."""
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
    return page.evaluate("caches.keys()")


def update(page: Any) -> None:
    settled(page)
    page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        try { await registration.update(); } catch (error) { /* a refused install rejects: that is the point */ }
    }""")
    settled(page)


def wait_until(page: Any, script: str, seconds: float = 30.0) -> None:
    """Poll an async function in the page until it is true (wait_for_function does not await a promise)."""
    for _ in range(int(seconds * 5)):
        if page.evaluate(script):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"still false after {seconds} s: {script}")


def settled(page: Any) -> None:
    """Wait until no new worker is being installed (a reload starts an update check of its own)."""
    wait_until(page, """async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        return !registration.installing && !registration.waiting;
    }""")


def test_the_worker_refuses_code_that_does_not_match_the_signed_release(browser, server, release_dir,  # noqa: F811
                                                                        tmp_path):
    with tampering_proxy(server.url) as (url, proxy):
        context = browser.new_context(locale="sv-SE", **PHONE)
        page = context.new_page()
        page.goto(url + "/")
        page.wait_for_function("navigator.serviceWorker.controller !== null || (location.reload(), false)",
                               timeout=30_000, polling=2000)
        first = installed(page)
        assert any(name.startswith("samtal-static-") for name in first)
        script = next(u for u in parse_manifest((release_dir / "r1.json").read_bytes()).files
                      if u.startswith("/static/js/app."))
        original = httpx.get(server.url + script).text

        # A new release, signed with the pinned key, but one of its scripts is served changed.
        publish(proxy, release_dir / "key.json", "r2")
        proxy.answer(script, (original + "\nfetch('/steal?' + document.cookie);\n").encode(), "text/javascript")
        update(page)
        expect(page.locator("#release")).to_contain_text(REFUSED, timeout=30_000)
        assert page.evaluate("caches.keys()") == first, "the refused release left nothing behind"
        assert page.evaluate(f"fetch({script!r}).then((r) => r.text())") == original, "the old code still runs"
        page.reload()
        expect(page.locator("#release")).to_contain_text(REFUSED)  # said again on every page until fixed
        expect(page.get_by_role("button", name="Dana Karlsson")).to_be_visible()  # and the app still works

        # A release signed with another key: refused even though every file matches its own manifest.
        proxy.honest()
        publish(proxy, tmp_path / "attacker-key.json", "r3")
        update(page)
        assert "release key changed" in page.evaluate(
            "caches.open('samtal-release').then((c) => c.match('/refused')).then((r) => r.text())")
        page.reload()
        expect(page.locator("#release")).to_contain_text(REFUSED, timeout=30_000)
        assert page.evaluate("caches.keys()") == first

        # An honest new release with the pinned key is installed, and the warning goes away.
        proxy.honest()
        publish(proxy, release_dir / "key.json", "r4")
        update(page)
        old = next(name for name in first if name.startswith("samtal-static-"))
        wait_until(page, f"""async () => !(await caches.keys()).includes({json.dumps(old)})
            && !(await (await caches.open("samtal-release")).match("/refused"))""")
        page.reload()
        settled(page)
        expect(page.locator("#release")).to_have_text("")
        context.close()
