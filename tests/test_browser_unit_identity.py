"""The unit identity in the citizen's browser against a hostile operator (docs/protocol.md §18): the operator
edits the stopped server's database (as in test_unit_identity.py) and starts it again on the same address;
Dana's phone, which pinned the unit's identity, refuses a staff device and a case key the unit never
certified, refuses a changed identity, says so, and sends nothing. The devices page shows the unit's safety
number and her devices as the key log shows them."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import chromium
from tests.conftest import stop_server
from tests.helpers import CASE_DANA
from tests.test_browser_app import PHONE, run_async, sign_in
from tests.test_unit_identity import (  # noqa: F401  (fixtures)
    UNIT,
    forge_staff_case_key,
    hostile,
    municipality,
    pinned,
    replace_unit_identity,
    session,
)

from .waiting import eventually_blocking

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def prepared(hostile: dict, tmp_path: Any) -> dict:
    """The unit's identity made (by the demo steward) and the case's view, as a Python client sees it."""
    async def look() -> dict:
        dana = await session(hostile["server"], tmp_path / "py", "dana")
        try:
            fingerprint = (await pinned(dana)).fingerprint()
            case = await dana.case(CASE_DANA)
            return {"fingerprint": fingerprint, "case": case}
        finally:
            await dana.close()
    return run_async(look())


def dana_page(browser: Any, hostile: dict) -> Any:
    context = browser.new_context(locale="sv-SE", **PHONE)
    page = context.new_page()
    sign_in(page, hostile["server"], "Dana Karlsson")
    return page


def open_case(page: Any, hostile: dict) -> None:
    page.goto(f"{hostile['server'].url}/cases/{CASE_DANA}")
    expect(page.locator("#messages[data-state=ready]")).to_have_count(1, timeout=30_000)


def messages_from_dana(hostile: dict) -> int:
    with contextlib.closing(sqlite3.connect(hostile["server"].data_dir / "samtal.sqlite3")) as db:
        return db.execute("SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.sender_user"
                          " WHERE u.username = 'dana'").fetchone()[0]


def stored_from_dana(hostile: dict, at_least: int) -> int:
    """How many of Dana's messages the server stored, once at least `at_least` are (the outbox sends them)."""
    return eventually_blocking(lambda: (count := messages_from_dana(hostile)) >= at_least and count,
                               within=20, what="the phone's message stored")


def write(page: Any, text: str) -> None:
    page.locator("#message-text").fill(text)
    page.locator("#send").click()


def test_the_phone_refuses_a_staff_device_the_server_inserted(browser, hostile, tmp_path):
    view = prepared(hostile, tmp_path)
    page = dana_page(browser, hostile)
    open_case(page, hostile)
    write(page, "före intrånget")
    expect(page.locator("#messages .message", has_text="före intrånget")).to_have_count(1, timeout=20_000)
    # The devices page: the unit's safety number as the phone checked it, and this phone in the key log.
    page.goto(f"{hostile['server'].url}/devices")
    expect(page.locator("#unit-identities .fingerprint")).to_have_text(view["fingerprint"], timeout=20_000)
    expect(page.locator("#log-devices li", has_text="den här enheten")).to_have_count(1, timeout=20_000)
    sent = stored_from_dana(hostile, 1)
    case = prepared(hostile, tmp_path)["case"]  # now with this phone among the citizen's devices
    stop_server(hostile["server"])
    forge_staff_case_key(hostile["server"], case)
    hostile["restart"](SAMTAL_DEMO_STEWARD="0")
    page.goto(f"{hostile['server'].url}/cases/{CASE_DANA}")
    status = page.locator("#conversation-status")
    expect(status).to_contain_text("inte har intygat", timeout=30_000)
    expect(page.get_by_text("uppge BankID-koden")).to_have_count(0)
    write(page, "efter intrånget")
    expect(page.locator("#composer-error")).to_contain_text("inte har intygat", timeout=20_000)
    assert messages_from_dana(hostile) == sent  # nothing went out with the operator's key
    page.context.close()


def test_the_phone_warns_and_sends_nothing_when_the_unit_identity_changes(browser, hostile, tmp_path):
    view = prepared(hostile, tmp_path)
    page = dana_page(browser, hostile)
    open_case(page, hostile)
    write(page, "före bytet")
    expect(page.locator("#messages .message", has_text="före bytet")).to_have_count(1, timeout=20_000)
    sent = stored_from_dana(hostile, 1)
    stop_server(hostile["server"])
    replace_unit_identity(hostile["server"])
    hostile["restart"](SAMTAL_DEMO_STEWARD="0")
    page.goto(f"{hostile['server'].url}/cases/{CASE_DANA}")
    page.wait_for_load_state("networkidle")
    write(page, "efter bytet")
    warning = page.locator("#composer-error")
    expect(warning).to_contain_text("enhetens identitet har ändrats", timeout=20_000)
    assert messages_from_dana(hostile) == sent
    page.goto(f"{hostile['server'].url}/devices")
    expect(page.locator("#unit-identities [role=alert]")).to_contain_text("enhetens identitet har ändrats",
                                                                          timeout=20_000)
    assert view["fingerprint"]  # the pinned number stays what the letter says; the page does not show the new one
    page.context.close()
