"""A sign-in ends everywhere it is used: signing out, signing out everywhere, expiry and revoking the device
close the WebSockets opened with it within a second (close code 1008), and nothing more is read through them;
the old cookie opens no new one. Driven with plain HTTP and WebSocket clients against the real server."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from web.client.session import ClientSession
from web.sessions import COOKIE

from .conftest import server_fixture, start_server, stop_server
from .helpers import CASE_DANA
from .waiting import eventually

# Small socket caps, to reach them with a few sockets.
server = server_fixture(SAMTAL_MAX_SOCKETS_PER_DEVICE="3", SAMTAL_MAX_SOCKETS_PER_ACCOUNT="4")
ENDS_WITHIN = 1.0  # seconds


async def raw_socket(session: ClientSession, cookie: str | None = None) -> websockets.ClientConnection:
    url = session.transport.server.replace("http://", "ws://")
    cookie = cookie or session.transport.http.cookies.get(COOKIE)
    return await websockets.connect(f"{url}/ws?device={session.device_id}",
                                    additional_headers={"Cookie": f"{COOKIE}={cookie}"})


async def closed_with(ws: websockets.ClientConnection, within: float) -> int | None:
    """The close code the server sent within `within` seconds (frames before it are drained)."""
    started = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    assert time.monotonic() - started <= within
    return closed.value.rcvd.code if closed.value.rcvd else None


async def watching(session: ClientSession) -> websockets.ClientConnection:
    ws = await raw_socket(session)
    await ws.send(json.dumps({"t": "resume", "ref": "r", "cursors": {CASE_DANA: 0}}))
    while '"resumed"' not in (answer := await asyncio.wait_for(ws.recv(), 10)):
        assert '"error"' not in answer, answer
    return ws


async def assert_refused(session: ClientSession, cookie: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await raw_socket(session, cookie)
    assert refused.value.response.status_code == 403


async def test_signing_out_closes_the_sessions_websockets_at_once(login: Any) -> None:
    dana = await login("dana")
    cookie = dana.transport.http.cookies.get(COOKIE)
    ws = await watching(dana)
    await dana.transport.call("POST", "/api/logout")
    assert await closed_with(ws, ENDS_WITHIN) == 1008
    await assert_refused(dana, cookie)


async def test_signing_out_everywhere_closes_every_sessions_websockets(login: Any, tmp_path: Path) -> None:
    phone, laptop = await login("dana", tmp_path / "phone"), await login("dana", tmp_path / "laptop")
    sockets = [await watching(phone), await watching(laptop)]
    await phone.transport.call("POST", "/api/logout-everywhere")
    for ws in sockets:
        assert await closed_with(ws, ENDS_WITHIN) == 1008
    await assert_refused(laptop, laptop.transport.http.cookies.get(COOKIE))


async def test_revoking_the_device_closes_its_websockets(login: Any, tmp_path: Path) -> None:
    old, new = await login("dana", tmp_path / "old"), await login("dana", tmp_path / "new")
    ws = await watching(old)
    await new.transport.call("DELETE", f"/api/devices/{old.device_id}")
    assert await closed_with(ws, ENDS_WITHIN) == 1008


async def test_another_persons_sign_out_leaves_my_websocket_open(login: Any) -> None:
    dana, erik = await login("dana"), await login("erik")
    ws = await watching(dana)
    await erik.transport.call("POST", "/api/logout")
    await ws.send('{"t":"ping","ref":"p"}')
    # Other frames may come first (the demo steward's `keys` for a device it just gave keys to): the socket is
    # open when the pong arrives, within a few frames.
    for _ in range(10):
        frame = await asyncio.wait_for(ws.recv(), 5)
        if '"pong"' in frame:
            break
    else:
        raise AssertionError(f"no pong; last frame {frame}")
    await ws.close()


async def test_an_expired_session_closes_its_websocket_when_it_expires(tmp_path: Path) -> None:
    short = start_server(tmp_path, SAMTAL_SESSION_MAX_SECONDS="3")
    try:
        dana = ClientSession(short.url, tmp_path / "clients", "dana")
        await dana.start()
        try:
            ws = await watching(dana)
            started = time.monotonic()
            assert await closed_with(ws, 3 + ENDS_WITHIN) == 1008
            assert time.monotonic() - started >= 1.0  # it was open until the session's end
            response = httpx.get(f"{short.url}/api/me", cookies={COOKIE: dana.transport.http.cookies.get(COOKIE)})
            assert response.status_code == 401
        finally:
            await dana.close()
    finally:
        stop_server(short)


async def test_too_many_websockets_of_one_device_or_one_person_are_refused(login: Any, tmp_path: Path) -> None:
    phone, laptop = await login("erik", tmp_path / "phone"), await login("erik", tmp_path / "laptop")
    opened = [await raw_socket(phone) for _ in range(3)]
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await raw_socket(phone)  # a fourth of one device
        assert refused.value.response.status_code == 403
        opened.append(await raw_socket(laptop))
        with pytest.raises(websockets.InvalidStatus) as refused:
            await raw_socket(laptop)  # a fifth of one person
        assert refused.value.response.status_code == 403
        await opened.pop(0).close()
        # A closed one makes room, once the server has seen the close.
        opened.append(await eventually(lambda: raw_socket(laptop), within=10, retrying=(websockets.InvalidStatus,)))
    finally:
        for ws in opened:
            await ws.close()
