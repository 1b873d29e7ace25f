"""The key transparency log (docs/protocol.md §19) through a running server: `samtal keys monitor` follows
it and prints every change; the citizen's devices are listed as the log shows them; and a log the operator
rewrote (on the stopped server's database) is caught by a client that compares heads, and by the monitor."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crypto.encoding import unb64u
from crypto.merkle import TreeHead, leaf_hash, verify_inclusion
from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import ROOT, start_server, stop_server
from .waiting import eventually

UNIT = "ekonomiskt-bistand"


def monitor(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "web.cli", "keys", "monitor", "--server", url, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


async def started(url: str, folder: Path, username: str) -> ClientSession:
    client = ClientSession(url, folder, username)
    await client.start()
    return client


async def with_identity(client: ClientSession) -> None:
    async def made() -> bool:  # the demo steward makes the identity as the server starts
        trust = await client.unit_trust(UNIT, refresh=True)
        return trust is not None and bool(trust.epochs)
    await eventually(made, within=20, what="the unit identity")


@pytest.fixture
def running(tmp_path: Path):
    state = {"server": start_server(tmp_path)}
    yield state
    stop_server(state["server"])


async def test_the_monitor_follows_the_log_and_prints_every_change(running, tmp_path):
    server = running["server"]
    dana = await started(server.url, tmp_path / "c", "dana")
    try:
        await with_identity(dana)
        state = tmp_path / "monitor.json"
        first = monitor(server.url, "--state", str(state))
        assert first.returncode == 0, first.stderr
        records = [json.loads(line) for line in first.stdout.splitlines()]
        assert {"kind": "device", "user_id": dana.user["id"], "device_id": dana.device_id}.items() <= next(
            r for r in records if r.get("device_id") == dana.device_id and r["kind"] == "device").items()
        kinds = {r.get("cert") for r in records if r.get("kind") == "unit-cert"}
        assert {"identity", "device", "epoch"} <= kinds
        summary = next(r for r in records if "certified_devices" in r)
        assert summary["unit_id"] == UNIT and summary["certified_epochs"] == [1]
        # Nothing new: only the summary. A new phone for dana: exactly that record, for her.
        assert [json.loads(x) for x in monitor(server.url, "--state", str(state)).stdout.splitlines()
                if "kind" in json.loads(x)] == []
        phone = await started(server.url, tmp_path / "phone", "dana")
        out = monitor(server.url, "--state", str(state), "--user", dana.user["id"])
        assert out.returncode == 0, out.stderr
        changes = [json.loads(x) for x in out.stdout.splitlines() if "kind" in json.loads(x)]
        assert [(c["kind"], c["device_id"]) for c in changes] == [("device", phone.device_id)]
        await phone.close()
        # The person's own devices, as the log shows them, each with a proof the client checks.
        mine = await dana.transport.call("GET", "/api/me/devices/log")
        head = TreeHead.from_json(mine["head"])
        assert head.verifies(unb64u(mine["log_key"]))
        for entry in mine["entries"]:
            assert verify_inclusion(leaf_hash(unb64u(entry["leaf"])), entry["log_index"], head.size,
                                    [unb64u(p) for p in entry["inclusion"]], head.root)
        assert len(mine["entries"]) == 2
    finally:
        await dana.close()


async def test_a_forked_log_is_detected_by_comparing_heads(running, tmp_path):
    """The operator rewrites dana's device record in the log (as if to hide that it swapped her key) and
    restarts: dana's client, which kept the head it saw, refuses the new one; a newcomer who sees only the
    rewritten log is caught once its head is compared with dana's; the monitor's kept head catches it too."""
    server = running["server"]
    dana = await started(server.url, tmp_path / "c", "dana")
    await with_identity(dana)
    state = tmp_path / "monitor.json"
    assert monitor(server.url, "--state", str(state)).returncode == 0
    seen = TreeHead.from_json(dana.trust_file.data["head"])
    await dana.close()
    stop_server(server)
    with server.db() as db:  # as the database's owner can, on either engine
        db.execute("DROP TRIGGER key_log_no_update" + (" ON key_log" if isinstance(server.database, str) else ""))
        leaf = bytes(db.execute("SELECT leaf FROM key_log WHERE ref = ?", (f"device:{dana.device_id}",)).fetchone()[0])
        db.execute("UPDATE key_log SET leaf = ? WHERE ref = ?", (leaf[:-1] + bytes([leaf[-1] ^ 1]),
                                                                 f"device:{dana.device_id}"))
        db.commit()
    server = running["server"] = start_server(tmp_path)
    dana = await started(server.url, tmp_path / "c", "dana")
    newcomer = await started(server.url, tmp_path / "new", "erik")
    try:
        with pytest.raises(ClientError) as caught:
            await dana.unit_trust(UNIT, refresh=True)
        assert caught.value.code == "log_fork"
        await newcomer.unit_trust(UNIT, refresh=True)  # alone, the rewritten log looks fine
        theirs = TreeHead.from_json(newcomer.trust_file.data["head"])
        assert theirs.root != seen.root
        with pytest.raises(ClientError) as compared:
            await newcomer.log.check_consistent(seen, theirs)
        assert compared.value.code == "log_fork"
        out = monitor(server.url, "--state", str(state))
        assert out.returncode == 1 and json.loads(out.stderr)["error"] == "log_fork"
    finally:
        await dana.close()
        await newcomer.close()
