"""The audit log: every read and write of case data and every refusal is recorded, chained by hashes, and
`samtal audit verify` finds the first row that was changed, removed or reordered."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from chat.audit.chain import GENESIS, AuditEvent, AuditRow, chain_hash, verify
from web.client.transport import ClientError

from .conftest import ROOT
from .engines import ON_POSTGRES
from .helpers import CASE_DANA


def chain(n: int) -> list[AuditRow]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        event = AuditEvent("case.read", "allowed", actor="anna", case_id=CASE_DANA, at=1000 + i)
        digest = chain_hash(prev, i, event)
        rows.append(AuditRow(i, event, prev, digest))
        prev = digest
    return rows


def test_an_intact_chain_verifies():
    verdict = verify(chain(5))
    assert verdict.intact and verdict.rows == 5 and verdict.head_hash == chain(5)[-1].hash


@pytest.mark.parametrize("tamper, broken", [
    (lambda rows: rows.__setitem__(2, AuditRow(3, AuditEvent("case.read", "allowed", actor="bo", case_id=CASE_DANA,
                                                             at=1003), rows[2].prev_hash, rows[2].hash)), 3),
    (lambda rows: rows.pop(1), 2),  # a row removed from the middle
    (lambda rows: rows.__setitem__(slice(1, 3), [rows[2], rows[1]]), 2),  # two rows swapped
])
def test_a_changed_removed_or_reordered_row_is_found(tamper, broken):
    rows = chain(5)
    tamper(rows)
    verdict = verify(rows)
    assert not verdict.intact and verdict.first_broken_id == broken


def test_rows_cut_from_the_end_are_found_against_a_checkpoint():
    rows = chain(5)
    assert verify(rows[:3]).intact  # a chain alone cannot tell it was longer
    verdict = verify(rows[:3], expect_head=(5, rows[4].hash))
    assert not verdict.intact and verdict.first_broken_id == 4


def audit_verify(data_dir) -> tuple[int, dict]:
    result = subprocess.run([sys.executable, "-m", "web.cli", "audit", "verify", "--data-dir", str(data_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    return result.returncode, json.loads(result.stdout or result.stderr)


async def test_reads_writes_and_refusals_are_audited_without_content(login, server, tmp_path):
    dana, anna, erik = await login("dana"), await login("anna"), await login("erik")
    socket = await dana.transport.open_socket()
    try:
        ack = await dana.send(socket, await dana.case(CASE_DANA), "hemligt innehåll i granskningstest")
    finally:
        await socket.close()
    await anna.history(await anna.case(CASE_DANA))
    with pytest.raises(ClientError):
        await erik.case(CASE_DANA)
    with server.db() as db:
        rows = db.execute("SELECT action, outcome, actor, case_id, reason, detail FROM audit_log").fetchall()
        dump = b"".join(str(r).encode() for r in rows)
    assert ("message.send", "allowed", "dana", CASE_DANA) in {r[:4] for r in rows}
    send = next(r for r in rows if r[0] == "message.send" and json.loads(r[5]).get("msg_id") == ack["msg_id"])
    assert json.loads(send[5])["seq"] == ack["seq"]  # committed with the message itself
    assert ("case.read", "allowed", "anna", CASE_DANA) in {r[:4] for r in rows}
    assert ("case.read", "denied", "erik", CASE_DANA, "forbidden") in {r[:5] for r in rows}
    assert b"hemligt" not in dump


@pytest.mark.skipif(ON_POSTGRES, reason="works on a copy of the SQLite file")
async def test_audit_verify_exits_0_when_intact_and_1_naming_a_changed_row(login, server, tmp_path):
    anna = await login("anna")
    await anna.cases()
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in server.database_files:  # a consistent copy through SQLite's backup, as an operator would
        if f.name == "samtal.sqlite3":
            with sqlite3.connect(f"file:{f}?mode=ro", uri=True) as src, sqlite3.connect(copy / f.name) as dst:
                src.backup(dst)
    code, report = audit_verify(copy)
    assert code == 0 and report["intact"] and report["rows"] >= 3
    with sqlite3.connect(copy / "samtal.sqlite3") as db:
        with pytest.raises(sqlite3.DatabaseError):  # the triggers refuse changes ...
            db.execute("UPDATE audit_log SET actor = 'bo' WHERE id = 2")
        db.execute("DROP TRIGGER audit_log_no_update")  # ... but whoever owns the file can drop them
        db.execute("UPDATE audit_log SET actor = 'bo' WHERE id = 2")
    code, report = audit_verify(copy)
    assert code == 1 and report["first_broken_row"] == 2 and not report["intact"]


def test_audit_verify_without_a_database_exits_2(tmp_path, monkeypatch):
    monkeypatch.delenv("SAMTAL_DATABASE_URL", raising=False)
    code, report = audit_verify(tmp_path)
    assert code == 2 and report["error"] == "no_database"


def backup(server, folder):
    folder.mkdir()
    with sqlite3.connect(f"file:{server.database_files[0]}?mode=ro", uri=True) as src, \
            sqlite3.connect(folder / "samtal.sqlite3") as dst:
        src.backup(dst)
    return folder / "samtal.sqlite3"


@pytest.mark.skipif(ON_POSTGRES, reason="works on a copy of the SQLite file")
async def test_pruning_old_rows_keeps_the_rest_of_the_chain_verifiable(login, server, tmp_path):
    from chat.storage.engines import prune_audit
    anna = await login("anna")
    await anna.cases()
    path = backup(server, tmp_path / "copy")
    with sqlite3.connect(path) as db:
        total = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        middle = db.execute("SELECT at FROM audit_log ORDER BY id LIMIT 1 OFFSET ?", (total // 2,)).fetchone()[0]
    removed = prune_audit(path, middle)
    assert 0 < removed < total
    code, report = audit_verify(path.parent)
    assert code == 0 and report["intact"] and report["rows"] == total - removed and report["head_id"] == total
    with sqlite3.connect(path) as db:  # the first kept row must chain from the anchor
        db.execute("UPDATE audit_anchor SET last_pruned_hash = zeroblob(32)")
    code, report = audit_verify(path.parent)
    assert code == 1 and report["first_broken_row"] == removed + 1
    assert prune_audit(path, 0) == 0  # nothing is older than the epoch


def test_audit_prune_command_refuses_a_period_under_a_day(tmp_path, server):
    result = subprocess.run([sys.executable, "-m", "web.cli", "audit", "prune", "--data-dir",
                             str(server.data_dir), "--days", "0"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and json.loads(result.stderr)["error"] == "invalid"
