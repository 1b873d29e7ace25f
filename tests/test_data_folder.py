"""`samtal serve` claims its data folder: a second server on the same folder, and a database migrated by a
newer Samtal, are refused at start with a clear message and their own exit code. Real server processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import ROOT, free_port, start_server, stop_server
from web.cli.preflight import EXIT_DATABASE_TOO_NEW, EXIT_FOLDER_IN_USE


@pytest.fixture(autouse=True)
def patient_start(monkeypatch):
    """These tests start several servers each; on a loaded machine one start can take longer than usual."""
    monkeypatch.setattr(conftest, "STARTUP_SECONDS", 120)


def serve(data_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`samtal serve` on `data_dir`, expected to refuse (and so to exit by itself)."""
    return subprocess.run([sys.executable, "-m", "web.cli", "serve", "--data-dir", str(data_dir), "--port",
                           str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SAMTAL_DEMO_STEWARD": "0"})


def test_second_server_on_the_same_data_folder_is_refused(tmp_path):
    first = start_server(tmp_path)
    try:
        second = serve(first.data_dir)
        assert second.returncode == EXIT_FOLDER_IN_USE, second.stderr
        error = json.loads(second.stderr.strip().splitlines()[-1])
        assert error["error"] == "data_folder_in_use"
        assert f"process {first.process.pid}" in error["message"]
        assert "Samtal is running" not in second.stdout
    finally:
        stop_server(first)


def test_kill_9_releases_the_data_folder(tmp_path):
    first = start_server(tmp_path)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    again = start_server(tmp_path)  # the same folder (tmp/server): the kernel dropped the dead holder's lock
    try:
        assert again.data_dir == first.data_dir
    finally:
        stop_server(again)


def test_database_with_newer_migrations_is_refused(tmp_path):
    server = start_server(tmp_path)
    stop_server(server)
    with server.db() as db:
        db.execute("INSERT INTO schema_migrations VALUES (9999, 0)")
        db.commit()
    def snapshot() -> bytes:  # the SQLite file itself (its -shm may change on opening), or every row
        return server.stored_bytes() if isinstance(server.database, str) else server.database.read_bytes()

    before = snapshot()
    refused = serve(server.data_dir)
    assert refused.returncode == EXIT_DATABASE_TOO_NEW, refused.stderr
    error = json.loads(refused.stderr.strip().splitlines()[-1])
    assert error["error"] == "database_too_new"
    assert "9999" in error["message"] and "newer Samtal" in error["message"]
    assert snapshot() == before  # nothing was run on it
