"""Bad input over the WebSocket and HTTP: each gets a typed error, stores nothing, and the refusals that
say something about the sender are kept as security events."""
from __future__ import annotations

import asyncio
import json
import os
import time

import httpx
import pytest
import websockets

from crypto.encoding import b64u
from crypto.envelope import Header, parse_envelope, seal_message
from crypto.keys import DeviceKeys
from web.client.transport import ClientError
from web.sessions import COOKIE

from .conftest import server_fixture
from .helpers import CASE_DANA, CASE_ERIK
from .waiting import eventually_blocking

# A tight send rate and a small outbox, to reach those limits quickly.
server = server_fixture(SAMTAL_SEND_RATE="5", SAMTAL_SEND_BURST="5", SAMTAL_OUTBOX_LIMIT="20")


def count(server, sql: str, *params: object) -> int:
    with server.db() as db:
        return int(db.execute(sql, params).fetchone()[0])


def security_events(server, kind: str) -> int:
    return count(server, "SELECT count(*) FROM security_events WHERE kind = ?", kind)


async def expect_error(socket, frame: dict, code: str) -> None:
    try:
        await socket.request(frame)
    except ClientError as error:
        assert error.code == code, error
        return
    raise AssertionError(f"{frame.get('t')} was accepted; expected {code}")


async def raw_socket(session, **kwargs):
    url = session.transport.server.replace("http://", "ws://")
    cookie = session.transport.http.cookies.get(COOKIE)
    ws = await websockets.connect(f"{url}/ws?device={session.device_id}",
                                  additional_headers={"Cookie": f"{COOKIE}={cookie}"}, **kwargs)
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["t"] == "hello"  # every connection's first frame
    return ws


