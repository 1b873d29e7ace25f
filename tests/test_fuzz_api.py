"""Schemathesis against the citizen and staff API's own OpenAPI document (GET /api/openapi.json, generated from
the route registry: web/openapi.py), on a real server on loopback with a fixed seed (issue #15 item 2): as a
citizen and as a caseworker, positive and negative cases of every operation; no answer is a 5xx, each status
is one the document lists, each body has the documented media type and shape, and a request that breaks the
document is a 4xx. Sign-out is left out (it would end the session the run uses)."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from web.client.session import ClientSession
from web.sessions import COOKIE

from .conftest import server_fixture
from .fuzzing import CHECKS, fuzz_operations, load_openapi
from .helpers import CASE_DANA

server = server_fixture(SAMTAL_LOGIN_RATE="1000", SAMTAL_UPLOAD_RATE="100000")
EXAMPLES = 2  # positive and negative cases of each of the ~95 operations: about 300 requests a person
ENDS_THE_SESSION = {("POST", "/api/logout"), ("POST", "/api/logout-everywhere"), ("DELETE", "/api/devices/{device_id}")}


def skip(method: str, path: str) -> bool:
    return (method, path) in ENDS_THE_SESSION


@pytest.mark.parametrize("username", ["dana", "anna"])
def test_the_api_answers_as_its_generated_openapi_document_says(server: Any, username: str) -> None:
    signed_in = httpx.post(f"{server.url}/api/demo/login", json={"username": username})
    assert signed_in.status_code == 200
    cookie = signed_in.cookies[COOKIE]
    schema = load_openapi(f"{server.url}/api/openapi.json")

    def call(case: Any, checks: list[Any]) -> Any:
        return case.call_and_validate(cookies={COOKIE: cookie}, checks=checks)

    started = time.monotonic()
    run = fuzz_operations(schema, EXAMPLES, call, skip)
    print(f"api fuzz as {username}: {run.requests} requests ({run.unbreakable} operations with no negative case) in {time.monotonic() - started:.0f} s,"
          f" answers {dict(sorted(run.statuses.items()))}")
    assert run.requests >= 150 and not any(status >= 500 for status in run.statuses)
    assert not run.failures, run.report()


def test_the_openapi_document_lists_every_route_of_the_registry_with_its_action() -> None:
    import re

    from web.app import api_routes
    from web.openapi import OTHER_DOCUMENTS, openapi

    document = openapi(api_routes())
    for route in api_routes():
        if route.path.startswith(OTHER_DOCUMENTS):
            continue
        for method in route.methods:
            operation = document["paths"][re.sub(r":\w+}", "}", route.path)][method.lower()]
            assert operation["x-samtal-action"] == str(route.action)
            for status in (route.status, *route.also):
                assert "content" in operation["responses"][str(status)] or status in (204, 302, 303)
            if route.body is not None:
                assert operation["requestBody"]["content"]["application/json"]["schema"] == route.body
            # What an integrator codes against: every answer with a JSON body says its shape.
            if route.media == "application/json" and route.status not in (204, 302, 303):
                assert route.response is not None, f"{method} {route.path} declares no response shape (response=)"


UNIT = "ekonomiskt-bistand"
# What each person reads with real ids, so that answers with content (not only refusals, as most generated
# requests get) are held to their declared shapes: (path template, path parameters).
READS = {
    "anna": [("/api/cases", {}), ("/api/cases/{case_id}", {"case_id": CASE_DANA}),
             ("/api/cases/{case_id}/messages", {"case_id": CASE_DANA}), ("/api/cases/{case_id}/keys", {"case_id": CASE_DANA}),
             ("/api/cases/{case_id}/history", {"case_id": CASE_DANA}),
             ("/api/cases/{case_id}/bookings", {"case_id": CASE_DANA}), ("/api/keys/pending", {}),
             ("/api/units/{unit_id}/keys", {"unit_id": UNIT}), ("/api/units/{unit_id}/history", {"unit_id": UNIT}),
             ("/api/units/{unit_id}/staff", {"unit_id": UNIT}), ("/api/units/{unit_id}/settings", {"unit_id": UNIT}),
             ("/api/units/{unit_id}/calendar", {"unit_id": UNIT}), ("/api/units/{unit_id}/offices", {"unit_id": UNIT}),
             ("/api/me", {}), ("/api/me/contact", {}), ("/api/me/notifications", {}), ("/api/me/devices/log", {}),
             ("/api/cases/{case_id}/journal", {"case_id": CASE_DANA}), ("/api/applications", {}), ("/api/forms", {}),
             ("/api/units/{unit_id}/identity", {"unit_id": UNIT}), ("/api/log/head", {}),
             ("/api/signin/citizen", {}), ("/demo/eid/.well-known/openid-configuration", {}), ("/demo/eid/jwks", {}),
             ("/api/retention", {}), ("/api/units/{unit_id}/extracts", {"unit_id": UNIT})],
    "cecilia": [("/api/units/{unit_id}/identity/seals", {"unit_id": UNIT}), ("/api/keys/pending", {}),
                ("/api/units/{unit_id}/staff", {"unit_id": UNIT})],
    "greta": [("/api/audit", {}), ("/api/audit/sample", {}), ("/api/audit/people", {}), ("/api/audit/findings", {})],
    "dana": [("/api/cases", {}), ("/api/cases/{case_id}", {"case_id": CASE_DANA}),
             ("/api/cases/{case_id}/keys", {"case_id": CASE_DANA}), ("/api/cases/{case_id}/history", {"case_id": CASE_DANA}),
             ("/api/cases/{case_id}/bookings", {"case_id": CASE_DANA}), ("/api/me", {}),
             ("/api/me/notifications", {}), ("/api/cases/{case_id}/journal", {"case_id": CASE_DANA}),
             ("/api/applications", {}), ("/api/forms", {}), ("/api/me/devices/log", {})],
}


@pytest.mark.parametrize("username", sorted(READS))
def test_answers_with_content_have_their_declared_shapes(server: Any, username: str, tmp_path: Path) -> None:
    async def signed_in() -> tuple[str, str]:
        session = ClientSession(server.url, tmp_path, username)
        await session.start()  # a device of its own, with its keys from the demo key steward
        cookie, device = session.transport.http.cookies.get(COOKIE), session.device_id
        await session.close()
        return cookie, device

    cookie, device = asyncio.run(signed_in())
    schema = load_openapi(f"{server.url}/api/openapi.json")
    for path, parameters in READS[username]:
        operation = schema[path]["GET"]
        case = operation.Case(path_parameters=parameters, headers={"X-Samtal-Device": device})
        answer = case.call_and_validate(cookies={COOKIE: cookie}, checks=CHECKS)
        assert answer.status_code == 200, (path, answer.text)
