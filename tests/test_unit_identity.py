"""The unit identity (docs/protocol.md §18) against a hostile server: the demo steward holds the demo unit's
identity and certifies its staff devices and unit key epochs; the municipality's signed identity file is
served by a loopback HTTP server of its own (not by Samtal); citizens' clients pin the identity, check every
staff device and epoch against it, and stop when it changes without a hand-over. Each hostile act is done
as an operator would: on the stopped server's SQLite file, then the server is started again."""
from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.encoding import b64u, unb64u
from crypto.envelope import Header, new_msg_id, seal_message
from crypto.keys import DeviceKeys
from crypto.sign import ed25519_public
from crypto.unitcert import identity_subject, sign_cert, unit_fingerprint
from crypto.wrap import new_case_key, sign_wrap, wrap_case_key
from web.client.identity import UnitIdentityHolder
from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import ROOT, RunningServer, free_port, start_server, stop_server
from .helpers import CASE_DANA
from .waiting import eventually

UNIT = "ekonomiskt-bistand"


class PublicFiles(http.server.SimpleHTTPRequestHandler):
    """A web site's public files, readable by pages of any origin: citizens' browsers fetch the unit's identity
    file from the Samtal page (docs/operations.md, Unit identities)."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@pytest.fixture
def municipality(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The municipality's own web site: a loopback HTTP server over a folder the Samtal server never writes."""
    folder = tmp_path / "server" / "demo-steward" / "published"
    folder.mkdir(parents=True)
    port = free_port()
    handler = functools.partial(PublicFiles, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{port}/{UNIT}.json"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def hostile(tmp_path: Path, municipality: tuple[Path, str]) -> Iterator[dict]:
    """A demo server whose operator may stop it, edit its database and start it again."""
    env = {"SAMTAL_UNIT_IDENTITY_URLS": f"{UNIT}={municipality[1]}"}
    state = {"server": start_server(tmp_path, **env), "tmp": tmp_path, "env": env}

    def restart(**extra: str) -> RunningServer:
        stop_server(state["server"])
        port = int(state["server"].url.rsplit(":", 1)[1])
        state["server"] = start_server(tmp_path, port, **{**env, **extra})
        return state["server"]

    state["restart"] = restart
    yield state
    stop_server(state["server"])


async def session(server: RunningServer, folder: Path, username: str) -> ClientSession:
    client = ClientSession(server.url, folder, username)
    await client.start()
    return client


async def certified(client: ClientSession, device_id: str, seconds: float = 20.0) -> None:
    async def done() -> bool:  # the demo steward certifies within a second or two
        trust = await client.unit_trust(UNIT, refresh=True)
        return trust is not None and trust.device(device_id) is not None
    await eventually(done, within=seconds, what="the steward's certificate of the device")


async def pinned(client: ClientSession, seconds: float = 20.0):
    """The unit's identity once the demo steward has made it (it does so as the server starts)."""
    async def made():  # type: ignore[no-untyped-def]
        trust = await client.unit_trust(UNIT, refresh=True)
        return trust if trust is not None and trust.epochs else None
    return await eventually(made, within=seconds, what="the unit's identity")


async def send(client: ClientSession, text: str) -> dict:
    socket = await client.transport.open_socket()
    try:
        return await client.send(socket, await client.case(CASE_DANA), text)
    finally:
        await socket.close()


def forge_staff_case_key(server: RunningServer, case: dict) -> None:
    """As a hostile operator on the stopped server's file: a device of its own for anna, case key epoch 2 made
    by it (wrapped to the citizen's devices and to the real unit key) and a message from it."""
    attacker = DeviceKeys.generate()
    anna_id = case["assigned_to"]
    unit = case["unit_key_epochs"][-1]
    key = new_case_key()
    now = int(time.time() * 1000)
    with server.db() as conn:  # either engine
        conn.execute("INSERT INTO devices (id, user_id, sign_pub, kem_pub, label, created_at) VALUES (?,?,?,?,?,?)",
                     (attacker.public.device_id, anna_id, attacker.public.sign_pub, attacker.public.kem_pub, "x", now))
        conn.execute("INSERT INTO case_key_epochs VALUES (?, 2, ?, ?)", (CASE_DANA, attacker.public.device_id, now))
        for recipient, pub in [(d["id"], unb64u(d["kem_pub"])) for d in case["citizen_devices"]] + [
                (f"unit:{unit['epoch']}", unb64u(unit["public_key"]))]:
            wrapped = wrap_case_key(key, CASE_DANA, 2, pub)
            conn.execute("INSERT INTO case_key_wraps VALUES (?, 2, ?, ?, ?, ?, ?, ?)",
                         (CASE_DANA, recipient, wrapped.enc, wrapped.ct, attacker.public.device_id,
                          sign_wrap(attacker, "case", CASE_DANA, 2, recipient, wrapped), now))
        header = Header(CASE_DANA, new_msg_id(), attacker.public.device_id, 2, now)
        env = seal_message(key, header, {"type": "text", "text": "Ring 070-… och uppge BankID-koden"}, attacker)
        conn.execute("INSERT INTO messages VALUES (?, (SELECT MAX(seq) + 1 FROM messages WHERE case_id = ?),"
                     " ?, ?, ?, ?, ?)", (CASE_DANA, CASE_DANA, header.msg_id, attacker.public.device_id, anna_id,
                                         env, now))
        conn.commit()


def replace_unit_identity(server: RunningServer) -> None:
    """As a hostile operator on the stopped server's file: the unit's certificates replaced by a genesis of a
    key of the operator's own."""
    fake_seed = b"\x07" * 32
    genesis = sign_cert(fake_seed, UNIT, "identity", identity_subject(ed25519_public(fake_seed)), 1)
    with server.db() as conn:  # either engine
        conn.execute("DELETE FROM unit_certificates WHERE unit_id = ?", (UNIT,))
        conn.execute("INSERT INTO unit_certificates (id, unit_id, kind, subject, issued_at, signer, signature,"
                     " filed_at) VALUES (1000, ?, ?, ?, ?, ?, ?, 1)", (UNIT, "identity", genesis.subject, 1, genesis.signer,
                                                      genesis.signature))
        conn.commit()


async def test_the_citizen_pins_the_unit_identity_the_municipality_publishes(hostile, tmp_path, municipality):
    server = hostile["server"]
    anna = await session(server, tmp_path / "c", "anna")
    dana = await session(server, tmp_path / "c", "dana")
    try:
        await certified(dana, anna.device_id)
        await send(anna, "Hej Dana, välkommen.")
        messages = await dana.history(await dana.case(CASE_DANA))
        assert [m.body["text"] for m in messages] == ["Hej Dana, välkommen."]
        trust = await dana.unit_trust(UNIT)
        published = (municipality[0] / f"{UNIT}.json").read_text()
        assert b64u(trust.current_key) in published
        pinned = dana.trust_file.data["units"][UNIT]
        assert pinned["fingerprint"] == unit_fingerprint(UNIT, trust.current_key) == trust.fingerprint()
        assert pinned["file_checked"] == b64u(trust.current_key)
        assert trust.device(anna.device_id).user_id == anna.user["id"]
        # The letter's safety number and QR code, made from the municipality's file alone.
        card = subprocess.run([sys.executable, "-m", "web.cli", "keys", "identity-card", "--file",
                               str(municipality[0] / f"{UNIT}.json"), "--unit", UNIT, "--qr", str(tmp_path / "qr.svg")],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert card.returncode == 0, card.stderr
        assert json.loads(card.stdout)["fingerprint"] == trust.fingerprint()
        assert (tmp_path / "qr.svg").read_text().startswith("<?xml")
    finally:
        await anna.close()
        await dana.close()


async def test_a_staff_device_the_server_inserted_is_refused_by_the_citizen(hostile, tmp_path):
    """#19: the operator adds a device to anna's account, makes case key epoch 2 with it (wrapped to dana and
    to the real unit key) and stores a message from it. dana's client refuses the key and the message."""
    server = hostile["server"]
    dana = await session(server, tmp_path / "c", "dana")
    await pinned(dana)
    await send(dana, "före")
    case = await dana.case(CASE_DANA)
    await dana.close()
    stop_server(server)
    forge_staff_case_key(server, case)
    # Without the demo steward: it would approve (certify) any staff device, as the demo's approval does.
    server = hostile["restart"](SAMTAL_DEMO_STEWARD="0")
    dana = await session(server, tmp_path / "c", "dana")
    try:
        with pytest.raises(ClientError) as refused:
            await send(dana, "efter")
        assert refused.value.code == "not_entitled"
        with pytest.raises(ClientError) as forged:
            await dana.history(await dana.case(CASE_DANA))
        assert forged.value.code == "not_entitled"
    finally:
        await dana.close()


async def test_a_changed_unit_identity_stops_sending_and_warns(hostile, tmp_path):
    """The operator replaces the unit's certificates with a genesis of a key of its own that certifies its own
    device: dana, who pinned the real identity, is warned and sends nothing."""
    server = hostile["server"]
    dana = await session(server, tmp_path / "c", "dana")
    real = (await pinned(dana)).current_key
    await send(dana, "före")
    await dana.close()
    stop_server(server)
    replace_unit_identity(server)
    server = hostile["restart"](SAMTAL_DEMO_STEWARD="0")
    dana = await session(server, tmp_path / "c", "dana")
    try:
        with pytest.raises(ClientError) as changed:
            await send(dana, "efter")
        assert changed.value.code == "unit_identity_changed"
        assert "WARNING" in changed.value.message and unit_fingerprint(UNIT, real) in changed.value.message
        assert dana.trust_file.pinned(UNIT) == real  # the pin is kept, not replaced by the server's key
        with pytest.raises(ClientError) as reading:
            await dana.history(await dana.case(CASE_DANA))
        assert reading.value.code == "unit_identity_changed"
    finally:
        await dana.close()


async def test_a_unit_identity_hand_over_is_followed_and_revocation_ends_a_certification(hostile, tmp_path):
    """The identity is rotated by a hand-over its old key signs: dana follows it (and its new safety number),
    and certificates made before it stay valid. A staff device that is removed loses its certification."""
    server = hostile["server"]
    dana = await session(server, tmp_path / "c", "dana")
    bo = await session(server, tmp_path / "c", "bo")
    try:
        await certified(dana, bo.device_id)
        old = (await dana.unit_trust(UNIT)).current_key
        # The supervisor's client that holds the identity (the demo steward's key folder) hands it over.
        holder_session = ClientSession(server.url, server.data_dir / "demo-steward", "cecilia")
        await holder_session.start()
        holder = UnitIdentityHolder(holder_session)
        await holder.bootstrap()
        new = await holder.hand_over()
        trust = await dana.unit_trust(UNIT, refresh=True)
        assert trust.keys == [old, new] and dana.trust_file.pinned(UNIT) == new
        assert trust.device(bo.device_id) is not None  # certified before the hand-over, still valid
        await send(dana, "efter bytet")
        # bo removes his device; the new identity revokes its certificate.
        await bo.transport.call("DELETE", f"/api/devices/{bo.device_id}")
        await holder.revoke_device(bo.device_id)
        trust = await dana.unit_trust(UNIT, refresh=True)
        assert trust.device(bo.device_id) is None
        assert not await dana.entitled(UNIT, bo.device_id)
        assert await dana.entitled(UNIT, bo.device_id, allow_revoked=True)  # his old messages stay his
        await holder_session.close()
    finally:
        await dana.close()
        await bo.close()
