"""History on every new device (docs/protocol.md section 17), in Chromium: after three rotations of the unit key
and the case keys, a citizen's phone (360 px) that signs in for the first time is given only the current case
key, and a caseworker's new desktop browser only the current unit key; each opens every message of the case,
the oldest included, through the history links."""
from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import PHONE, client_sends, run_async
from tests.test_browser_pages import browser  # noqa: F401 (fixture)
from tests.test_browser_staff_pages import signed_in
from tests.test_key_history import rotate

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")

server = server_fixture(SAMTAL_SEND_RATE="1000", SAMTAL_SEND_BURST="1000")


def test_a_new_phone_opens_every_message_after_three_rotations(browser: Any, server: Any, tmp_path: Any) -> None:  # noqa: F811
    texts = [f"Meddelande skrivet i nyckelepok {epoch}" for epoch in (1, 2, 3, 4)]
    for epoch, text in enumerate(texts, start=1):
        if epoch > 1:
            run_async(rotate(server, tmp_path / f"anna-laptop-{epoch}", epoch - 1))
        client_sends(server, tmp_path / "dana-old-phone", "dana", CASE_DANA, text)

    phone = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    phone.open_conversation(f"/cases/{CASE_DANA}")
    for text in texts:
        expect(phone.message(text)).to_be_visible(timeout=20_000)
    expect(phone.page.locator("#messages .unreadable")).to_have_count(0)
    device_id = phone.page.evaluate("""async () => {
        const me = await (await fetch("/api/me")).json();
        return me.devices.filter((d) => !d.revoked_at && !d.label.startsWith("samtal CLI")).map((d) => d.id); }""")
    assert len(device_id) == 1, "the phone is Dana's one browser device"
    with sqlite3.connect(f"file:{server.database_files[0]}?mode=ro", uri=True) as db:
        wrapped = {r[0] for r in db.execute("SELECT DISTINCT epoch FROM case_key_wraps WHERE case_id = ? AND"
                                            f" recipient IN ({','.join('?' * len(device_id))})",
                                            (CASE_DANA, *device_id))}
    assert wrapped == {4}, "the phone was given the current case key only; the rest came through the links"
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360
    phone.assert_clean()
    phone.page.context.close()

    desk = signed_in(browser, server, "Anna Lind", "/inbox")  # a new staff device: the steward approves it
    desk.open_conversation(f"/inbox/{CASE_DANA}")
    for text in texts:
        expect(desk.message(text)).to_be_visible(timeout=30_000)
    expect(desk.page.locator("#messages .unreadable")).to_have_count(0)
    with sqlite3.connect(f"file:{server.database_files[0]}?mode=ro", uri=True) as db:
        granted = {r[0] for r in db.execute(
            "SELECT g.epoch FROM unit_key_grants g JOIN devices d ON d.id = g.device_id WHERE d.user_id = 'anna'"
            " AND d.label NOT LIKE 'samtal CLI%' AND d.revoked_at IS NULL")}
    assert granted == {4}, "the desk was granted the current unit key only; the rest came through the links"
    desk.assert_clean()
    desk.page.context.close()
