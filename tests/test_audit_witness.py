"""Audit heads published outside the database (#19 item 5): the server signs its audit log's head into the
witness folder at intervals and at shutdown, and `samtal audit verify` checks the log against every head there,
so that the attacks a chain alone lets through are caught: rows cut from the end, and a row edited with every
later hash recomputed. The database is changed as its owner could, on a copy of a stopped server's file."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chat.audit.chain import AuditEvent, chain_hash
from chat.audit.witness import HEADS_FILE, Witness
from crypto.keys import DeviceKeys

from . import engines
from .conftest import ROOT, start_server, stop_server
from .waiting import eventually_blocking

# The attacks are made on a copy of the SQLite file, as its owner could; the witness itself is engine-neutral.
pytestmark = pytest.mark.skipif(engines.ON_POSTGRES, reason="about the SQLite file (edited as its owner could)")


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(database, witness folder) of a server that ran with a witness and was stopped."""
    tmp = tmp_path_factory.mktemp("witness")
    witness = tmp / "witness"
    server = start_server(tmp, SAMTAL_AUDIT_WITNESS_DIR=str(witness), SAMTAL_AUDIT_WITNESS_SECONDS="1")
    try:
        with httpx.Client(base_url=server.url) as browser:
            browser.post("/api/demo/login", json={"username": "anna"})
            for _ in range(3):
                browser.get("/api/cases")
        assert wait_for_heads(witness), "no head was published while the server ran"
    finally:
        stop_server(server)
    yield server.database_files[0], witness


def wait_for_heads(witness: Path, seconds: float = 30) -> bool:
    return eventually_blocking(lambda: (witness / HEADS_FILE).exists() and bool(Witness(witness).heads()),
                               within=seconds, what="the witness's signed heads")


def copy_of(database: Path, folder: Path) -> Path:
    folder.mkdir()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as src, sqlite3.connect(folder / database.name) as dst:
        src.backup(dst)
    return folder


def verify(data_dir: Path, *extra: str) -> tuple[int, dict]:
    result = subprocess.run([sys.executable, "-m", "web.cli", "audit", "verify", "--data-dir", str(data_dir), *extra],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    return result.returncode, json.loads(result.stdout or result.stderr)


def unguarded(path: Path) -> sqlite3.Connection:
    """The database with its append-only triggers dropped, as whoever owns the file can."""
    db = sqlite3.connect(path)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"):
        db.execute(f"DROP TRIGGER {name}")
    return db


def test_the_stopped_server_published_its_last_head_and_the_log_agrees(stopped, tmp_path):
    database, witness = stopped
    newest = Witness(witness).newest()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT max(id) FROM audit_log").fetchone()[0] == newest.id  # published at shutdown
    code, report = verify(copy_of(database, tmp_path / "copy"), "--witness-dir", str(witness))
    assert code == 0 and report["intact"] and report["witness"] == {"heads": report["witness"]["heads"],
                                                                    "newest_id": newest.id}


def test_rows_cut_from_the_end_are_caught_by_default(stopped, tmp_path, monkeypatch):
    database, witness = stopped
    folder = copy_of(database, tmp_path / "copy")
    with unguarded(folder / database.name) as db:
        db.execute("DELETE FROM audit_log WHERE id > (SELECT max(id) - 3 FROM audit_log)")
    code, report = verify(folder, "--witness-dir", "")
    assert code == 0 and report["witness"] is None  # the chain alone cannot tell
    monkeypatch.setenv("SAMTAL_AUDIT_WITNESS_DIR", str(witness))  # how the operator runs it: the default
    code, report = verify(folder)
    assert code == 1 and not report["intact"] and "missing" in report["reason"]


def test_a_row_edited_and_the_chain_recomputed_is_caught(stopped, tmp_path):
    database, witness = stopped
    folder = copy_of(database, tmp_path / "copy")
    with unguarded(folder / database.name) as db:
        rows = db.execute("SELECT id, at, action, outcome, actor, role, unit_id, case_id, reason, detail, prev_hash"
                          " FROM audit_log ORDER BY id").fetchall()
        prev = bytes(rows[0][10])
        for row_id, at, action, outcome, actor, role, unit, case, reason, detail, _ in rows:
            if row_id == 2:
                actor = "bo"  # someone else did it
            event = AuditEvent(action, outcome, actor, role, unit, case, reason, json.loads(detail), at)
            digest = chain_hash(prev, row_id, event)
            db.execute("UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE id = ?", (actor, prev, digest, row_id))
            prev = digest
    code, report = verify(folder, "--witness-dir", "")
    assert code == 0  # a recomputed chain is consistent in itself
    code, report = verify(folder, "--witness-dir", str(witness))
    assert code == 1 and "rewritten" in report["reason"]


def test_a_head_signed_by_another_key_makes_the_witness_unreadable(stopped, tmp_path):
    database, witness = stopped
    forged = tmp_path / "witness"
    shutil.copytree(witness, forged)
    head = Witness(forged).newest()
    Witness(forged, DeviceKeys.generate().sign_seed).publish(head.id + 100, head.hash, head.at)
    code, report = verify(copy_of(database, tmp_path / "copy"), "--witness-dir", str(forged))
    assert code == 2 and report["error"] == "witness_unreadable"
