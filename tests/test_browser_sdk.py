"""An SDK message in a caseworker's Myndighetspost, in Chromium (#16): the police's message client posts an
orosanmälan to the municipality's SDK functional address at a message service (tests/sdk_message_service.py,
behind Prism validating against Digg's API file); the server's bridge takes it in; Anna sees it as urgent
from the police's functional address, opens it (decrypted and validated on her device), and replies from the
browser; the reply reaches the message service as an SDK message that answers the police's, and when the
police's system accepts it, Anna sees the recipient's receipt on her reply. axe-core finds nothing."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, server_fixture

# The unit's address key shared with staff browsers, and Anna signed in, as in the exchange's browser test.
from tests.test_browser_exchange import OROSANMALAN, anna, keys, show_agency_mail  # noqa: F401 (fixtures)
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)

from .sdk_message_service import OURS, POLISEN, MessageService, SdkRig, from_polisen
from .waiting import eventually_blocking

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

RIG = SdkRig.make()
server = server_fixture(SAMTAL_SDK_CONFIG=str(RIG.config))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MessageService]:
    yield from RIG.running(tmp_path_factory)


def test_an_sdk_orosanmalan_is_opened_in_myndighetspost_and_the_reply_gets_the_recipients_receipt(
        server: RunningServer, service: MessageService, keys: Path, anna: Any, axe: str) -> None:
    incoming = "7bc5576a-3f87-4cf5-a0c5-277da06fcacb"
    service.post(from_polisen(incoming, "orosanmalan/v1", OROSANMALAN, "Orosanmälan"))
    eventually_blocking(lambda: incoming in service.deleted, within=60, what="the bridge took it in")

    page = anna.page
    anna.goto("/inbox?lang=sv")
    show_agency_mail(page)
    item = page.locator(f"[data-agency-id='{incoming}']")
    expect(item).to_contain_text("Orosanmälan", timeout=20_000)
    expect(item).to_contain_text("Brådskande")
    expect(item).to_contain_text("Polismyndigheten")  # the sender as the SDK look-up names it
    item.click()
    document = page.locator("#agency-document")
    expect(document).to_contain_text("Alva Exempel", timeout=20_000)
    expect(document).to_contain_text("5000-K123456-26")
    expect(page.locator("#agency-meta")).to_contain_text(f"Från Polismyndigheten ({POLISEN.organisation}, SDK {POLISEN.function})")
    check(anna, axe)

    page.get_by_role("button", name="Svara").click()
    expect(page.locator("#compose-title")).to_contain_text("Polismyndigheten")
    expect(page.locator("#compose-type")).to_have_value("message/v1")
    page.locator("#doc-subject").fill("Anmälan mottagen")
    page.locator("#doc-text").fill("Vi har tagit emot anmälan och inleder en utredning.")
    page.get_by_role("button", name="Signera och skicka").click()
    expect(page.locator("#agency-doc-status")).to_contain_text("Skickat", timeout=20_000)

    sent = eventually_blocking(lambda: service.sent_by(OURS)[0], within=60, what="the reply at the service",
                               retrying=(IndexError, AssertionError))
    attributes = sent["attributes"]
    assert attributes["refToMessageId"] == incoming and attributes["recipient"] == POLISEN.organisation
    assert attributes["conversationId"] == "c0ffee00-0000-4000-8000-000000000001"
    assert attributes["digitalDocument"][0]["contentTextBody"] == [
        "Vi har tagit emot anmälan och inleder en utredning."]
    reply = attributes["messageId"]
    service.set_status(reply, "ACCEPTED")  # the police's system sent its Meddelandekvittens
    eventually_blocking(lambda: reply in service.deleted, within=60, what="the receipt recorded")

    anna.goto("/inbox?lang=sv")
    show_agency_mail(page)
    mine = page.locator(f"[data-agency-id='{reply}']")
    expect(mine).to_contain_text("Öppnat av mottagaren", timeout=20_000)
    mine.click()
    receipts = page.locator("#agency-receipts li")
    expect(receipts).to_have_count(2, timeout=20_000)
    expect(receipts.nth(1)).to_contain_text("Öppnat av mottagaren")
    check(anna, axe)
    assert re.search(r"Polismyndigheten", page.locator("#agency-sent").inner_text())
