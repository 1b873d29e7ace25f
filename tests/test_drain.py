"""SIGTERM drains one node: a burst of sends in flight when the signal arrives; every acknowledged message is
stored, every stored message of the burst was acknowledged, the socket is closed with 1012, and the process
exits promptly. /readyz says 503 while draining. Real server process, real client."""
from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import httpx
import pytest

from crypto.encoding import b64u
from tests import conftest
from tests.conftest import start_server, stop_server
from tests.helpers import CASE_DANA
from web.client.session import ClientSession
from web.client.transport import ClientError

from .waiting import eventually

BURST = 300


@pytest.fixture(autouse=True)
def patient_start(monkeypatch):
    monkeypatch.setattr(conftest, "STARTUP_SECONDS", 120)


async def test_sigterm_acks_every_stored_message_and_closes_with_1012(tmp_path):
    server = start_server(tmp_path, SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")
    anna = ClientSession(server.url, tmp_path / "clients", "anna")
    try:
        await anna.start()
        assert httpx.get(f"{server.url}/readyz", timeout=10).json()["ready"] is True
        case = await anna.case(CASE_DANA)
        sealed = [await anna.seal(case, f"burst {i}") for i in range(BURST)]
        socket = await anna.transport.open_socket()
        acked: set[str] = set()

        async def send(msg_id: str, env: bytes) -> None:
            with contextlib.suppress(ClientError, asyncio.TimeoutError):
                ack = await socket.request({"t": "send", "env": b64u(env)}, timeout=30)
                assert ack["msg_id"] == msg_id
                acked.add(msg_id)

        sends = [asyncio.create_task(send(msg_id, env)) for msg_id, env in sealed]
        await eventually(lambda: len(acked) >= 20, what="the burst")  # the burst is under way
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.gather(*sends)
        code = await asyncio.to_thread(server.process.wait, 30)
        exit_seconds = time.monotonic() - signalled
        await socket.close()
        assert code in (0, -signal.SIGTERM)  # uvicorn ends by the signal it handled
        assert socket.ws.close_code == 1012  # "service restart": reconnect and resume
        with server.db() as db:
            stored = {m for (m,) in db.execute("SELECT msg_id FROM messages WHERE case_id = ?",
                                               (CASE_DANA,)).fetchall()}
        burst = {msg_id for msg_id, _ in sealed}
        print(f"burst {BURST}: acked {len(acked)}, stored {len(stored & burst)}, exit {exit_seconds:.2f} s")
        assert acked <= stored  # nothing acknowledged is lost
        assert stored & burst == acked  # and nothing stored went without its ack
        assert exit_seconds < 5, f"the server took {exit_seconds:.1f} s to exit"
    finally:
        await anna.close()
        stop_server(server)
