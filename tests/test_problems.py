"""Validation errors as one problem+json (issue #15 item 6): every wrong field of a body or query at once, each by
its JSON Pointer (RFC 9457 §3 `errors`), and a `type` that is the address of a page explaining the code, in
Swedish and English. The API in process (no socket adds anything here)."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat.errors import InvalidInput
from web.app import create_app
from web.config import Settings
from web.httpapi import Body
from web.sessions import COOKIE

from .helpers import CASE_DANA

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Any]:
    app = create_app(Settings(data_dir=tmp_path / "server", demo=True))
    async with app.router.lifespan_context(app):
        def client(username: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

        yield client


async def sign_in(client: httpx.AsyncClient, username: str) -> httpx.AsyncClient:
    answer = await client.post("/api/demo/login", json={"username": username})
    assert answer.status_code == 200
    client.headers["cookie"] = f"{COOKIE}={answer.cookies[COOKIE]}"  # the jar keeps none for a dotless host
    return client


def pointers(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "invalid_field" and problem["type"] == "/problems/invalid_field"
    return {error.get("pointer", "?" + error.get("parameter", "")): error["detail"] for error in problem["errors"]}


async def test_every_wrong_field_of_a_body_is_named_at_once_by_its_pointer(api: Any) -> None:
    dana = await sign_in(api("dana"), "dana")
    answer = await dana.post("/api/devices", json={"sign_pub": 1, "label": "x" * 300, "proof": "not base64!"})
    found = pointers(answer)
    assert set(found) == {"/sign_pub", "/kem_pub", "/label", "/proof"}
    assert found["/kem_pub"] == "is required" and found["/sign_pub"] == "must be string"


async def test_a_wrong_field_deep_in_a_list_is_named_by_its_place(api: Any) -> None:
    anna = await sign_in(api("anna"), "anna")
    wrap = {"recipient": "x", "enc": "A" * 43, "ct": "", "signature": "A"}
    answer = await anna.post(f"/api/cases/{CASE_DANA}/wraps", json={"epoch": 0, "wraps": [wrap, {**wrap, "enc": 7}]},
                             headers={"x-samtal-device": "A" * 22})
    assert set(pointers(answer)) == {"/epoch", "/wraps/0/signature", "/wraps/1/enc", "/wraps/1/signature"}


async def test_every_wrong_query_parameter_is_named_at_once(api: Any) -> None:
    dana = await sign_in(api("dana"), "dana")
    answer = await dana.get(f"/api/cases/{CASE_DANA}/messages", params={"after": "x", "limit": "0"})
    assert set(pointers(answer)) == {"?after", "?limit"}


def test_a_field_a_handler_reads_itself_is_named_by_its_pointer_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        Body({"grants": [{"recipient": "a"}, {"recipient": 5}]}).list("grants")[1].str("recipient")
    assert [tuple(e) for e in refused.value.errors] == [("/grants/1/recipient", "must be str")]


def codes_in_source() -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for folder in ("web", "chat") for p in (ROOT / folder).rglob("*.py"))
    return (set(re.findall(r'code="([a-z_]+)"', text)) | set(re.findall(r'(?:error_frame|FrameError)\("([a-z_]+)"', text))
            | set(re.findall(r'ExchangeError\(\s*\d+, "([a-z_]+)"', text)) | set(re.findall(r'problem\(\d+, "([a-z_]+)"', text)))


def test_every_code_the_server_answers_with_has_a_page() -> None:
    from web.problem_types import PROBLEM_TYPES

    assert codes_in_source() - set(PROBLEM_TYPES) == set()


async def test_a_problems_type_is_a_page_in_swedish_and_in_english(api: Any) -> None:
    anyone = api("anyone")
    answer = await anyone.post("/api/demo/login", json={})
    page = await anyone.get(answer.json()["type"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="sv"' in page.text and "Ett eller flera fält saknas" in page.text
    english = await anyone.get("/problems/invalid_field", headers={"cookie": "lang=en"})
    assert '<html lang="en"' in english.text and "One or more fields are missing" in english.text
    assert (await anyone.get("/problems/no_such_code")).status_code == 404
