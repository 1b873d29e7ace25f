"""Schemathesis against the agency exchange's OpenAPI document (/exchange/v1/openapi.json), on a real server on
loopback, with a fixed seed (issue #15 item 2), as a registered agency (a fresh signed token on every
request): whatever a generated request holds, the answer is never a 5xx, its status is one the document
lists, its body has the documented media type and shape, and a request that breaks the document is a 4xx."""
from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from web.cli.main import main as samtal
from web.client.exchange import AgencyClient

from .conftest import server_fixture
from .fuzzing import fuzz_operations, load_openapi

server = server_fixture()
EXAMPLES = 12  # positive and negative cases of each of the 7 operations: about 150 requests


@pytest.fixture(scope="module")
def polisen(server: Any, tmp_path_factory: pytest.TempPathFactory) -> AgencyClient:
    keys_dir = tmp_path_factory.mktemp("exchange-keys")
    assert samtal(["exchange", "demo-keys", "--data-dir", str(server.data_dir), "--keys-dir", str(keys_dir)]) == 0
    return AgencyClient(server.url, keys_dir / "polisen.json")


def test_the_exchange_answers_as_its_openapi_document_says(server: Any, polisen: AgencyClient) -> None:
    schema = load_openapi(f"{server.url}/exchange/v1/openapi.json")

    def call(case: Any, checks: list[Any]) -> Any:
        return case.call_and_validate(headers={"Authorization": f"Bearer {polisen.token()}"}, checks=checks)

    started = time.monotonic()
    run = fuzz_operations(schema, EXAMPLES, call)
    print(f"exchange fuzz: {run.requests} requests in {time.monotonic() - started:.0f} s,"
          f" answers {dict(sorted(run.statuses.items()))}")
    assert run.requests >= 80 and not any(status >= 500 for status in run.statuses)
    assert not run.failures, run.report()


def test_a_method_the_exchange_does_not_take_is_405_with_allow(server: Any) -> None:
    answer = httpx.put(f"{server.url}/exchange/v1/messages")
    assert answer.status_code == 405 and answer.headers["content-type"] == "application/problem+json"
    assert set(answer.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
