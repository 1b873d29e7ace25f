"""Myndighetspost in a real browser: Polisen (the Python agency client) sends an urgent orosanmälan to the
unit's functional address; the caseworker's inbox lists it as urgent, opens it — the address key unwrapped
with the unit key, the JWE decrypted, the envelope and the content hash checked, the content validated, all
in Chromium — and Polisen then holds signed accepted and read receipts. axe-core finds nothing, in Swedish
and English."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crypto.encoding import unb64u
from tests.conftest import RunningServer, server_fixture
from tests.test_browser_app import run_async
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in
from web.cli.main import main as samtal
from web.client.exchange import AgencyClient
from web.client.session import ClientSession

from .waiting import eventually


def show_agency_mail(page: Any) -> None:
    """Agency mail has its own place beside the cases in the inbox's list (#14): the switch shows it."""
    page.get_by_role("button", name=re.compile("^(Myndighetspost|Agency mail)")).click()


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
            await eventually(lambda: session.unit_epochs("ekonomiskt-bistand"), within=20, what="the unit key")
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
    show_agency_mail(anna.page)
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
    show_agency_mail(anna.page)
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
    show_agency_mail(anna.page)
    anna.page.locator(f"[data-agency-id='{sent['claims']['message']}']").click()
    expect(anna.page.locator("#agency-doc-status")).to_contain_text("följer inte", timeout=20_000)
    expect(anna.page.locator("#agency-document")).to_be_empty()
    claims = polisen.receipts(sent["claims"]["message"])
    assert [(r["status"], r.get("reason")) for r in claims] == [("received", None), ("rejected", "schema_invalid")]


def test_the_caseworker_replies_and_sends_a_request_and_sees_the_agencys_signed_receipts(
        server: RunningServer, keys: Path, anna: Any, axe: str) -> None:
    """From the browser, as the unit's functional address: a reply to Polisen's request (with a PDF) and a new
    begäran om uppgifter. Each is validated against its schema, encrypted to Polisen's key from the signed
    directory and signed with the address's key, all in Chromium; Polisen's client verifies the envelope's
    signature, decrypts, validates and acknowledges; the caseworker's page shows the verified receipts."""
    polisen = AgencyClient(server.url, keys / "polisen.json")
    question = polisen.send(EB, "begaran-om-uppgifter/v1", {
        "person": {"name": "Dana Karlsson"}, "questions": "Har socialtjänsten kontakt med familjen?",
        "legal_basis": "OSL 10 kap. 18 §"}, "Begäran om uppgifter")["claims"]["message"]
    page = anna.page
    anna.goto("/inbox")
    show_agency_mail(anna.page)
    page.locator(f"[data-agency-id='{question}']").click()
    expect(page.locator("#agency-document")).to_contain_text("Har socialtjänsten kontakt", timeout=20_000)
    page.get_by_role("button", name="Svara").press("Enter")  # keyboard
    expect(page.locator("#compose-title")).to_have_text("Svar till Polisen")
    expect(page.locator("#compose-type")).to_have_value("svar-uppgifter/v1")  # the type that answers a request
    page.get_by_role("button", name="Signera och skicka").click()  # nothing filled in: the schema says what is missing
    errors = page.locator("#compose-errors")
    expect(errors).to_be_focused()
    expect(errors).to_contain_text("Svar: fyll i")
    check(anna, axe)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#doc-answer")).to_be_focused()
    page.keyboard.type("Ja, familjen har kontakt med enheten sedan mars.")
    page.get_by_label("Lämnas ut").check()
    pdf = b"%PDF-1.4\n% Samtal test\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
    page.set_input_files("#doc-attachments", files=[{"name": "utdrag.pdf", "mimeType": "application/pdf",
                                                     "buffer": pdf}])
    page.get_by_role("button", name="Signera och skicka").click()
    expect(page.locator("#agency-doc-status")).to_contain_text("Skickat", timeout=20_000)
    expect(page.locator("#agency-receipts")).to_contain_text("Mottaget av Samtal")
    expect(page.locator("#agency-sent li").first).to_contain_text("Till Polisen")
    check(anna, axe)

    [reply] = [m for m in polisen.fetch() if m["in_reply_to"] == question]
    fetched = polisen.get(reply["id"])
    envelope = polisen.verify_envelope(fetched)  # the address's EdDSA signature, key from the signed directory
    assert (envelope["from"], envelope["to"], envelope["type"]) == (EB, "polisen", "svar-uppgifter/v1")
    assert envelope["conversation"] == polisen.get(question)["conversation"]
    content, reason = polisen.open_content(fetched)
    assert reason is None and content is not None
    assert content["answer"] == "Ja, familjen har kontakt med enheten sedan mars." and content["disclosed"] is True
    assert [(a["name"], unb64u(a["data"])) for a in content["attachments"]] == [("utdrag.pdf", pdf)]
    polisen.ack(reply["id"], "accepted")
    polisen.ack(reply["id"], "read")

    page.get_by_role("button", name="Nytt dokument till myndighet").click()
    expect(page.locator("#compose-title")).to_have_text("Nytt dokument till myndighet")
    page.get_by_label("Mottagare").select_option(label="Polisen")
    page.get_by_label("Dokumenttyp").select_option(label="Begäran om uppgifter")
    expect(page.locator("#compose-label")).to_have_value("Begäran om uppgifter")
    page.locator("#doc-person-name").fill("Ingrid Sjövall")
    page.locator("#doc-questions").fill("Finns det polisanmälningar om våld i hemmet det senaste året?")
    page.locator("#doc-legal_basis").fill("OSL 10 kap. 2 §")
    page.locator("#doc-reply_by").fill("2026-07-01")
    check(anna, axe)
    page.get_by_role("button", name="Signera och skicka").click()
    expect(page.locator("#agency-doc-status")).to_contain_text("Skickat", timeout=20_000)
    expect(page.locator("#agency-title")).to_have_text("Begäran om uppgifter")
    expect(page.locator("#agency-receipts")).to_contain_text("Mottaget av Samtal")

    [request] = [m for m in polisen.fetch() if m["type"] == "begaran-om-uppgifter/v1"]
    opened, reason = polisen.open_content(polisen.get(request["id"]))
    assert reason is None and opened == {
        "person": {"name": "Ingrid Sjövall"}, "legal_basis": "OSL 10 kap. 2 §", "reply_by": "2026-07-01",
        "questions": "Finns det polisanmälningar om våld i hemmet det senaste året?"}
    assert polisen.ack(request["id"])["claims"]["status"] == "accepted"
    assert [r["status"] for r in polisen.receipts(request["id"])] == ["received", "accepted"]

    anna.goto("/inbox")
    show_agency_mail(anna.page)
    sent = page.locator(f"[data-agency-id='{reply['id']}']")
    expect(sent).to_contain_text("Läst av mottagaren", timeout=10_000)
    sent.click()
    receipts = page.locator("#agency-receipts li")
    expect(receipts).to_have_count(3, timeout=20_000)
    expect(receipts.nth(0)).to_contain_text("Mottaget av Samtal")
    expect(receipts.nth(1)).to_contain_text("Öppnat av mottagaren")
    expect(receipts.nth(2)).to_contain_text("Läst av mottagaren")
    expect(page.locator(f"[data-agency-id='{request['id']}']")).to_contain_text("Öppnat av mottagaren")
    check(anna, axe)
    blob = server.stored_bytes()
    for typed in ("familjen har kontakt", "Ingrid Sjövall", "polisanmälningar", "Samtal test"):
        assert typed.encode("utf-8") not in blob

    anna.goto("/inbox?lang=en")
    show_agency_mail(anna.page)
    page.get_by_role("button", name="New document to an agency").click()
    expect(page.get_by_label("Recipient")).to_be_visible()
    check(anna, axe)


