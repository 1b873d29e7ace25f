"""Authorization through the real machinery (web/guard.py): every case and unit route of the running server,
asked by every demo person about their own case, someone else's and one that does not exist, answers as
chat.policy.decide says; unknown and foreign case ids answer alike, over HTTP and the WebSocket."""
from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from chat import demo
from chat.model import Case, User
from chat.policy import Action, decide
from web.app import api_routes
from web.client.transport import ClientError
from web.httpapi import PUBLIC

from .conftest import server_fixture

server = server_fixture()

PEOPLE = {user.id: user for user in demo.USERS}
CASE_IDS = ("eb-2026-0001", "eb-2026-0002")  # Dana's and Erik's, both assigned to Anna
MADE_UP = "eb-2026-9999"
UNITS = (demo.UNIT.id, "no-such-unit")
# What a path's other parameters are filled with: things that do not exist, so that no allowed request
# changes anything (the bodies are refused too: they are not JSON).
FILL = {"booking_id": "999999", "blob_id": "A" * 22, "slot_id": "999999", "office_id": "999999",
        "substitution_id": "999999", "mandate_id": "999999", "request_id": "999999", "user_id": "nobody",
        "msg_id": "nothing", "application_id": "A" * 22}


def sign_in(server: Any, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    assert client.post("/api/demo/login", json={"username": username}).status_code == 200
    return client


@pytest.fixture(scope="module")
def clients(server: Any) -> dict[str, httpx.Client]:
    made = {name: sign_in(server, name) for name in PEOPLE}
    yield made
    for client in made.values():
        client.close()


@pytest.fixture(scope="module")
def cases(clients: dict[str, httpx.Client]) -> dict[str, Case]:
    found = {}
    for case_id in CASE_IDS:
        view = clients["cecilia"].get(f"/api/cases/{case_id}").json()["case"]
        found[case_id] = Case(view["id"], view["unit"], view["citizen"], view["assigned_to"], view["title"],
                              view["status"], view["created_at"])
    return found


def fill(path: str, **given: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return given.get(name) or FILL[name]
    return re.sub(r"{(\w+)(?::\w+)?}", one, path)


def ask(client: httpx.Client, method: str, path: str) -> httpx.Response:
    return client.request(method, path, content=b"x", headers={"content-type": "text/plain"})


GUARDED = [r for r in api_routes() if r.action != PUBLIC]  # public ones (the key log) need no sign-in
CASE_ROUTES = [(m, r.path, r.action) for r in GUARDED for m in r.methods if "{case_id}" in r.path]
UNIT_ROUTES = [(m, r.path, r.action) for r in GUARDED for m in r.methods if "{unit_id}" in r.path]


def test_the_enumeration_covers_the_case_and_unit_routes() -> None:
    assert len(CASE_ROUTES) >= 20 and len(UNIT_ROUTES) >= 20


@pytest.mark.parametrize(("method", "path", "action"), CASE_ROUTES, ids=lambda v: str(v))
def test_case_routes_answer_as_the_policy_decides(clients: dict[str, httpx.Client], cases: dict[str, Case],
                                                  method: str, path: str, action: Action) -> None:
    for name, user in PEOPLE.items():
        client = clients[name]
        unknown = ask(client, method, fill(path, case_id=MADE_UP))
        assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_case", (name, unknown.text)
        for case_id, case in cases.items():
            answer = ask(client, method, fill(path, case_id=case_id))
            body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
            if not decide(user, Action.CASE_READ, case=case):
                # Someone else's case answers exactly as one that does not exist.
                assert (answer.status_code, body) == (404, unknown.json()), (name, case_id)
            elif not _allowed(user, action, case):
                assert (answer.status_code, body.get("code")) == (403, "forbidden"), (name, case_id, answer.text)
            else:
                assert answer.status_code not in (401, 403), (name, case_id, answer.text)
                assert body.get("code") != "unknown_case", (name, case_id)


def _allowed(user: User, action: Action, case: Case) -> bool:
    # Substitutes are none in the demo; a call with a booking that does not exist has no booked caseworker.
    return bool(decide(user, action, case=case, unit_id=case.unit_id))


@pytest.mark.parametrize(("method", "path", "action"), UNIT_ROUTES, ids=lambda v: str(v))
def test_unit_routes_answer_as_the_policy_decides(clients: dict[str, httpx.Client], method: str, path: str,
                                                  action: Action) -> None:
    for name, user in PEOPLE.items():
        for unit_id in UNITS:
            answer = ask(clients[name], method, fill(path, unit_id=unit_id))
            if decide(user, action, unit_id=unit_id):
                assert answer.status_code not in (401, 403), (name, unit_id, answer.text)
            else:
                assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), (name, unit_id)


def test_a_unit_route_without_a_unit_in_its_path_acts_on_the_staff_members_own_unit(
        clients: dict[str, httpx.Client]) -> None:
    assert clients["greta"].get("/api/audit").status_code == 200  # the log reviewer's own unit
    assert clients["anna"].get("/api/audit").status_code == 403
    assert clients["dana"].get("/api/keys/pending").status_code == 403  # a citizen has no unit


def test_a_foreign_case_is_audited_as_such_though_it_answers_as_unknown(clients: dict[str, httpx.Client]) -> None:
    assert clients["erik"].get("/api/cases/eb-2026-0001/messages").status_code == 404
    rows = clients["greta"].get("/api/audit", params={"case": "eb-2026-0001"}).json()["rows"]
    assert any(r["actor"] == "erik" and r["outcome"] == "denied" and r["reason"] == "forbidden" for r in rows), rows


async def test_frames_answer_unknown_and_foreign_cases_alike(login: Any) -> None:
    erik = await login("erik")
    socket = await erik.transport.open_socket()
    try:
        answers = {}
        for kind in ("watch", "unwatch", "receipt"):
            for case_id in ("eb-2026-0001", MADE_UP):
                frame: dict[str, Any] = {"t": kind, "case_id": case_id}
                if kind == "receipt":
                    frame["read_seq"] = 0
                with pytest.raises(ClientError) as refused:
                    await socket.request(frame)
                answers[kind, case_id] = (refused.value.code, refused.value.message)
            assert answers[kind, "eb-2026-0001"] == answers[kind, MADE_UP] == ("unknown_case", "no such case")
        with pytest.raises(ClientError) as refused:
            await socket.request({"t": "resume", "cursors": {"eb-2026-0001": 0}})
        assert refused.value.code == "unknown_case"
        assert (await socket.request({"t": "watch", "case_id": "eb-2026-0002"}))["t"] == "ok"  # his own
    finally:
        await socket.close()


async def test_only_who_answers_the_case_marks_it_handled(clients: dict[str, httpx.Client]) -> None:
    # Bo is a caseworker of the unit; Dana's case is assigned to Anna. He may read it, not answer it.
    headers = {"content-type": "application/json"}
    assert clients["bo"].get("/api/cases/eb-2026-0001").status_code == 200
    refused = clients["bo"].post("/api/cases/eb-2026-0001/handled", json={"handled": True}, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert clients["anna"].post("/api/cases/eb-2026-0001/handled", json={"handled": False}).status_code == 200
