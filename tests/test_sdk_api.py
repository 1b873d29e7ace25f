"""Samtal as a message service for a unit's case management system (web/sdk_api.py, #16 item 4): schemathesis
against Digg's own API file (tests/sdk_spec.py) on a real server, as the configured case system, with the
municipality's message service behind it (the test service, behind Prism validating against the same file):
no 5xx, each status and body as the file says, broken requests refused. And what the routes are for: the
case system sends from its functional address and reads its messages, and nobody else can."""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import server_fixture
from .fuzzing import fuzz_operations
from .sdk_message_service import POLISEN, MessageService, SdkRig, from_polisen
from .sdk_spec import mended

TOKEN = "vsys-token-for-tests-only"  # noqa: S105
VSYS = "sdk:inkorg:0203:demo-kommun.example:eb-vsys"
EXAMPLES = 2  # per operation and mode, as the API fuzzer: generating from Digg's schemas takes seconds a case
RIG = SdkRig.make()
_config = json.loads(RIG.config.read_text())
_config["case_systems"] = [{"name": "vsys", "unit": "ekonomiskt-bistand", "functions": [VSYS],
                            "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]
RIG.config.write_text(json.dumps(_config))
server = server_fixture(SAMTAL_SDK_CONFIG=str(RIG.config))
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MessageService]:
    yield from RIG.running(tmp_path_factory)


def url(server: Any, path: str = "") -> str:
    return f"{server.url}/sdk/api/v1/sdk/messages{path}"


def test_the_case_system_sends_from_its_address_and_reads_and_deletes_its_messages(
        server: Any, service: MessageService) -> None:
    service.local.add(VSYS)
    outgoing = from_polisen("11111111-2222-4333-8444-555555555555", "message/v1", {"subject": "x", "text": "Hej"}, "Fråga")
    outgoing["attributes"]["sender"] = "0203:demo-kommun.example"
    outgoing["attributes"]["senderAttention"]["subOrganization"]["extension"] = VSYS
    outgoing["attributes"]["recipient"] = POLISEN.organisation
    outgoing["attributes"]["recipientAttention"]["subOrganization"]["extension"] = POLISEN.function
    assert httpx.post(url(server), json={"data": outgoing}, headers=BEARER).status_code == 201
    assert service.sent_by(VSYS)[0]["attributes"]["label"] == "Fråga"

    incoming = from_polisen("66666666-7777-4888-9999-000000000000", "message/v1", {"subject": "x", "text": "Svar"}, "Svar")
    incoming["attributes"]["recipientAttention"]["subOrganization"]["extension"] = VSYS
    service.post(incoming)
    listed = httpx.get(url(server), params={"filter[messageStatus]": "NEW"}, headers=BEARER).json()["data"]
    assert [m["id"] for m in listed] == ["66666666-7777-4888-9999-000000000000"]
    assert "digitalDocument" not in listed[0]["attributes"]
    one = httpx.get(url(server, "/66666666-7777-4888-9999-000000000000"), headers=BEARER).json()["data"]
    assert one["attributes"]["digitalDocument"][0]["contentTextBody"] == ["Svar"]
    assert httpx.delete(url(server, "/66666666-7777-4888-9999-000000000000"), headers=BEARER).status_code == 202
    assert "66666666-7777-4888-9999-000000000000" in service.deleted

    # Not from another functional address, not another's messages, not without the token.
    outgoing["attributes"]["senderAttention"]["subOrganization"]["extension"] = "sdk:inkorg:0203:demo-kommun.example:soc"
    refused = httpx.post(url(server), json={"data": outgoing}, headers=BEARER)
    assert refused.status_code == 400 and refused.json()["eventIssues"][0]["typeCode"] == "MESSAGE_EXCHANGE_ERROR"
    service.post(from_polisen("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "message/v1", {"subject": "x", "text": "x"}, "x"))
    assert httpx.get(url(server, "/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"), headers=BEARER).status_code == 404
    assert httpx.get(url(server)).status_code == 401
    assert httpx.get(url(server), headers={"Authorization": "Bearer guessed"}).status_code == 401
    with server.db() as db:
        actions = [a for (a,) in db.execute("SELECT action FROM audit_log WHERE action LIKE 'sdk.api.%'")]
    assert {"sdk.api.send", "sdk.api.list", "sdk.api.read", "sdk.api.delete"} <= set(actions)


def test_the_server_side_answers_as_digg_s_api_file_says(server: Any, service: MessageService) -> None:
    import schemathesis

    config = schemathesis.Config.from_dict({"generation": {"allow-extra-parameters": False,
                                                           "with-security-parameters": False}})
    schema = schemathesis.openapi.from_dict(mended(), config=config)
    schema.config.update(base_url=f"{server.url}/sdk/api/v1")

    def call(case: Any, checks: list[Any]) -> Any:
        return case.call_and_validate(headers=BEARER, checks=checks)

    started = time.monotonic()
    run = fuzz_operations(schema, EXAMPLES, call)
    print(f"sdk api fuzz: {run.requests} requests in {time.monotonic() - started:.0f} s,"
          f" answers {dict(sorted(run.statuses.items()))}")
    assert run.requests >= 10 and not any(status >= 500 for status in run.statuses)
    assert not run.failures, run.report()
