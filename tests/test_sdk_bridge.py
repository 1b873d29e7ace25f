"""SDK messages through a message service into a unit's Myndighetspost and a reply with its receipt back
(chat/exchange/sdk/bridge.py, #16 items 1, 4, 5), on a real server: the server polls a message service
(tests/sdk_message_service.py) through Stoplight Prism as a validating proxy made from Digg's API file, so
each request Samtal makes and each answer it reads is checked against the spec on the way."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chat.exchange.sdk.bridge import party_address
from web.cli.main import main as samtal
from web.client.exchange import UnitClient

from .conftest import server_fixture
from .helpers import Mailbox, local_mailbox
from .sdk_message_service import OURS, POLISEN, MessageService, SdkRig, from_polisen
from .test_exchange import OROSANMALAN
from .waiting import eventually_blocking

EB = "ekonomiskt-bistand.demo-kommun"
RIG = SdkRig.make()
server = server_fixture(SAMTAL_SDK_CONFIG=str(RIG.config), SAMTAL_SMTP_HOST="127.0.0.1",
                        SAMTAL_SMTP_PORT=str(RIG.smtp_port), SAMTAL_EXCHANGE_URGENT_SECONDS="1",
                        SAMTAL_EXCHANGE_ALERT_CHECK_SECONDS="1")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MessageService]:
    yield from RIG.running(tmp_path_factory)


@pytest.fixture(scope="module")
def mailbox() -> Any:
    yield from local_mailbox(RIG.smtp_port)


@pytest.fixture(scope="module")
def anna(server: Any, service: MessageService, mailbox: Mailbox,
         tmp_path_factory: pytest.TempPathFactory) -> UnitClient:
    keys = tmp_path_factory.mktemp("exchange-keys")
    assert samtal(["exchange", "demo-keys", "--data-dir", str(server.data_dir), "--keys-dir", str(keys),
                   "--oncall", "jour@demo-kommun.example"]) == 0
    return UnitClient(server.url, keys / f"{EB}.json", "anna", "ekonomiskt-bistand")


def test_an_sdk_message_reaches_myndighetspost_and_the_reply_gets_its_accepted_receipt(
        server: Any, service: MessageService, anna: UnitClient, mailbox: Mailbox) -> None:
    incoming = "7bc5576a-3f87-4cf5-a0c5-277da06fcacb"
    service.post(from_polisen(incoming, "orosanmalan/v1", OROSANMALAN, "Orosanmälan"))

    def arrived() -> dict[str, Any]:
        return next(m for m in anna.inbox()["inbox"] if m["id"] == incoming)
    listed = eventually_blocking(arrived, within=60, what="the SDK message in Myndighetspost",
                                 retrying=(StopIteration, AssertionError))
    sender = party_address(POLISEN)
    assert (listed["from"], listed["priority"], listed["type"]) == (sender, "urgent", "orosanmalan/v1")
    assert listed["conversation"] == "c0ffee00-0000-4000-8000-000000000001"
    message, content = anna.open(incoming)
    assert content == OROSANMALAN
    eventually_blocking(lambda: incoming in service.deleted, within=30, what="deleted at the service")
    directory = httpx.get(f"{server.url}/exchange/v1/directory").text
    assert "Polismyndigheten (0203:polisen.se, SDK sdk:inkorg:0203:polisen.se:syd)" in json.dumps(
        _directory(directory), ensure_ascii=False)

    reply = anna.send(sender, "message/v1", {"subject": "Mottagen", "text": "Vi har tagit emot anmälan."},
                      "Mottagen", in_reply_to=incoming)["claims"]["message"]
    sent = eventually_blocking(lambda: service.sent_by(OURS)[0], within=60, what="the reply at the service",
                               retrying=(IndexError, AssertionError))
    attributes = sent["attributes"]
    assert (attributes["messageId"], attributes["refToMessageId"], attributes["recipient"]) == (
        reply, incoming, "0203:polisen.se")
    assert attributes["conversationId"] == "c0ffee00-0000-4000-8000-000000000001"
    assert attributes["recipientAttention"]["subOrganization"]["extension"] == POLISEN.function
    assert attributes["sender"] == "0203:demo-kommun.example"
    assert attributes["digitalDocument"][0]["contentTextBody"] == ["Vi har tagit emot anmälan."]

    service.set_status(reply, "ACCEPTED")  # the police's system sent its Meddelandekvittens

    def receipt() -> list[str]:
        statuses = [anna.receipt_claims(r)["status"] for r in anna.get(reply)["receipts"]]
        assert "accepted" in statuses
        return statuses
    assert eventually_blocking(receipt, within=60, what="the accepted receipt") == ["received", "accepted"]
    eventually_blocking(lambda: reply in service.deleted, within=30, what="the receipt's message deleted")
    checked = RIG.proxy_log.read_text(encoding="utf-8")
    assert checked.count("Request received") >= 6 and "Violation" not in checked and "✖" not in checked


def test_an_unread_urgent_sdk_document_alerts_on_call_like_our_own(
        service: MessageService, anna: UnitClient, mailbox: Mailbox) -> None:
    service.post(from_polisen("5b2e1f8a-6a55-4c1e-9d8e-2a4b1c0d9e11", "orosanmalan/v1", OROSANMALAN, "Orosanmälan"))
    eventually_blocking(lambda: mailbox.messages, within=60, what="the urgent alert")
    mail = mailbox.messages[0]
    assert mail.rcpt_tos == ["jour@demo-kommun.example"]
    for secret in ("Alva", "Orosanm", "polisen"):
        assert secret not in mail.content.decode("utf-8", "replace")


def test_a_structured_document_that_breaks_its_schema_is_refused_and_recorded(
        server: Any, service: MessageService, anna: UnitClient) -> None:
    bad = from_polisen("9d1c7b3e-2f4a-4b6c-8d0e-1f2a3b4c5d6e", "message/v1", {"subject": "x", "text": "x"}, "Trasig")
    bad["attributes"]["digitalDocument"] = [{"documentId": "d", "documentName": "urn:samtal:exchange:document:orosanmalan/v1",
                                             "contentFiles": [{"fileName": "o.json", "contentType": "application/json",
                                                               "content": "eyJjaGlsZCI6IDF9"}]}]
    service.post(bad)
    def refused() -> str:
        with server.db() as db:
            (reason,) = db.execute("SELECT reason FROM audit_log WHERE action = 'sdk.receive'").fetchone()
        return str(reason)
    assert eventually_blocking(refused, within=60, what="the refusal's audit row",
                               retrying=(TypeError, AssertionError)) == "schema_invalid"
    assert "9d1c7b3e-2f4a-4b6c-8d0e-1f2a3b4c5d6e" not in {m["id"] for m in anna.inbox()["inbox"]}
    assert "9d1c7b3e-2f4a-4b6c-8d0e-1f2a3b4c5d6e" not in service.deleted


def _directory(jws: str) -> Any:
    from chat.exchange import jose

    return jose.unverified_payload(jws)


def test_a_message_that_breaks_digg_rules_is_refused_though_the_rest_api_allows_it(
        server: Any, service: MessageService, anna: UnitClient) -> None:
    """The REST API types conversationId as any string; Digg's message rules want a UUID. The message is held
    to the rules as the XML it stands for, refused, and left at the service."""
    bad = from_polisen("3c9e2d41-7b1a-4f0e-9c2d-5e6f7a8b9c0d", "message/v1", {"subject": "Hej", "text": "Hej"}, "Hej")
    bad["attributes"]["conversationId"] = "not-a-uuid"
    service.post(bad)

    def refused() -> int:
        with server.db() as db:
            return len(db.execute("SELECT 1 FROM audit_log WHERE action = 'sdk.receive' AND reason = 'sdk_invalid'")
                       .fetchall())
    assert eventually_blocking(refused, within=60, what="the refusal's audit row") == 1
    assert "3c9e2d41-7b1a-4f0e-9c2d-5e6f7a8b9c0d" not in {m["id"] for m in anna.inbox()["inbox"]}
    assert "3c9e2d41-7b1a-4f0e-9c2d-5e6f7a8b9c0d" not in service.deleted


def test_staff_look_up_sdk_recipients_by_organisation_and_function(server: Any, anna: UnitClient) -> None:
    def look(**query: str) -> list[dict[str, Any]]:
        answer = anna.http.get("/api/units/ekonomiskt-bistand/sdk/recipients", params=query)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["recipients"])
    [found] = look(organisation="polis", function="syd")
    assert (found["organisation"], found["address"]) == (POLISEN.organisation, party_address(POLISEN))
    assert look(organisation="försäkringskassan") == []
    other = anna.http.get("/api/units/barn-och-unga/sdk/recipients")
    assert other.status_code == 403
