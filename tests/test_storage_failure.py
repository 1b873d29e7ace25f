"""Storage that fails (a full disk): sends are answered `storage_unavailable` with `retry: true` (not
internal_error), /readyz says 503, the log says it once per burst (not a traceback per message), the Python
client waits and sends again by itself, and once there is room again everything goes through and nothing
acknowledged is lost. The disk fills for real as far as the server can tell: its file size limit
(RLIMIT_FSIZE, set on the running process with prlimit) makes every write past the limit fail with EFBIG. On PostgreSQL, the database server itself refuses every write
with SQLSTATE 53100 (disk_full), through the real driver."""
from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from crypto.encoding import b64u
from tests import engines
from tests.conftest import ROOT, free_port
from tests.helpers import CASE_DANA
from web.client.session import ClientSession
from web.client.transport import ClientError

from .waiting import eventually_blocking

FULL = 1024  # bytes: every write past this offset fails, as on a full disk


def start_piped(tmp: Path, database: str = "") -> tuple[subprocess.Popen[bytes], str, list[str]]:
    """A demo server whose log goes to a pipe (a log file would hit the same size limit), on the SQLite file in
    its data folder unless a PostgreSQL address is given."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve", "--demo", "--data-dir", str(tmp / "server"), "--port", str(port)],
        cwd=ROOT, env={**os.environ, "SAMTAL_SEND_RATE": "100000", "SAMTAL_SEND_BURST": "100000",
                       "SAMTAL_DATABASE_URL": database},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(line.decode(errors="replace") for line in process.stdout),
                     daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        return False
    try:
        eventually_blocking(healthy, within=120, what="the server's /healthz")
    except (AssertionError, RuntimeError):
        process.kill()
        raise RuntimeError("the server did not start:\n" + "".join(lines)) from None
    return process, url, lines


def set_file_limit(pid: int, limit: int) -> None:
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))


async def fill_and_free(tmp_path: Path, url: str, fill: Callable[[], None], free: Callable[[], None],
                        refused_sends: int) -> set[str]:
    """Sends and an HTTP write while the storage is full (`fill`), then again with room (`free`): what they are
    answered, and the msg_ids acknowledged in all."""
    anna = ClientSession(url, tmp_path / "clients", "anna")
    try:
        await anna.start()
        case = await anna.case(CASE_DANA)
        socket = await anna.transport.open_socket()
        acked = {(await anna.send(socket, case, "before the disk filled"))["msg_id"]}
        sealed = [await anna.seal(case, f"while full {i}") for i in range(refused_sends)]

        fill()
        for _, env in sealed:
            with pytest.raises(ClientError) as refused:
                await socket.request({"t": "send", "env": b64u(env)})
            assert (refused.value.code, refused.value.retry) == ("storage_unavailable", True)
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["code"] == "storage_unavailable"
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # alive all the same
        # An HTTP write: 503 problem+json with Retry-After (the Python client's call() would retry it itself)
        marked = await anna.transport.http.post(f"/api/cases/{CASE_DANA}/handled", json={"handled": True},
                                                headers={"x-samtal-device": anna.device_id})
        assert marked.status_code == 503 and marked.headers["retry-after"] == "5"
        assert marked.headers["content-type"] == "application/problem+json"
        assert marked.json()["code"] == "storage_unavailable"
        waiting = asyncio.create_task(anna.send(socket, case, "sent once there is room"))
        await asyncio.sleep(2)
        assert not waiting.done()  # the client keeps it and tries again, rather than failing it

        free()
        acked.add((await asyncio.wait_for(waiting, 60))["msg_id"])
        for _msg_id, env in sealed:  # what an outbox held goes out now, under the same ids
            acked.add((await socket.request({"t": "send", "env": b64u(env)}))["msg_id"])
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        await socket.close()
    finally:
        await anna.close()
    assert len(acked) == refused_sends + 2
    return acked


def logged_once(lines: list[str]) -> None:
    log = "".join(lines)
    assert log.count("storage failing") == 1, log[-3000:]
    assert log.count("storage recovered") == 1
    assert "Traceback" not in log and "internal_error" not in log


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs prlimit (Linux)")
async def test_full_disk_answers_retryable_logs_once_and_recovers(tmp_path):
    process, url, lines = start_piped(tmp_path)
    try:
        acked = await fill_and_free(tmp_path, url, lambda: set_file_limit(process.pid, FULL),
                                    lambda: set_file_limit(process.pid, resource.RLIM_INFINITY), 30)
    finally:
        process.terminate()
        process.wait(30)
    with contextlib.closing(sqlite3.connect(f"file:{tmp_path / 'server' / 'samtal.sqlite3'}?mode=ro",
                                            uri=True)) as db:
        stored = {m for (m,) in db.execute("SELECT msg_id FROM messages WHERE case_id = ?", (CASE_DANA,))}
    assert acked <= stored
    logged_once(lines)

# -- PostgreSQL ----------------------------------------------------------------------------------------------
# The database server refuses the writes itself, through the real driver: a trigger raises SQLSTATE 53100
# (disk_full), what PostgreSQL answers when it cannot extend a file.
EVERY_TABLE = ("DO $$ DECLARE t text; BEGIN FOR t IN SELECT table_name FROM information_schema.tables"
               " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' LOOP EXECUTE format({}, t);"
               " END LOOP; END $$;")
DISK_FULL = ("CREATE FUNCTION refuse_as_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION"
             " 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;"
             + EVERY_TABLE.format("'CREATE TRIGGER full_disk BEFORE INSERT OR UPDATE OR DELETE ON %I"
                                  " FOR EACH ROW EXECUTE FUNCTION refuse_as_full()'"))
ROOM_AGAIN = EVERY_TABLE.format("'DROP TRIGGER full_disk ON %I'") + "DROP FUNCTION refuse_as_full();"


def run_sql(database: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.encode())  # bytes: several statements in one


async def test_a_full_disk_on_postgresql_answers_retryable_logs_once_and_recovers(tmp_path):
    database = engines.postgres_url()
    process, url, lines = start_piped(tmp_path, database)
    try:
        acked = await fill_and_free(tmp_path, url, lambda: run_sql(database, DISK_FULL),
                                    lambda: run_sql(database, ROOM_AGAIN), 10)
    finally:
        process.terminate()
        process.wait(30)
    with engines.connect(database) as db:
        stored = {m for (m,) in db.execute("SELECT msg_id FROM messages WHERE case_id = ?", (CASE_DANA,)).fetchall()}
    assert acked <= stored
    logged_once(lines)
