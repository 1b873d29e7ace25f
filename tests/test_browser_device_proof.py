"""Whose a citizen's device is (#19 item 2, docs/protocol.md §21), seen in Chromium: the caseworker's case page
flags a device the server added to the citizen's account, which is given no key; the citizen's phone (proven by
the demo's e-identification) links her new laptop after she compares the code, and the laptop then gets the
case key and reads what was written before."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crypto.devicelink import link_code
from crypto.keys import DeviceKeys, registration_proof
from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import PHONE, Person, client_sends, run_async, words
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in
from web.client.session import ClientSession

server = server_fixture()


@pytest.fixture(scope="module")
def citizen(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    yield person
    person.page.context.close()


@pytest.fixture(scope="module")
def caseworker(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Anna Lind", "/inbox")
    yield person
    person.page.context.close()


def wraps_of(server: RunningServer, device_id: str) -> list[tuple]:
    with sqlite3.connect(server.data_dir / "samtal.sqlite3", timeout=10) as db:
        return db.execute("SELECT case_id, epoch FROM case_key_wraps WHERE recipient = ?", (device_id,)).fetchall()


def dana_device(server: RunningServer, folder: Path, prove: bool) -> ClientSession:
    """Dana's CLI device, registered now (proven by the demo's e-identification, or not at all)."""
    async def make() -> ClientSession:
        session = ClientSession(server.url, folder, "dana")
        await session.demo_login()
        session.demo = prove
        await session.ensure_device()
        await session.close()
        return session
    return run_async(make())


def gets_case_key(server: RunningServer, folder: Path) -> None:
    async def wait() -> None:
        async with ClientSession(server.url, folder, "dana") as session:
            await session.start()
            await session.case_key(await session.case(CASE_DANA))
    run_async(wait())


def test_a_device_the_server_added_is_flagged_on_the_case_page_and_gets_no_key(caseworker, server, tmp_path, axe):
    dana_device(server, tmp_path / "first", prove=True)
    keys = DeviceKeys.generate()
    with sqlite3.connect(server.data_dir / "samtal.sqlite3", timeout=10) as db:
        (user_id,) = db.execute("SELECT id FROM users WHERE username = 'dana'").fetchone()
        db.execute("INSERT INTO devices (id, user_id, sign_pub, kem_pub, label, created_at, registration_proof)"
                   " VALUES (?, ?, ?, ?, 'Ny telefon', ?, ?)",
                   (keys.public.device_id, user_id, keys.public.sign_pub, keys.public.kem_pub,
                    int(time.time() * 1000), registration_proof(keys, user_id)))
    caseworker.open_conversation(f"/inbox/{CASE_DANA}")
    expect(caseworker.page.locator("#unproven-devices")).to_have_text(
        "Invånarens enheter som inte är bevisat deras: 1. De får inga nycklar; någon annan kan ha lagt till dem.")
    caseworker.page.get_by_text("Invånarens enheter", exact=True).click()
    item = caseworker.page.locator("#citizen-devices li", has_text="Ny telefon")
    expect(item).to_contain_text("Inte bevisat att den är personens: den får inga nycklar")
    expect(caseworker.page.locator("#citizen-devices li", has_text="Bevisad med personens e-legitimation")
           ).not_to_have_count(0)
    check(caseworker, axe)
    # A proven device registered after it is given its key: by then the key work passed the added one over.
    dana_device(server, tmp_path / "second", prove=True)
    gets_case_key(server, tmp_path / "second")
    assert wraps_of(server, keys.public.device_id) == []
    caseworker.assert_clean()


def test_the_citizen_links_her_new_device_after_comparing_the_code(citizen, server, tmp_path, axe):
    before = words("Det här skrev jag innan datorn kopplades")
    client_sends(server, tmp_path / "anna", "anna", CASE_DANA, before)
    laptop = dana_device(server, tmp_path / "laptop", prove=False)
    assert laptop.device is not None
    citizen.goto("/devices")
    expect(citizen.page.locator("#this-proof")).to_have_text("Bevisad som din med din e-legitimation")
    item = citizen.page.locator("#other-devices li", has_text="samtal CLI (dana)").filter(
        has=citizen.page.get_by_role("button", name="Koppla samtal CLI (dana)"))
    expect(item).to_contain_text("Inte kopplad till dig: den får inga nycklar")
    check(citizen, axe)
    item.get_by_role("button", name="Koppla samtal CLI (dana)").click()
    dialog = citizen.page.get_by_role("dialog", name="Koppla enheten?")
    # Dana compares the code the laptop shows with the one her phone shows for it.
    expect(dialog.locator("#confirm-link-code")).to_have_text(link_code(laptop.device.keys.public))
    check(citizen, axe)
    dialog.get_by_role("button", name="Koderna är lika: koppla").click()
    linked = citizen.page.locator("#other-devices li", has_text=laptop.device.keys.public.fingerprint())
    expect(linked).to_contain_text("Kopplad från en annan av dina enheter")
    expect(linked.get_by_role("button", name="Koppla samtal CLI (dana)")).to_have_count(0)
    expect(citizen.page.locator("#announcer")).to_contain_text("är kopplad till dig")

    async def laptop_reads() -> list[str]:
        async with ClientSession(server.url, tmp_path / "laptop", "dana") as session:
            await session.start()
            read = await session.read(await session.case(CASE_DANA))
            return [m.body["text"] for m in read.messages if m.body]
    assert before in run_async(laptop_reads())
    citizen.assert_clean()
