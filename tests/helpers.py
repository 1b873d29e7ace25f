"""Small helpers for tests that talk to a real server."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from web.client.transport import ClientError, Socket

CASE_DANA = "eb-2026-0001"
CASE_ERIK = "eb-2026-0002"


async def next_frame(socket: Socket, kind: str, timeout: float = 10.0, case_id: str | None = None) -> dict[str, Any]:
    """The next pushed frame of type `kind` (of `case_id`, if given), skipping others (key notices, frames
    of other cases that a previous test may still have in flight)."""
    async def wait() -> dict[str, Any]:
        while True:
            frame = await socket.pushed.get()
            if frame.get("t") == kind and (case_id is None or frame.get("case_id") == case_id):
                return frame
            if frame.get("t") == "closed":
                raise ConnectionError("the server closed the connection")
    return await asyncio.wait_for(wait(), timeout)


async def frames_of(socket: Socket, kind: str, count: int, timeout: float = 30.0,
                    case_id: str | None = None) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [await next_frame(socket, kind, timeout, case_id) for _ in range(count)]
    return await asyncio.wait_for(collect(), timeout)


def add_other_unit_caseworker(server: Any) -> None:
    """Olle Ström, a caseworker of another unit (Familjerätt), in a running demo server's database."""
    with server.db() as db:
        db.execute("INSERT INTO units (id, municipality_id, name) VALUES ('familjeratt', 'demo-kommun', 'Familjerätt')"
                   " ON CONFLICT DO NOTHING")
        db.execute("INSERT INTO users (id, username, display_name, role, unit_id, created_at) VALUES"
                   " ('olle', 'olle', 'Olle Ström', 'caseworker', 'familjeratt', 0) ON CONFLICT DO NOTHING")


class Mailbox:
    """An aiosmtpd handler that keeps what a local SMTP server receives, for tests of e-mail."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


def local_mailbox(port: int) -> Iterator[Mailbox]:
    """A local SMTP server on a loopback port for as long as the generator runs; yields what it receives.
    Test modules wrap it in their own fixture: `yield from local_mailbox(SMTP_PORT)`."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# Node's `jose` (panva), an independent JOSE implementation for the exchange's interoperability tests, in a
# git-ignored prefix of its own (`npm --no-save` prunes what it was not asked for from a shared prefix).
NPM_JOSE_PREFIX = Path(__file__).resolve().parent.parent / ".cache" / "npm" / "exchange"
EXCHANGE_SCRIPTS = Path(__file__).resolve().parent / "exchange"


def node_jose(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run tests/exchange/<script> with Node and `jose` (installed when missing, skipped when impossible)."""
    import pytest

    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (NPM_JOSE_PREFIX / "node_modules" / "jose").exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(NPM_JOSE_PREFIX),
                        "jose@5"], check=False, stdout=subprocess.DEVNULL)
    if not (NPM_JOSE_PREFIX / "node_modules" / "jose").exists():
        pytest.skip("the jose npm package is not installed (python3 dev.py test installs it)")
    return subprocess.run(["node", str(EXCHANGE_SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=60, env={"NPM_PREFIX": str(NPM_JOSE_PREFIX), "PATH": "/usr/bin:/bin"})


async def refusal_of_a_send(session: Any, case_id: str, text: str) -> str:
    """The code the server refuses `session`'s message in the case with (AssertionError if it is stored)."""
    socket = await session.transport.open_socket()
    try:
        await session.send(socket, await session.case(case_id), text)
    except ClientError as error:
        return error.code
    finally:
        await socket.close()
    raise AssertionError("the message was stored")
