"""Backup under load, restore, and the database generation that tells clients a restored database from the
one they knew (docs/operations.md, Backup and restore; docs/protocol.md §14.3). Real server processes."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crypto.encoding import b64u
from tests import conftest, engines
from tests.conftest import ROOT, start_server, stop_server
from tests.helpers import CASE_DANA
from web.client.follow import Follower
from web.client.session import ClientSession
from web.keyfiles import KEEP_BESIDE_DATABASE

from .waiting import eventually

OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def patient_start(monkeypatch):
    monkeypatch.setattr(conftest, "STARTUP_SECONDS", 120)


async def samtal(*args: str, timeout: float = 120) -> tuple[int, dict]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "web.cli", *args, cwd=ROOT,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    text = (out or err).decode().strip().splitlines()
    return process.returncode, json.loads(text[-1]) if text else {}


async def send_many(session: ClientSession, count: int, label: str) -> list[dict]:
    """Send `count` messages to Dana's case; their acks."""
    case = await session.case(CASE_DANA)
    socket = await session.transport.open_socket()
    try:
        return [await session.send(socket, case, f"{label} {i}") for i in range(count)]
    finally:
        await socket.close()


# `samtal backup` and `samtal restore` copy the SQLite file; PostgreSQL has pg_dump and pg_restore.
sqlite_only = pytest.mark.skipif(engines.ON_POSTGRES, reason="samtal backup/restore are SQLite's; on PostgreSQL"
                                 " they refuse (test below) and pg_dump does it")


@sqlite_only
async def test_backup_finishes_while_messages_are_written(tmp_path):
    server = start_server(tmp_path, SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")
    anna = ClientSession(server.url, tmp_path / "clients", "anna")
    try:
        await anna.start()
        case = await anna.case(CASE_DANA)
        socket = await anna.transport.open_socket()
        acked: list[float] = []
        writing = True

        async def write() -> None:  # as fast as the server commits, for as long as the backup runs
            i = 0
            while writing:
                _, env = await anna.seal(case, f"load {i}")
                await socket.request({"t": "send", "env": b64u(env)})
                acked.append(time.monotonic())
                i += 1

        writer = asyncio.create_task(write())
        await eventually(lambda: len(acked) >= 50, what="the load")  # the load is on
        before, started = len(acked), time.monotonic()
        code, report = await samtal("backup", "--data-dir", str(server.data_dir), "--to", str(tmp_path / "b.db"))
        finished = time.monotonic()
        during = sum(1 for at in acked if started <= at <= finished)
        writing = False
        await writer
        await socket.close()
        assert code == 0, report
        assert report["messages"] >= before  # every message acknowledged before the backup began is in it
        assert during > 0  # the server kept committing while the backup ran
        assert report["generation"] and report["schema"] >= 18
        assert str(server.data_dir / "exchange-endpoint-key.json") in report["also_keep"]
    finally:
        await anna.close()
        stop_server(server)


@sqlite_only
async def test_restore_gives_a_new_generation_and_clients_resynchronise(tmp_path):
    """After a restore a case's seq numbers are handed out again. A client that resumed from its old cursor
    used to get none of the new messages (`resumed` at its old seq); now it sees the new generation in
    `hello`, drops its cursors and fetches the case afresh, and gets every new message."""
    server = start_server(tmp_path)
    port = int(server.url.rsplit(":", 1)[1])
    anna = ClientSession(server.url, tmp_path / "clients", "anna")
    dana = ClientSession(server.url, tmp_path / "clients", "dana")
    try:
        await anna.start()
        await dana.start()
        follower = Follower(dana)
        await follower.follow(CASE_DANA)
        socket, _ = await follower.connect()
        generation = follower.generation
        await send_many(anna, 5, "before backup")
        code, backed_up = await samtal("backup", "--data-dir", str(server.data_dir), "--to",
                                       str(tmp_path / "old.db"))
        assert code == 0, backed_up
        last = (await send_many(anna, 15, "after backup"))[-1]["seq"]
        while follower.cursors[CASE_DANA] < last:  # dana holds them all, live
            await follower.received(await _next_msg(socket))
        await socket.close()
        held = follower.cursors[CASE_DANA]

        code, refused = await samtal("restore", "--data-dir", str(server.data_dir), "--from",
                                     str(tmp_path / "old.db"))
        assert code == 4 and refused["error"] == "data_folder_in_use"  # not while the server runs
        stop_server(server)
        code, restored = await samtal("restore", "--data-dir", str(server.data_dir), "--from",
                                      str(tmp_path / "old.db"))
        assert code == 0, restored
        assert restored["generation"] not in (None, generation, backed_up["generation"])
        assert restored["messages"] == backed_up["messages"]
        assert Path(restored["replaced"]).exists()  # the database it replaced is kept aside

        server = start_server(tmp_path, port=port)
        new_ids = [ack["msg_id"] for ack in await send_many(anna, 20, "after restore")]
        socket, missed = await follower.connect()
        await socket.close()
        assert follower.generation == restored["generation"] and follower.resynced == 1
        assert set(new_ids) <= {m.msg_id for m in missed}, f"cursor was {held}; got {len(missed)} messages"
    finally:
        await anna.close()
        await dana.close()
        stop_server(server)


async def _next_msg(socket) -> dict:
    while True:
        frame = await asyncio.wait_for(socket.pushed.get(), 30)
        if frame.get("t") == "msg":
            return frame


async def test_resume_with_another_generation_is_refused(login):
    dana = await login("dana")
    socket = await dana.transport.open_socket()
    try:
        hello = await _first(socket, "hello")
        with pytest.raises(Exception) as refused:
            await socket.request({"t": "resume", "cursors": {CASE_DANA: 3}, "generation": "0" * 32})
        assert "generation_changed" in str(refused.value)
        answer = await socket.request({"t": "resume", "cursors": {CASE_DANA: 0}, "generation": hello["generation"]})
        assert answer["generation"] == hello["generation"]
        history = await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/messages", params={"after": 0})
        assert history["generation"] == hello["generation"]
        assert (await dana.transport.call("GET", "/api/cases"))["generation"] == hello["generation"]
    finally:
        await socket.close()


async def _first(socket, kind: str) -> dict:
    while (frame := await asyncio.wait_for(socket.pushed.get(), 10)).get("t") != kind:
        pass
    return frame


def test_every_key_file_of_the_data_folder_is_named_for_backup():
    """Each file the server makes in the data folder (web/keyfiles.server_secret, the exchange endpoint key)
    is in web/keyfiles.KEEP_BESIDE_DATABASE and in the backup docs."""
    made = set()
    for path in [*(ROOT / "web").rglob("*.py"), *(ROOT / "chat").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        made |= set(re.findall(r'^[A-Z_]*KEY_FILE = "([^"]+)"', text, re.M))
        made |= set(re.findall(r'data_dir\) / "([^"]+)"', text))
    assert made and made - {"samtal.sqlite3"} <= set(KEEP_BESIDE_DATABASE)
    section = OPERATIONS.split("## Backup and restore", 1)[1].split("\n## ", 1)[0]
    for name in KEEP_BESIDE_DATABASE:
        assert f"`{name}" in section


async def test_on_postgresql_backup_and_restore_say_to_use_its_own_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("SAMTAL_DATABASE_URL", "postgresql://db.example/samtal")
    for command in (("backup", "--to", str(tmp_path / "b.db")), ("restore", "--from", __file__)):
        code, refused = await samtal(*command, "--data-dir", str(tmp_path / "data"))
        assert code == 2 and refused["error"] == "postgresql" and "pg_dump" in refused["message"]
