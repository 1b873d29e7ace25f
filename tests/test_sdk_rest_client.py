"""Samtal's SDK message client (chat/exchange/sdk/rest_client.py) against a message service mocked from Digg's
own OpenAPI file by Stoplight Prism (#16 item 4). Prism runs with --errors: a request that breaks the spec
is refused with its list of violations (and the test fails on it), and an answer of its own that breaks the
spec is turned into an error too, so what the client reads is what the spec allows. The file is Digg's with
two mistakes mended (tests/sdk_spec.py)."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat.exchange.sdk.mapping import Party, SdkMessage, documents_for, is_confidential
from chat.exchange.sdk.rest_client import NEW, ClientConfig, RestClient, SdkApiError

from .conftest import free_port
from .sdk_message_service import PRISM
from .sdk_spec import write_mended
from .waiting import eventually_blocking

ORO = {"child": {"name": "Kim Exempel", "personal_number": "20150101-0000"},
       "guardians": [{"name": "Alex Exempel", "informed": False, "not_informed_reason": "risk för barnet"}],
       "reporter": {"name": "Polisinspektör Berg", "organisation": "Polismyndigheten"},
       "observations": {"when": "2026-12-07T21:00", "seen": "Barnet var ensamt hemma."},
       "immediate_danger": False}


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not PRISM.exists():
        pytest.skip("Stoplight Prism is not installed (python3 dev.py test installs it into .cache/npm/prism)")
    spec = write_mended(tmp_path_factory.mktemp("sdk"))
    port = free_port()
    log = (tmp_path_factory.getbasetemp() / "prism.log").open("wb")
    process = subprocess.Popen([str(PRISM), "mock", "--errors", "-h", "127.0.0.1", "-p", str(port), str(spec)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        assert process.poll() is None, "prism ended"
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError as error:
            raise AssertionError("prism is not listening yet") from error
        return True

    try:
        eventually_blocking(listening, within=120, what="Prism listening", retrying=(AssertionError,))
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def message(**changes: Any) -> SdkMessage:
    fields: dict[str, Any] = dict(
        message_id="0b7f0c52-7a5e-4b7e-9d0c-3c1f4f1f2a10", conversation_id="6f1e3c1a-2b0d-4e43-9a51-0c6f1a9b2d3e",
        created="2026-12-07T22:10:00.000Z", label="Orosanmälan", confidential=is_confidential("orosanmalan/v1", ORO),
        sender=Party("0203:polisen.se", "sdk:inkorg:0203:polisen.se", "Polisen region Syd"),
        recipient=Party("0203:kommun.example", "sdk:inkorg:0203:kommun.example:socialtjansten"),
        documents=documents_for("orosanmalan/v1", ORO))
    fields.update(changes)
    return SdkMessage(**fields)


def client(url: str) -> RestClient:
    return RestClient(ClientConfig(base_url=url, token="test-bed-token"))


def test_send_poll_fetch_and_delete_pass_the_spec_validating_mock(prism: str) -> None:
    async def run() -> None:
        c = client(prism)
        try:
            await c.send(message())
            await c.send(message(ref_to_message_id="ff325210-0690-42fe-b86f-95ecab821223", confidential=False,
                                 documents=documents_for("message/v1", {"subject": "Svar", "text": "Tack."})))
            listed = await c.list(status=NEW, function="sdk:inkorg:0203:kommun.example:socialtjansten")
            assert listed and all(m.message_id and m.sender.organisation for m in listed)
            one = await c.fetch(listed[0].message_id)
            assert one.message_id and one.recipient.function and isinstance(one.confidential, bool)
            await c.delete(one.message_id)
        finally:
            await c.close()
    asyncio.run(run())


def test_a_request_that_breaks_the_spec_is_refused_and_reported(prism: str) -> None:
    """The mock checks requests: a message without the sender the spec requires is a 4xx with its issue,
    not something the client takes as sent (so the test above proves the client's requests valid)."""
    async def run() -> None:
        c = client(prism)
        try:
            with pytest.raises(SdkApiError) as refused:
                await c._call("POST", "/sdk/messages", {201}, json={"data": {"type": "messages", "attributes": {
                    "label": 5, "confidentiality": "ja"}}})
            assert 400 <= refused.value.status < 500
        finally:
            await c.close()
    asyncio.run(run())


def test_an_unreachable_message_service_is_an_error_with_status_0() -> None:
    async def run() -> None:
        c = RestClient(ClientConfig(base_url=f"http://127.0.0.1:{free_port()}", token="x", timeout_seconds=5))
        try:
            with pytest.raises(SdkApiError) as failed:
                await c.list(status=NEW)
            assert failed.value.status == 0
        finally:
            await c.close()
    asyncio.run(run())


def test_client_credentials_token_is_fetched_once_and_reused() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.raw_path.decode()}")
        if request.url.path == "/token":
            assert b"grant_type=client_credentials" in request.content
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 300})
        assert request.headers["authorization"] == "Bearer tok"
        return httpx.Response(202)

    async def run() -> None:
        c = RestClient(ClientConfig(base_url="http://ms.test/v1", token_url="http://ms.test/token", client_id="samtal",
                                    client_secret="s"), transport=httpx.MockTransport(handler))
        await c.delete("a")
        await c.delete("b/c")
        await c.close()
    asyncio.run(run())
    assert calls == ["POST /token", "DELETE /v1/sdk/messages/a", "DELETE /v1/sdk/messages/b%2Fc"]


def test_the_mended_spec_differs_from_digg_s_only_where_tests_sdk_spec_says() -> None:
    import yaml

    from .sdk_spec import mended, spec_path

    original, fixed = yaml.safe_load(Path(spec_path()).read_text(encoding="utf-8")), mended()
    assert original["paths"].keys() == fixed["paths"].keys()
    attributes = original["components"]["schemas"]["messageDef"]["properties"]["attributes"]
    assert "properties" in attributes and attributes["properties"] is None
    assert "properties" not in fixed["components"]["schemas"]["messageDef"]["properties"]["attributes"]
