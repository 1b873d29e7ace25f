"""Mitt registerutdrag in Chromium on a phone (docs/extract.md): Dana, with something of every kind in her case
(messages with a file, an application and its decision, a published entry and an unpublished draft, her
supplement, a booking, her e-mail settings, Anna's reads), opens Mina uppgifter i Samtal from Inställningar,
makes her extract and downloads the document and the JSON. Both hold every kind, the content opened on her
phone; neither holds Erik's case or the draft. axe-core passes in Swedish and English; the page fits 360 px."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_applications import SECRET_DECISION
from tests.test_browser_app import DESKTOP, PHONE, Person, run_async
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in
from tests.test_extract import SECRET_DRAFT, SECRET_ENTRY, SECRET_ERIK, SECRET_MESSAGE, SECRET_SUPPLEMENT, fill_dana
from web.client.session import ClientSession

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
TIMEOUT = 60_000


async def fill(server: RunningServer, folder: Path) -> dict[str, Any]:
    sessions: list[ClientSession] = []

    async def login(username: str) -> ClientSession:
        session = ClientSession(server.url, folder, username)
        await session.start()
        sessions.append(session)
        return session

    try:
        return await fill_dana(login)
    finally:
        for session in sessions:
            await session.close()


def download(person: Person, button: str, into: Path) -> tuple[str, str]:
    with person.page.expect_download() as done:
        person.page.get_by_role("button", name=button).click()
    path = into / done.value.suggested_filename
    done.value.save_as(path)
    return done.value.suggested_filename, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def dana(browser: Any, server: RunningServer) -> Iterator[Person]:
    person = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    yield person
    person.page.context.close()


@pytest.fixture(scope="module")
def facts(dana: Person, server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Her phone is one of her devices before anything is sent, so the grants to her devices include it.
    expect(dana.page.get_by_role("link", name=re.compile("Ansökan om ekonomiskt bistånd"))).to_have_count(
        1, timeout=TIMEOUT)
    return run_async(fill(server, tmp_path_factory.mktemp("clients")))  # type: ignore[no-any-return]


def test_a_citizen_downloads_her_register_extract(dana: Person, facts: dict[str, Any], server: RunningServer,
                                                  axe: str, tmp_path: Path) -> None:
    dana.goto("/settings?lang=sv")
    dana.page.get_by_role("link", name="Mina uppgifter i Samtal").click()
    dana.page.wait_for_url("**/extract")
    expect(dana.page.get_by_role("heading", level=1)).to_have_text("Mina uppgifter i Samtal")
    check(dana, axe)
    dana.page.get_by_role("button", name="Gör mitt registerutdrag").click()
    expect(dana.page.locator("#extract-ready")).to_be_visible(timeout=TIMEOUT)
    expect(dana.page.locator("#extract-status")).to_have_text("Ditt utdrag är klart. Ladda ner det nedan.")
    expect(dana.page.locator("#extract-summary")).to_contain_text("Meddelanden")
    check(dana, axe)
    assert dana.page.evaluate("document.scrollingElement.scrollWidth") <= 360

    name, document = download(dana, "Ladda ner dokumentet (HTML)", tmp_path)
    assert re.fullmatch(r"registerutdrag-\d{4}-\d{2}-\d{2}\.html", name)
    for text in ("Registerutdrag från Samtal", "Dana Karlsson", "dana.extract@example.se",  # account
                 "Dina enheter", CASE_DANA, "Ekonomiskt bistånd",  # devices, the case
                 SECRET_MESSAGE, "lön.pdf",  # a message and its file, opened on the phone
                 SECRET_DECISION, SECRET_ENTRY, SECRET_SUPPLEMENT,  # decision, documentation, supplement
                 "Bokningar", "Bifogade filer", "Vem som har läst eller ändrat", "Anna Lind"):
        assert text in document, text
    for absent in (SECRET_ERIK, SECRET_DRAFT, CASE_ERIK, "Erik Nilsson"):
        assert absent not in document, absent
    assert "<script" not in document

    name, raw = download(dana, "Ladda ner uppgifterna (JSON)", tmp_path)
    assert name.endswith(".json")
    data = json.loads(raw)
    assert data["person"]["name"] == "Dana Karlsson" and data["account"]["contact_email"] == "dana.extract@example.se"
    assert data["account"]["notifications"]["email_opt_in"] is True and data["devices"]
    [case] = data["cases"]
    texts = [m["content"].get("text") for m in case["messages"]]
    assert SECRET_MESSAGE in texts
    file_message = next(m for m in case["messages"] if m["content"].get("name") == "lön.pdf")
    assert "key" not in file_message["content"] and file_message["env"]  # the ciphertext, not its key
    [application] = case["applications"]
    decision = next(r for r in application["records"] if r["id"] == facts["decision"])
    assert decision["content"]["text"] == SECRET_DECISION
    assert next(e for e in application["events"] if e["kind"] == "decided")["by_name"] == "Anna Lind"
    assert case["journal"]["entries"][0]["versions"][0]["content"]["text"] == SECRET_ENTRY
    assert SECRET_SUPPLEMENT in [r["content"].get("text") for r in case["journal"]["remarks"]]
    assert case["bookings"][0]["id"] == facts["booking"]
    assert [a["kind"] for a in data["attachments"]] == ["message"]
    assert any(r["by_name"] == "Anna Lind" for r in data["staff_access"])
    assert CASE_ERIK not in raw and SECRET_ERIK not in raw and SECRET_DRAFT not in raw
    assert dana.errors == []

    dana.goto("/extract?lang=en")
    expect(dana.page.get_by_role("heading", level=1)).to_have_text("My data in Samtal")
    check(dana, axe)
    dana.goto("/extract?lang=sv")
    content = server.stored_bytes()
    for secret in (SECRET_MESSAGE, SECRET_ENTRY, SECRET_SUPPLEMENT):
        assert secret.encode() not in content


def test_at_the_desk_staff_make_the_units_part_and_hand_it_over(browser: Any, server: RunningServer, axe: str,
                                                                facts: dict[str, Any], tmp_path: Path) -> None:
    anna = signed_in(browser, server, "Anna Lind", "/inbox", options=DESKTOP)
    try:
        anna.page.get_by_role("link", name="Registerutdrag").click()
        anna.page.wait_for_url("**/extracts")
        anna.page.get_by_label("Person").select_option(label="Dana Karlsson")
        anna.page.get_by_role("button", name="Registrera begäran").click()
        expect(anna.page.locator("#extract-form-status")).to_contain_text("Begäran är registrerad", timeout=TIMEOUT)
        request = anna.page.locator("#extract-requests li", has_text="Begärd vid disken").first
        expect(request).to_contain_text("Dana Karlsson")
        expect(request).to_contain_text("Automatiskt")  # the due date is computed, and says so
        expect(request).to_contain_text("Öppet")
        check(anna, axe)
        with anna.page.expect_download() as done:
            request.get_by_role("button", name="Ladda ner enhetens del").click()
        path = tmp_path / "part.html"
        done.value.save_as(path)
        part = path.read_text(encoding="utf-8")
        for text in (SECRET_MESSAGE, SECRET_ENTRY, SECRET_SUPPLEMENT, SECRET_DECISION, "En enhets del"):
            assert text in part, text  # opened on Anna's device with the unit's keys
        for absent in (SECRET_DRAFT, SECRET_ERIK, "Ditt konto", "Dina enheter"):
            assert absent not in part, absent  # the unit's part: no draft, no account, nobody else
        with anna.page.expect_download() as done:
            request.get_by_role("button", name="Ladda ner uppgifterna (JSON)").click()
        done.value.save_as(tmp_path / "part.json")
        data = json.loads((tmp_path / "part.json").read_text(encoding="utf-8"))
        assert data["scope"] == "unit" and "account" not in data and "devices" not in data
        assert SECRET_MESSAGE in [m["content"].get("text") for m in data["cases"][0]["messages"]]
        request.get_by_role("button", name="Markera som utlämnad").click()
        expect(anna.page.locator("#extract-requests li", has_text="Begärd vid disken").first).to_contain_text(
            "Utlämnat", timeout=TIMEOUT)
        assert anna.errors == []
        anna.goto("/extracts?lang=en")
        expect(anna.page.get_by_role("heading", level=1)).to_have_text("Register extracts")
        expect(anna.page.locator("#extract-requests li").first).to_be_visible(timeout=TIMEOUT)
        check(anna, axe)
        anna.goto("/extracts?lang=sv")
    finally:
        anna.page.context.close()
