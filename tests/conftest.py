"""Shared fixtures: a real Samtal server (`samtal serve --demo`) in a subprocess on a loopback port, with
its demo key steward, and real clients that make and keep their own keys."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from web.client.session import ClientSession

from . import engines
from .waiting import eventually_blocking

ROOT = Path(__file__).resolve().parent.parent
# A server starts in about a second; on a loaded 2-core machine (a test run beside others) it has taken more
# than 30, and a setup error then hides what the module tests.
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    database: Path | str  # the SQLite file, or the PostgreSQL address (tests/engines.py)

    @property
    def database_files(self) -> list[Path]:
        """The SQLite database and its WAL and shared-memory files (none on PostgreSQL)."""
        return sorted(self.data_dir.glob("samtal.sqlite3*"))

    def db(self):  # type: ignore[no-untyped-def]
        """A connection to the server's database, on either engine, used as sqlite3's."""
        return engines.connect(self.database)

    def stored_bytes(self) -> bytes:
        """Everything the server's database holds (to look for what must never be stored)."""
        return engines.stored_bytes(self.database)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


_schemas: dict[Path, str] = {}  # a server's data folder -> its PostgreSQL schema, kept across restarts


def start_server(tmp: Path, port: int | None = None, **env: str) -> RunningServer:
    """A demo server on `port` (a free one by default; the same one again to restart a stopped server, so that
    browsers keep what they stored for its origin). With SAMTAL_TEST_DATABASE set,
    on a PostgreSQL schema of its own, the same one again for the same `tmp`."""
    data_dir = tmp / "server"
    if "SAMTAL_DATABASE_URL" not in env:
        if engines.ON_POSTGRES and tmp not in _schemas:
            _schemas[tmp] = engines.postgres_url()
        env["SAMTAL_DATABASE_URL"] = _schemas.get(tmp, "")
    # The commands a test runs (`samtal ...`, in this process or a child) work on this server's database, as
    # an operator's would with the same environment.
    os.environ["SAMTAL_DATABASE_URL"] = env["SAMTAL_DATABASE_URL"]
    port = port or free_port()
    log_path = tmp / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve", "--demo", "--data-dir", str(data_dir), "--port", str(port)],
        # No demo agencies unless a test asks (SAMTAL_DEMO_EXCHANGE=1): tests that use the exchange register their own.
        cwd=ROOT, env={**os.environ, "SAMTAL_DEMO_EXCHANGE": "0", **env}, stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
    try:
        eventually_blocking(healthy, within=STARTUP_SECONDS, what="the server's /healthz")
    except (AssertionError, RuntimeError):
        process.kill()
        raise RuntimeError("the server did not start:\n" + log_path.read_text(errors="replace")) from None
    return RunningServer(url, data_dir, process, log_path,
                         env["SAMTAL_DATABASE_URL"] or data_dir / "samtal.sqlite3")


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(5)


def server_fixture(**env: str):  # type: ignore[no-untyped-def]
    """A module-scoped `server` fixture: one demo server per test module, configured by SAMTAL_* env."""
    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
        running = start_server(tmp_path_factory.mktemp("samtal"), **env)
        yield running
        stop_server(running)
    return server


# Rate limits high enough for the ordering tests; modules that test limits define their own.
server = server_fixture(SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")


@pytest.fixture
def client_dir(tmp_path: Path) -> Path:
    return tmp_path / "clients"


@pytest.fixture
async def login(server: RunningServer, client_dir: Path) -> AsyncIterator:
    """login("dana") -> a started ClientSession with its own device keys (closed after the test)."""
    sessions: list[ClientSession] = []

    async def make(username: str, data_dir: Path | None = None) -> ClientSession:
        session = ClientSession(server.url, data_dir or client_dir, username)
        await session.start()
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()
