"""Moving a unit's data from SQLite to PostgreSQL (`samtal db copy`, docs/operations.md "Database") and running
the server on it: what was said before the move is there after it, new messages continue the seqs, the audit
chain verifies on the target, and a target that has data is refused."""
from __future__ import annotations

import json

from .conftest import start_server, stop_server
from .engines import postgres_url
from .helpers import CASE_DANA
from .test_cli import client, lines, samtal


def test_a_unit_moves_to_postgresql_and_the_server_runs_on_it(tmp_path):
    target = postgres_url()
    (tmp_path / "before").mkdir()
    server = start_server(tmp_path / "before", SAMTAL_DATABASE_URL="")
    try:
        [first] = lines(client(server, tmp_path / "clients", "dana", "send", CASE_DANA, "Före flytten."))
        [second] = lines(client(server, tmp_path / "clients", "anna", "send", CASE_DANA, "Tack."))
    finally:
        stop_server(server)

    copied = samtal("db", "copy", "--from", str(server.data_dir), "--to", target)
    assert copied.returncode == 0, copied.stderr
    report = json.loads(copied.stdout)
    assert report["copied"]["messages"] >= 2 and report["audit"]["intact"] and report["audit"]["rows"] > 0
    again = samtal("db", "copy", "--from", str(server.data_dir), "--to", target)
    assert again.returncode == 2 and json.loads(again.stderr)["error"] == "target_not_empty"

    # The same data folder (key files, the steward's device) with the database now in PostgreSQL.
    moved = start_server(tmp_path / "before", SAMTAL_DATABASE_URL=target)
    try:
        read = lines(client(moved, tmp_path / "clients", "dana", "read", CASE_DANA))
        texts = [m.get("text") for m in read]
        assert "Före flytten." in texts and "Tack." in texts
        [third] = lines(client(moved, tmp_path / "clients", "dana", "send", CASE_DANA, "Efter flytten."))
        assert third["seq"] == second["seq"] + 1 == first["seq"] + 2
    finally:
        stop_server(moved)


def test_db_copy_refuses_a_missing_source_and_an_address_that_is_not_postgresql(tmp_path):
    missing = samtal("db", "copy", "--from", str(tmp_path / "nothing"), "--to", "postgresql://127.0.0.1:1/x")
    assert missing.returncode == 2 and json.loads(missing.stderr)["error"] == "no_database"
    wrong = samtal("db", "copy", "--from", str(tmp_path), "--to", str(tmp_path / "other.sqlite3"))
    assert wrong.returncode == 2 and json.loads(wrong.stderr)["error"] == "invalid"


def test_db_migrate_brings_an_empty_postgresql_database_to_the_schema(tmp_path):
    target = postgres_url()
    done = samtal("db", "migrate", "--database", target)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["migrated"].startswith("postgresql://")
    assert samtal("db", "migrate", "--database", target).returncode == 0  # again: nothing to do