def test_a_second_polisen_key_added_to_the_directory_is_refused_loudly_in_the_browser(
        server: RunningServer, keys: Path, anna: Any, axe: str, tmp_path: Path) -> None:
    """#19: the directory is the server's word. The browser pinned Polisen's key the first time it opened a
    document from Polisen; a key the operator adds to the directory as Polisen's is not trusted: the document is
    not shown, no receipt is posted, and the caseworker is told loudly, with the key's thumbprint, until she trusts
    the key after checking it with Polisen. Run last: it leaves an attacker's key registered for Polisen."""
    polisen = AgencyClient(server.url, keys / "polisen.json")
    genuine = polisen.send(EB, "message/v1", {"subject": "Äkta", "text": "Från Polisen"}, "Meddelande")
    anna.goto("/inbox?lang=sv")  # the test before leaves Anna's browser in English (a remembered choice)
    show_agency_mail(anna.page)
    anna.page.locator(f"[data-agency-id='{genuine['claims']['message']}']").click()
    expect(anna.page.locator("#agency-document")).to_contain_text("Från Polisen", timeout=20_000)

    attacker = tmp_path / "attacker.json"
    for command in (["keygen", "--address", "polisen", "--sign", "EdDSA", "--enc", "X25519", "--out", str(attacker)],
                    ["admin", "register", "--data-dir", str(server.data_dir), "--public",
                     str(tmp_path / "attacker.pub.json"), "--kind", "agency", "--name", "Polisen"]):
        # A process of its own: the command runs its own event loop, and this thread has Playwright's.
        done = subprocess.run([sys.executable, "-m", "web.cli", "exchange", *command], capture_output=True,
                              text=True, cwd=Path(__file__).resolve().parent.parent, timeout=120)
        assert done.returncode == 0, done.stderr
    forged = AgencyClient(server.url, attacker).send(EB, "orosanmalan/v1", OROSANMALAN, "Orosanmälan")
    forged_id = forged["claims"]["message"]
    anna.goto("/inbox")
    show_agency_mail(anna.page)
    anna.page.locator(f"[data-agency-id='{forged_id}']").click()
    warning = anna.page.locator("#agency-document [role=alert]")
    expect(warning).to_contain_text("Varning: dokumentet är signerat med en nyckel från Polisen som den här enheten "
                                    "inte har sett förut", timeout=20_000)
    from chat.exchange import jose
    expect(warning).to_contain_text(jose.KeyFile(attacker).sign_kid)
    expect(warning).to_contain_text(jose.KeyFile(keys / "polisen.json").sign_kid)
    expect(anna.page.locator("#agency-document")).not_to_contain_text("Alva Exempel")
    check(anna, axe)
    assert [r["status"] for r in polisen.receipts(forged_id)] == ["received"]  # nothing said for the unit
    # Once Polisen confirms the key (here: it is the test's), the caseworker trusts it and the document opens.
    warning.get_by_role("button", name="Myndigheten har bekräftat nyckeln: lita på den").click()
    expect(anna.page.locator("#agency-document")).to_contain_text("Alva Exempel", timeout=20_000)
