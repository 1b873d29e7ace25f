"""Myndighetspost in a real browser: Polisen (the Python agency client) sends an urgent orosanmälan to the
unit's functional address; the caseworker's inbox lists it as urgent, opens it — the address key unwrapped
with the unit key, the JWE decrypted, the envelope and the content hash checked, the content validated, all
in Chromium — and Polisen then holds signed accepted and read receipts. axe-core finds nothing, in Swedish
and English."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, server_fixture
from tests.test_browser_app import run_async
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in
from web.cli import main as samtal
from web.client.exchange import AgencyClient
from web.client.session import ClientSession

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()  # with the demo key steward: it makes the unit key and approves the browser
EB = "ekonomiskt-bistand.demo-kommun"
OROSANMALAN = json.loads((Path(__file__).parent / "exchange" / "orosanmalan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def keys(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo key files, and the unit's address key shared with staff browsers (wrapped to the unit key)."""
    async def unit_key_made() -> None:
        async with ClientSession(server.url, tmp_path_factory.mktemp("wait"), "cecilia") as session:
            await session.start()
            deadline = time.monotonic() + 20
            while not await session.unit_epochs("ekonomiskt-bistand") and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
    run_async(unit_key_made())
    keys_dir = tmp_path_factory.mktemp("exchange-keys")
    assert samtal(["exchange", "demo-keys", "--data-dir", str(server.data_dir), "--keys-dir", str(keys_dir),
                   "--server", server.url]) == 0
    return keys_dir


@pytest.fixture(scope="module")
def anna(browser, server, keys) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Anna Lind", "/inbox")
    yield person
    person.page.context.close()


def test_an_urgent_orosanmalan_is_listed_opened_in_the_browser_and_the_agency_gets_read(
        server: RunningServer, keys: Path, anna: Any, axe: str) -> None:
    polisen = AgencyClient(server.url, keys / "polisen.json")
    copy = polisen.send(EB, "message/v1", {"subject": "Kopia", "text": "För kännedom"}, "Meddelande")
    sent = polisen.send(EB, "orosanmalan/v1", OROSANMALAN, "Orosanmälan")
    msg_id = sent["claims"]["message"]
    page = anna.page
    anna.goto("/inbox")
    items = page.locator("#agency-list li")
    expect(items).to_have_count(2, timeout=10_000)
    first = items.first  # urgent first, although it came last
    expect(first).to_contain_text("Orosanmälan")
    expect(first).to_contain_text("Brådskande")
    expect(first).to_contain_text("Från Polisen")
    expect(first).to_contain_text("Ny")
    expect(page.locator("#agency-status")).to_contain_text("1 brådskande")
    first.get_by_role("link").click()
    document = page.locator("#agency-document")
    expect(document).to_contain_text("Alva Exempel", timeout=20_000)
    expect(page.locator("#agency-priority")).to_be_visible()
    expect(page.locator("#agency-priority")).to_contain_text("Brådskande")
    danger = document.locator("[data-field=immediate_danger]")
    expect(danger).to_contain_text("Akut fara")
    expect(danger).to_contain_text("Ja")
    expect(document).to_contain_text("Risk att barnet utsätts för påtryckningar")
    expect(document).to_contain_text("5000-K123456-26")
    expect(page.locator(f"[data-agency-id='{msg_id}']")).to_contain_text("Läst")  # and now below unread urgent
    check(anna, axe)

    statuses = [r["status"] for r in polisen.receipts(msg_id)]  # each verified against the endpoint key
    assert statuses == ["received", "accepted", "read"]
    assert all(r["to"] == EB for r in polisen.receipts(msg_id))

    anna.goto("/inbox?lang=en")
    expect(page.get_by_role("heading", name="Agency mail")).to_be_visible()
    expect(page.locator(f"[data-agency-id='{msg_id}']")).to_contain_text("Report of concern about a child")
    page.locator(f"[data-agency-id='{copy['claims']['message']}']").click()
    expect(page.locator("#agency-document")).to_contain_text("För kännedom", timeout=20_000)
    check(anna, axe)


def test_a_document_that_fails_its_schema_is_rejected_by_the_browser(server: RunningServer, keys: Path,
                                                                     anna: Any) -> None:
    polisen = AgencyClient(server.url, keys / "polisen.json")
    sent = polisen.send(EB, "orosanmalan/v1", {"child": {"name": "<script>x</script>"}}, "Ofullständig")
    anna.goto("/inbox?lang=sv")
    anna.page.locator(f"[data-agency-id='{sent['claims']['message']}']").click()
    expect(anna.page.locator("#agency-doc-status")).to_contain_text("följer inte", timeout=20_000)
    expect(anna.page.locator("#agency-document")).to_be_empty()
    claims = polisen.receipts(sent["claims"]["message"])
    assert [(r["status"], r.get("reason")) for r in claims] == [("received", None), ("rejected", "schema_invalid")]