async def test_malformed_and_unknown_frames_get_typed_errors_and_the_connection_stays_usable(login):
    dana = await login("dana")
    ws = await raw_socket(dana)
    try:
        cases = [("{not json", "malformed_frame"), ("[1, 2]", "malformed_frame"),
                 (json.dumps({"t": "fly", "ref": "a"}), "unknown_frame"),
                 (json.dumps({"t": "send", "ref": "b"}), "invalid_field"),
                 (json.dumps({"t": "send", "env": 5}), "invalid_field"),
                 (json.dumps({"t": "send", "env": "a=="}), "invalid_field"),
                 (json.dumps({"t": "ping", "extra": 1}), "invalid_field"),
                 (json.dumps({"t": "resume", "cursors": {CASE_DANA: -1}}), "invalid_field"),
                 (json.dumps({"t": "receipt", "case_id": CASE_DANA, "read_seq": True}), "invalid_field")]
        for text, code in cases:
            await ws.send(text)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert (answer["t"], answer["code"]) == ("error", code), text
        await ws.send(b"\x00binary")
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["code"] == "malformed_frame"
        await ws.send(json.dumps({"t": "ping", "ref": "still-here"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"t": "pong", "ref": "still-here"}
    finally:
        await ws.close()


async def test_oversize_frame_closes_the_connection_with_1009(login):
    dana = await login("dana")
    ws = await raw_socket(dana, max_size=None)
    try:
        await ws.send(json.dumps({"t": "send", "env": "A" * (200 * 1024)}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        await ws.close()


async def test_websocket_without_a_session_is_refused_before_it_is_accepted(server):
    before = security_events(server, "ws_no_session")
    url = server.url.replace("http://", "ws://")
    for headers in ({}, {"Cookie": f"{COOKIE}=forged-session-id"}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{url}/ws?device=AAAAAAAAAAAAAAAAAAAAAA", additional_headers=headers)
        assert refused.value.response.status_code == 403
    assert security_events(server, "ws_no_session") == before + 2


async def test_websocket_from_another_origin_is_refused(login, server):
    dana = await login("dana")
    before = security_events(server, "ws_bad_origin")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await raw_socket(dana, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    assert security_events(server, "ws_bad_origin") == before + 1
    ok = await raw_socket(dana, origin=server.url)  # the server's own origin is fine
    await ok.close()


async def test_websocket_for_a_device_of_another_user_is_refused(login, server, client_dir):
    dana, erik = await login("dana"), await login("erik")
    url = server.url.replace("http://", "ws://")
    cookie = erik.transport.http.cookies.get(COOKIE)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{url}/ws?device={dana.device_id}", additional_headers={"Cookie": f"{COOKIE}={cookie}"})
    assert refused.value.response.status_code == 403


async def _sealed(session, case: dict, text: str, **changes) -> bytes:
    """An envelope properly sealed and signed by `session`'s device, with header fields changed."""
    msg_id, env = await session.seal(case, text)
    if not changes:
        return env
    header = parse_envelope(env).header
    _, key = await session.case_key(case)
    fields = {"case_id": header.case_id, "msg_id": msg_id, "sender_device": header.sender_device,
              "epoch": header.epoch, "sent_at_ms": header.sent_at_ms, **changes}
    return seal_message(key, Header(**fields), {"type": "text", "text": text}, session.device.keys)


async def test_bad_signature_is_refused_stored_nowhere_and_recorded(login, server):
    dana = await login("dana")
    env = bytearray(await _sealed(dana, await dana.case(CASE_DANA), "förfalskad"))
    env[-1] ^= 0x01  # break the signature
    before_messages = count(server, "SELECT count(*) FROM messages")
    before_events = security_events(server, "bad_signature")
    socket = await dana.transport.open_socket()
    try:
        await expect_error(socket, {"t": "send", "env": b64u(bytes(env))}, "bad_signature")
    finally:
        await socket.close()
    assert count(server, "SELECT count(*) FROM messages") == before_messages
    assert security_events(server, "bad_signature") == before_events + 1


async def test_stale_key_epoch_is_refused_and_recorded(login, server):
    dana = await login("dana")
    case = await dana.case(CASE_DANA)
    env = await _sealed(dana, case, "gammal nyckel", epoch=case["key_epoch"] + 1)
    before = security_events(server, "stale_epoch")
    socket = await dana.transport.open_socket()
    try:
        await expect_error(socket, {"t": "send", "env": b64u(env)}, "stale_epoch")
    finally:
        await socket.close()
    assert security_events(server, "stale_epoch") == before + 1


async def test_unknown_case_and_case_without_access_are_refused_and_recorded(login, server):
    dana = await login("dana")
    case = await dana.case(CASE_DANA)
    unknown = await _sealed(dana, case, "till ingen", case_id="eb-1999-9999")
    other = await _sealed(dana, case, "till eriks ärende", case_id=CASE_ERIK)
    before_unknown, before_forbidden = security_events(server, "unknown_case"), security_events(server, "forbidden")
    before_messages = count(server, "SELECT count(*) FROM messages")
    socket = await dana.transport.open_socket()
    try:
        await expect_error(socket, {"t": "send", "env": b64u(unknown)}, "unknown_case")
        # Another person's case answers as a case that does not exist; the security events tell them apart.
        await expect_error(socket, {"t": "send", "env": b64u(other)}, "unknown_case")
        await expect_error(socket, {"t": "watch", "case_id": CASE_ERIK}, "unknown_case")
    finally:
        await socket.close()
    assert security_events(server, "unknown_case") == before_unknown + 1
    assert security_events(server, "forbidden") == before_forbidden + 2
    assert count(server, "SELECT count(*) FROM messages") == before_messages


async def test_envelope_naming_another_device_is_refused(login):
    dana = await login("dana")
    case = await dana.case(CASE_DANA)
    stranger = DeviceKeys.generate()
    _, key = await dana.case_key(case)
    env = seal_message(key, Header(CASE_DANA, "A" * 21 + "A", stranger.public.device_id, case["key_epoch"],
                                   int(time.time() * 1000)), {"type": "text", "text": "x"}, stranger)
    socket = await dana.transport.open_socket()
    try:
        await expect_error(socket, {"t": "send", "env": b64u(env)}, "device_not_owned")
        await expect_error(socket, {"t": "send", "env": b64u(b"\x01garbage")}, "malformed_envelope")
    finally:
        await socket.close()


async def test_sending_faster_than_the_rate_limit_is_refused_with_rate_limited(login):
    erik = await login("erik")
    case = await erik.case(CASE_ERIK)
    sealed = [await erik.seal(case, f"snabbt {i}") for i in range(12)]
    socket = await erik.transport.open_socket()
    outcomes = []
    try:
        for _, env in sealed:
            try:
                await socket.request({"t": "send", "env": b64u(env)})
                outcomes.append("ok")
            except ClientError as error:
                outcomes.append(error.code)
    finally:
        await socket.close()
    assert outcomes[:5] == ["ok"] * 5  # the burst
    assert "rate_limited" in outcomes[5:]


def test_http_errors_are_problem_json(server):
    with httpx.Client(base_url=server.url) as http:
        unauth = http.get("/api/cases")
        assert unauth.status_code == 401 and unauth.headers["content-type"] == "application/problem+json"
        assert unauth.json()["code"] == "not_signed_in"
        missing = http.get("/api/nothing-here")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        bad_json = http.post("/api/demo/login", content=b"{", headers={"content-type": "application/json"})
        assert (bad_json.status_code, bad_json.json()["code"]) == (400, "malformed_body")
        form = http.post("/api/demo/login", data={"username": "dana"})
        assert (form.status_code, form.json()["code"]) == (400, "unsupported_media_type")
        nobody = http.post("/api/demo/login", json={"username": "mallory"})
        assert (nobody.status_code, nobody.json()["code"]) == (404, "unknown_user")
        assert http.post("/api/demo/login", json={"username": "dana"}).status_code == 200
        for after in ("-1", "x"):
            bad = http.get(f"/api/cases/{CASE_DANA}/messages", params={"after": after})
            assert (bad.status_code, bad.json()["code"]) == (400, "invalid_field")
        cross = http.post("/api/logout", headers={"origin": "https://evil.example"})
        assert (cross.status_code, cross.json()["code"]) == (403, "bad_origin")
        assert http.get("/api/me").status_code == 200  # the refused logout did nothing
        device = http.post("/api/devices", json={"sign_pub": b64u(bytes(32)), "kem_pub": b64u(bytes(32)),
                                                 "label": "x", "proof": b64u(bytes(64))})
        assert (device.status_code, device.json()["code"]) == (400, "invalid_field")


def test_logout_ends_the_session(server):
    with httpx.Client(base_url=server.url) as http:
        http.post("/api/demo/login", json={"username": "dana"})
        assert http.get("/api/me").status_code == 200
        stolen = http.cookies.get(COOKIE)
        assert http.post("/api/logout").status_code == 200
    with httpx.Client(base_url=server.url, cookies={COOKIE: stolen}) as replay:
        assert replay.get("/api/me").status_code == 401


def test_responses_carry_security_headers_and_session_cookie_flags(server):
    with httpx.Client(base_url=server.url) as http:
        response = http.post("/api/demo/login", json={"username": "dana"})
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
            assert name in response.headers
        assert response.headers["referrer-policy"] == "no-referrer"


def test_demo_login_does_not_exist_outside_demo_mode(tmp_path):
    import subprocess
    import sys

    from .conftest import ROOT, free_port
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--data-dir", str(tmp_path),
                                "--port", str(port)], cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        def answered() -> httpx.Response:
            if process.poll() is not None:
                raise RuntimeError("the server exited")
            return httpx.post(f"http://127.0.0.1:{port}/api/demo/login", json={"username": "dana"})
        response = eventually_blocking(answered, retrying=(httpx.HTTPError,))
        assert response.status_code == 404
    finally:
        process.terminate()
        process.wait(10)
