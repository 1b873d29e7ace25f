"""The unit identity held by supervisors' browsers (docs/protocol.md §18, Holders), and the municipality's file
checked by the citizen's browser, in Chromium against a real server with no key steward. A second loopback HTTP
server plays the municipality's web site (with the CORS header a public file needs).

Cecilia's browser makes the identity in the key ceremony and gives the municipality the file; Dana's phone
(its Content-Security-Policy enforced) finds the file at the address the app's signed code names, and says it
matches. David, a second supervisor, cannot certify until Cecilia gives his device the key after comparing
numbers; then he certifies Bo's device, which Dana's client accepts, and rotates the identity: Dana follows the
hand-over and keeps sending. A file that names another key is refused: Dana's devices page warns, and Erik's
phone, new to the unit, sends nothing."""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crypto.encoding import b64u
from crypto.unitcert import identity_file
from tests.browser import chromium
from tests.conftest import ROOT, RunningServer, free_port, start_server, stop_server
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_browser_app import DESKTOP, PHONE, Person, run_async
from tests.test_browser_pages import axe_source, check
from tests.test_unit_identity import PublicFiles
from tests.waiting import eventually_blocking
from web.client.session import ClientSession

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

UNIT = "ekonomiskt-bistand"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The municipality's web site and a Samtal server without a key steward that names the site's file."""
    root = tmp_path_factory.mktemp("municipality")
    folder = root / ".well-known" / "samtal"
    folder.mkdir(parents=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                            functools.partial(PublicFiles, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    server = start_server(tmp_path_factory.mktemp("samtal"), SAMTAL_DEMO_STEWARD="0",
                          SAMTAL_UNIT_IDENTITY_URLS=f"{UNIT}={origin}/.well-known/samtal/{UNIT}.json")
    yield {"server": server, "file": folder / f"{UNIT}.json", "host": origin.removeprefix("http://"),
           "tmp": tmp_path_factory.mktemp("clients")}
    stop_server(server)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


def accessible(page: Any, server: RunningServer, axe: str) -> None:
    """axe-core finds nothing on the page as it is now (staff pages: their contexts let the test inject it)."""
    check(Person(page, server), axe)


def person(browser: Any, server: RunningServer, username: str, options: dict[str, Any]) -> Any:
    """A page signed in with the demo login (also for people the demo's sign-in page has no button for). Staff
    pages (desktop) let the test inject axe; the citizen's phone keeps its Content-Security-Policy in force."""
    context = browser.new_context(locale="sv-SE", bypass_csp=options is DESKTOP, **options)
    response = context.request.post(f"{server.url}/api/demo/login", data={"username": username})
    assert response.ok, response.text()
    return context.new_page()


def add_supervisor(server: RunningServer) -> None:
    with contextlib.closing(sqlite3.connect(server.data_dir / "samtal.sqlite3")) as db:
        db.execute("INSERT INTO users (id, username, display_name, role, unit_id, created_at) VALUES"
                   " ('david', 'david', 'David Sjöberg', 'supervisor', ?, ?)", (UNIT, int(time.time() * 1000)))
        db.commit()


def stored_from(server: RunningServer, username: str) -> int:
    with contextlib.closing(sqlite3.connect(server.data_dir / "samtal.sqlite3")) as db:
        return db.execute("SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.sender_user"
                          " WHERE u.username = ?", (username,)).fetchone()[0]


def wait_stored(server: RunningServer, username: str, at_least: int) -> None:
    eventually_blocking(lambda: stored_from(server, username) >= at_least, what=f"{username}'s message stored")


def dana_entitles(server: RunningServer, folder: Path, device_id: str) -> bool:
    """Whether Dana's command-line client takes `device_id` as a device the unit's identity certified."""
    async def ask() -> bool:
        async with ClientSession(server.url, folder, "dana") as dana:
            await dana.demo_login()
            return await dana.entitled(UNIT, device_id)
    return run_async(ask())


def bo_registers(server: RunningServer, folder: Path) -> str:
    async def register() -> str:
        async with ClientSession(server.url, folder, "bo") as bo:
            await bo.start()
            return bo.device_id
    return run_async(register())


def publish(site: dict[str, Any], page: Any) -> str:
    """The municipality publishes the file the ceremony gave; returns the safety number shown with it."""
    box = page.get_by_label("Filen som ska publiceras på kommunens webbplats")
    expect(box).to_be_visible(timeout=20_000)
    site["file"].write_text(box.input_value(), encoding="utf-8")
    return page.locator(".identity-file .fingerprint").inner_text()


def write(page: Any, text: str) -> None:
    page.locator("#message-text").fill(text)
    page.locator("#send").click()


def test_supervisors_browsers_hold_the_identity_and_the_phone_checks_the_municipality(browser, site, axe):
    server, tmp = site["server"], site["tmp"]
    cecilia = person(browser, server, "cecilia", DESKTOP)
    cecilia.goto(f"{server.url}/unit")
    # The key ceremony: this browser makes the unit's identity and shows what the municipality publishes.
    cecilia.get_by_role("button", name="Skapa verksamhetens identitet").click()
    cecilia.get_by_role("dialog").get_by_role("button", name="Skapa identiteten").click()
    number = publish(site, cecilia)
    published = json.loads(site["file"].read_text(encoding="utf-8"))
    assert published["fingerprint"] == number and published["unit_id"] == UNIT
    expect(cecilia.locator("#identity-state")).to_contain_text("Den här enheten har verksamhetens identitetsnyckel")
    accessible(cecilia, server, axe)

    # Dana's phone, with the page's Content-Security-Policy in force, compares with the municipality's file.
    dana = person(browser, server, "dana", PHONE)
    dana.goto(f"{server.url}/cases/{CASE_DANA}")
    expect(dana.locator("#messages[data-state=ready]")).to_have_count(1, timeout=40_000)
    write(dana, "Hej från telefonen")
    wait_stored(server, "dana", 1)
    dana.goto(f"{server.url}/devices")
    unit = dana.locator("#unit-identities li")
    expect(unit.locator(".fingerprint")).to_have_text(number, timeout=20_000)
    expect(unit).to_contain_text(f"Stämmer med filen som kommunen publicerar på {site['host']}")

    # David, a second supervisor: Cecilia approves his browser, which certifies it (she holds the identity).
    add_supervisor(server)
    david = person(browser, server, "david", DESKTOP)
    david.goto(f"{server.url}/unit")
    expect(david.locator("#identity-state")).to_contain_text("kan därför inte intyga enheter", timeout=20_000)
    accessible(david, server, axe)
    cecilia.reload()
    waiting = cecilia.locator(".pending-device", has_text="David Sjöberg")
    expect(waiting).to_have_count(1, timeout=20_000)
    waiting.get_by_role("button", name="Godkänn").click()
    expect(cecilia.locator("#pending-devices")).to_contain_text("Inga enheter väntar", timeout=20_000)

    # Without the key, David's approval of Bo's device gives it the unit key but no certificate.
    bo_device = bo_registers(server, tmp / "bo")
    david.reload()
    waiting = david.locator(".pending-device", has_text="Bo Ek")
    expect(waiting).to_have_count(1, timeout=20_000)
    waiting.get_by_role("button", name="Godkänn").click()
    expect(david.locator("#pending-devices")).to_contain_text("Inga enheter väntar", timeout=20_000)
    expect(david.get_by_role("button", name="Intyga")).to_have_count(0)
    assert not dana_entitles(server, tmp / "dana-cli", bo_device)

    # Cecilia compares David's number and gives his device the key; David then certifies Bo's device.
    cecilia.reload()
    candidate = cecilia.locator("#identity-candidates li", has_text="David Sjöberg")
    expect(candidate).to_have_count(1, timeout=20_000)
    candidate.get_by_role("button", name="Ge identitetsnyckeln").click()
    expect(cecilia.locator("#identity-holders li")).to_have_count(2, timeout=20_000)
    david.reload()
    to_certify = david.locator("#devices-to-certify li", has_text="Bo Ek")
    expect(to_certify).to_have_count(1, timeout=20_000)
    to_certify.get_by_role("button", name="Intyga").click()
    expect(david.locator("#devices-to-certify")).to_contain_text("Inga enheter väntar på att intygas", timeout=20_000)
    assert dana_entitles(server, tmp / "dana-cli", bo_device)  # the citizen's client accepts David's certificate

    # David changes the identity key: the hand-over is signed by the old key, and Dana's phone follows it.
    david.get_by_role("button", name="Byt verksamhetens identitetsnyckel").click()
    david.get_by_role("dialog").get_by_role("button", name="Byt nyckeln").click()
    new_number = publish(site, david)
    assert new_number != number
    dana.goto(f"{server.url}/cases/{CASE_DANA}")
    expect(dana.locator("#messages[data-state=ready]")).to_have_count(1, timeout=40_000)
    write(dana, "Efter bytet av identitetsnyckel")
    wait_stored(server, "dana", 2)
    dana.goto(f"{server.url}/devices")
    expect(dana.locator("#unit-identities .fingerprint")).to_have_text(new_number, timeout=20_000)
    expect(dana.locator("#unit-identities")).to_contain_text("Stämmer med filen som kommunen publicerar")

    # The municipality's file names another key: Dana's phone says so, and Erik's phone, new to the unit, sends
    # nothing.
    site["file"].write_text(json.dumps(identity_file(UNIT, secrets.token_bytes(32))), encoding="utf-8")
    dana.reload()
    expect(dana.locator("#unit-identities [role=alert]")).to_contain_text(
        "kommunen publicerar en annan identitet för verksamheten", timeout=20_000)
    erik = person(browser, server, "erik", PHONE)
    erik.goto(f"{server.url}/cases/{CASE_ERIK}")
    erik.wait_for_load_state("networkidle")
    write(erik, "Hej")
    expect(erik.locator("#composer-error")).to_contain_text("kommunen publicerar en annan identitet", timeout=30_000)
    assert stored_from(server, "erik") == 0
    for page in (cecilia, dana, david, erik):
        page.context.close()




def samtal(*args: str) -> dict[str, Any]:
    """The `samtal` command, as a supervisor runs it on a machine of the unit's (JSON on stdout)."""
    done = subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(done.stdout)


def test_a_key_file_made_by_the_samtal_command_is_taken_up_in_the_browser(browser, tmp_path):
    """The key ceremony away from the server: `samtal keys identity create` makes the key file and the
    municipality's file; the supervisor's browser takes the key file up (files the genesis, certifies itself,
    seals the key to itself). A rotation made with `hand-over` is taken up the same way."""
    server = start_server(tmp_path, SAMTAL_DEMO_STEWARD="0")
    try:
        made = samtal("keys", "identity", "create", "--unit", UNIT, "--key", str(tmp_path / "k1.json"),
                      "--publish", str(tmp_path / "pub1.json"))
        cecilia = person(browser, server, "cecilia", DESKTOP)
        cecilia.goto(f"{server.url}/unit")
        key_file = cecilia.get_by_label("Eller ta in en nyckelfil som gjorts med kommandot samtal")
        key_file.set_input_files(str(tmp_path / "k1.json"))
        state = cecilia.locator("#identity-state")
        expect(state).to_contain_text("Den här enheten har verksamhetens identitetsnyckel", timeout=30_000)
        expect(state.locator(".fingerprint").first).to_have_text(made["fingerprint"])
        rotated = samtal("keys", "identity", "hand-over", "--key", str(tmp_path / "k1.json"), "--new-key",
                         str(tmp_path / "k2.json"))
        assert rotated["previous"] == made["fingerprint"]
        key_file.set_input_files(str(tmp_path / "k2.json"))
        expect(state.locator(".fingerprint").first).to_have_text(rotated["fingerprint"], timeout=30_000)
        # A key file of another key, without a hand-over from the current one, is refused.
        samtal("keys", "identity", "create", "--unit", UNIT, "--key", str(tmp_path / "other.json"))
        key_file.set_input_files(str(tmp_path / "other.json"))
        expect(cecilia.locator("#identity-error")).to_contain_text("inte en nyckelfil", timeout=30_000)

        async def chain() -> list[bytes]:
            async with ClientSession(server.url, tmp_path / "dana", "dana") as dana:
                await dana.demo_login()
                return (await dana.unit_trust(UNIT)).keys
        keys = run_async(chain())
        assert [b64u(k) for k in keys] == [made["identity_key"], rotated["identity_key"]]
        cecilia.context.close()
    finally:
        stop_server(server)
