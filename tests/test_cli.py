"""The `samtal` command as a user runs it: real processes against a real demo server."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pytest

from web.cli.main import build_parser

from . import engines
from .conftest import ROOT
from .helpers import CASE_DANA


def samtal(*args: str, timeout: float = 60, database: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command, on the database of the environment (the last server's) or on `database` ("": the SQLite
    file in --data-dir)."""
    env = None if database is None else {**os.environ, "SAMTAL_DATABASE_URL": database}
    return subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def client(server, data_dir, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    return samtal("client", "--server", server.url, "--data-dir", str(data_dir), "--as", user, *args)


def lines(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def subcommand_paths() -> list[list[str]]:
    """Every command and subcommand the parser knows, so a new one cannot slip in without --help."""
    paths: list[list[str]] = [[]]
    pending = [([], build_parser())]
    while pending:
        prefix, parser = pending.pop()
        for action in parser._actions:  # argparse keeps subparsers here
            if action.__class__.__name__ == "_SubParsersAction":
                for name, sub in action.choices.items():
                    paths.append(prefix + [name])
                    pending.append((prefix + [name], sub))
    return paths


@pytest.mark.parametrize("path", subcommand_paths(), ids=lambda p: " ".join(p) or "samtal")
def test_every_subcommand_has_help(path):
    result = samtal(*path, "--help", timeout=30)
    assert result.returncode == 0 and "usage: samtal" in result.stdout and "--help" in result.stdout


def test_cli_exchange_between_citizen_and_caseworkers(server, tmp_path):
    cases = lines(client(server, tmp_path, "dana", "cases"))
    assert [c["id"] for c in cases] == [CASE_DANA]
    assert {"id", "title", "unit", "citizen", "assigned_to"} <= cases[0].keys()
    assert (cases[0]["citizen"], cases[0]["assigned_to"]) == ("dana", "anna")

    [sent] = lines(client(server, tmp_path, "dana", "send", CASE_DANA, "Hej! Jag skickar lönebeskedet i morgon."))
    assert sent["seq"] >= 1 and len(sent["msg_id"]) == 22
    [reply] = lines(client(server, tmp_path, "anna", "send", CASE_DANA, "Tack, då tittar jag på det."))
    assert reply["seq"] == sent["seq"] + 1

    read = lines(client(server, tmp_path, "bo", "read", CASE_DANA, "--after", str(sent["seq"] - 1)))
    assert [(m["seq"], m["sender"], m["text"]) for m in read] == [
        (sent["seq"], "dana", "Hej! Jag skickar lönebeskedet i morgon."),
        (reply["seq"], "anna", "Tack, då tittar jag på det.")]
    assert read[0]["msg_id"] == sent["msg_id"] and read[0]["sent_at"].endswith("Z")


def test_cli_refusal_exits_1_with_a_json_error(server, tmp_path):
    result = client(server, tmp_path, "erik", "read", CASE_DANA)
    assert result.returncode == 1 and result.stdout == ""
    assert json.loads(result.stderr)["error"] == "unknown_case"  # not his: as if it did not exist


def test_cli_unreachable_server_exits_3(tmp_path):
    from .conftest import free_port
    result = samtal("client", "--server", f"http://127.0.0.1:{free_port()}", "--data-dir", str(tmp_path),
                    "--as", "dana", "cases")
    assert result.returncode == 3 and json.loads(result.stderr)["error"] == "unreachable"


def test_cli_bad_usage_exits_2():
    assert samtal("client", "--server", "x").returncode == 2
    assert samtal("serve", "--port", "not-a-number").returncode == 2


def test_client_key_file_is_private_to_its_owner(server, tmp_path):
    lines(client(server, tmp_path, "erik", "cases"))
    key_file = tmp_path / "erik" / "device.json"
    assert key_file.stat().st_mode & 0o077 == 0
    assert "sign_seed" in key_file.read_text()  # the private key lives here, on the client


def test_server_data_holds_no_private_key_material(server, tmp_path):
    """The server's database has only public keys: every stored key is 32 bytes and each is a device's
    public key as registered (the demo steward's private keys live in its own client folder)."""
    lines(client(server, tmp_path, "dana", "cases"))
    dana_keys = json.loads((tmp_path / "dana" / "device.json").read_text())["keys"]
    blob = server.stored_bytes()
    from crypto.encoding import unb64u
    for private in (unb64u(dana_keys["sign_seed"]), unb64u(dana_keys["kem_priv"])):
        assert private not in blob
    with server.db() as db:
        tables = {r[0] for r in db.execute(engines.TABLES[engines.engine_of(server.database)]).fetchall()}
    assert not any("priv" in t or "secret" in t for t in tables)


def test_unit_add_and_list_set_up_units_outside_the_demo(tmp_path):
    folder = str(tmp_path / "data")
    empty = engines.postgres_url() if engines.ON_POSTGRES else ""  # a database of its own, on the run's engine
    run = functools.partial(samtal, database=empty)
    refused = run("unit", "add", "familjeratt", "--name", "Familjerätt", "--municipality", "storstad",
                  "--data-dir", folder)
    assert refused.returncode == 2 and json.loads(refused.stderr)["error"] == "unknown_municipality"
    added = run("unit", "add", "familjeratt", "--name", "Familjerätt", "--municipality", "storstad",
                "--municipality-name", "Storstads kommun", "--data-dir", folder)
    assert added.returncode == 0, added.stderr
    again = run("unit", "add", "familjeratt", "--name", "X", "--municipality", "storstad", "--data-dir", folder)
    assert again.returncode == 2 and json.loads(again.stderr)["error"] == "unit_exists"
    bad = run("unit", "add", "Familje Rätt", "--name", "X", "--municipality", "storstad", "--data-dir", folder)
    assert bad.returncode == 2 and json.loads(bad.stderr)["error"] == "invalid_id"
    listed = json.loads(run("unit", "list", "--data-dir", folder).stdout)
    assert listed == {"units": [{"unit": "familjeratt", "name": "Familjerätt", "municipality": "storstad",
                                 "municipality_name": "Storstads kommun"}]}


def test_unit_add_while_the_server_runs_keeps_the_audit_chain_whole(server, tmp_path):
    # The command appends its audit row from another process; the server's next rows must chain onto it.
    folder = str(server.data_dir)
    assert samtal("unit", "add", "hemtjanst", "--name", "Hemtjänst", "--municipality", "demo-kommun",
                  "--data-dir", folder).returncode == 0
    assert client(server, tmp_path, "dana", "send", CASE_DANA, "efter enhetsbytet").returncode == 0
    verdict = json.loads(samtal("audit", "verify", "--data-dir", folder).stdout)
    assert verdict["intact"], verdict
    with server.db() as db:
        actions = [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert "admin.unit.add" in actions and actions.index("admin.unit.add") < len(actions) - 1
