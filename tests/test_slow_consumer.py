"""A client that stops reading is cut off once its outbox is full, and loses nothing by it."""
from __future__ import annotations

import asyncio
import socket as sockets
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from crypto.encoding import b64u
from web.sessions import COOKIE

from .conftest import server_fixture
from .helpers import CASE_ERIK

server = server_fixture(SAMTAL_OUTBOX_LIMIT="20", SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")


async def connections(server) -> int:
    async with httpx.AsyncClient() as http:
        return int((await http.get(f"{server.url}/healthz")).json()["connections"])


async def stalled_socket(server, session):
    """A WebSocket whose reader stops after one frame, over a TCP socket with a tiny receive buffer."""
    parts = urlsplit(server.url)
    raw = sockets.socket()
    raw.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
    raw.connect((parts.hostname, parts.port))
    raw.setblocking(False)
    cookie = session.transport.http.cookies.get(COOKIE)
    return await websockets.connect(f"ws://{parts.netloc}/ws?device={session.device_id}", sock=raw, max_queue=1,
                                    additional_headers={"Cookie": f"{COOKIE}={cookie}"})


async def test_client_too_far_behind_is_disconnected_and_resumes_without_loss(login, server):
    erik, anna = await login("erik"), await login("anna")
    case = await erik.case(CASE_ERIK)
    start = case["last_seq"]
    slow = await stalled_socket(server, anna)
    await slow.send('{"t": "ping"}')
    await asyncio.wait_for(slow.recv(), 5)  # hello, every connection's first frame
    await asyncio.wait_for(slow.recv(), 5)  # pong: the server has registered this connection; now it stalls
    sender = await erik.transport.open_socket()
    await sender.request({"t": "ping"})
    # The count may still include a connection being registered; the cut shows as a drop below the peak.
    peak = await connections(server)
    padding = "x" * 45_000  # big frames fill the TCP buffers quickly
    sent = 0
    try:
        for i in range(600):  # bounded; the cut comes long before
            _, env = await erik.seal(case, f"{i} {padding}")
            await sender.request({"t": "send", "env": b64u(env)})
            sent += 1
            if i % 10 == 9:
                now = await connections(server)
                if now < peak:
                    break
                peak = max(peak, now)
    finally:
        await sender.close()
    assert await connections(server) < peak, "the stalled connection was never cut"
    # The stalled client finds its connection closed once it reads again: with 1013 if it read within the
    # server's grace period, otherwise without a close frame. Either way it reconnects and resumes.
    with pytest.raises(websockets.ConnectionClosed) as closed:
        for _ in range(sent + 1):
            await asyncio.wait_for(slow.recv(), 10)
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1013
    assert sent < 600
    resumed = await anna.transport.open_socket()
    try:
        cursor, replayed = start, 0
        for _ in range(sent):  # bounded: pages of at most half the outbox (10 here)
            answer = await resumed.request({"t": "resume", "cursors": {CASE_ERIK: cursor}})
            replayed += answer["cursors"][CASE_ERIK] - cursor
            cursor = answer["cursors"][CASE_ERIK]
            if not answer["more"]:
                break
        assert (cursor, replayed) == (start + sent, sent)
    finally:
        await resumed.close()
