"""Who holds a unit's identity key (docs/protocol.md §18, Holders), through the real server: a second supervisor's
device cannot certify until a holder seals the key to it; once sealed, it certifies a new staff device that the
citizen's client then accepts, and rotates the identity with a hand-over the citizen follows. The server keeps
seals only when the identity signed them, only for supervisors' certified devices, and gives each device its own."""
from __future__ import annotations

import json
import secrets
import time

import pytest

from crypto.encoding import b64u
from crypto.identityseal import seal_identity
from crypto.sign import ed25519_public
from crypto.unitcert import device_subject, sign_cert
from web.client.identity import UnitIdentityHolder
from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import RunningServer
from .test_unit_identity import (  # noqa: F401  (fixtures)
    UNIT,
    hostile,
    municipality,
    pinned,
    send,
    session,
)


def add_supervisor(server: RunningServer, username: str = "david", name: str = "David Sjöberg") -> None:
    """A second supervisor of the unit, as the municipality's identity provider would name one."""
    with server.db() as conn:  # either engine
        conn.execute("INSERT INTO users (id, username, display_name, role, unit_id, created_at) VALUES (?, ?, ?,"
                     " 'supervisor', ?, ?)", (username, username, name, UNIT, int(time.time() * 1000)))
        conn.commit()


async def holder_of(server: RunningServer, folder, username: str) -> tuple[ClientSession, UnitIdentityHolder]:
    client = ClientSession(server.url, folder, username)
    await client.start()
    holder = UnitIdentityHolder(client, published=folder / "published")
    await holder.bootstrap()
    return client, holder


async def test_a_second_supervisor_certifies_only_after_the_key_is_sealed_to_it(hostile, municipality, tmp_path):
    server = hostile["server"]
    add_supervisor(server)
    dana = await session(server, tmp_path / "c", "dana")
    await pinned(dana)
    await send(dana, "före")  # her phone has the case key (the steward gave it)
    await dana.close()
    # From now on no steward: what is certified is what the supervisors' clients certify.
    server = hostile["restart"](SAMTAL_DEMO_STEWARD="0")
    dana = await session(server, tmp_path / "c", "dana")
    cecilia, first = await holder_of(server, server.data_dir / "demo-steward", "cecilia")
    david, second = await holder_of(server, tmp_path / "david", "david")
    bo = await session(server, tmp_path / "c", "bo")
    try:
        assert first.holds and not second.holds
        # Without the key, david's client signs nothing the server or a citizen takes.
        await second.certify_device(bo.device_id, bo.device.keys.public, bo.user["id"])
        made_up = secrets.token_bytes(32)
        forged = sign_cert(made_up, UNIT, "device", device_subject(bo.device_id, bo.device.keys.public, bo.user["id"]),
                           1)
        with pytest.raises(ClientError) as refused:
            await david.transport.call("POST", f"/api/units/{UNIT}/certificates", {"certificate": forged.to_json()})
        assert refused.value.code == "bad_signature"
        assert not await dana.entitled(UNIT, bo.device_id)
        # cecilia compares david's safety number, certifies his device and gives it the key.
        with pytest.raises(ClientError) as uncertified:
            await first.give_to(david.device_id)
        assert uncertified.value.code == "not_certified"
        await first.certify_device(david.device_id, david.device.keys.public, "david")
        # A seal of another key, or one the identity did not sign, is refused too, whoever sends it.
        wrapped, signature = seal_identity(made_up, UNIT, david.device_id, david.device.keys.public.kem_pub)
        with pytest.raises(ClientError) as unsigned:
            await david.transport.call("POST", f"/api/units/{UNIT}/identity/seals", {
                "device_id": david.device_id, **wrapped.to_json(), "signature": b64u(b"\x01" * 64)})
        assert unsigned.value.code == "bad_signature"
        with pytest.raises(ClientError) as other_key:
            await david.transport.call("POST", f"/api/units/{UNIT}/identity/seals", {
                "device_id": david.device_id, **wrapped.to_json(), "signature": b64u(signature)})
        assert other_key.value.code == "bad_signature"
        await first.give_to(david.device_id)
        seals = await david.transport.call("GET", f"/api/units/{UNIT}/identity/seals")
        assert {h["device_id"] for h in seals["holders"]} == {cecilia.device_id, david.device_id}
        assert seals["mine"]["enc"] and "enc" not in seals["holders"][0]
        # (what david's client publishes goes to the municipality's web site, which replaces its file on a rotation)
        second = UnitIdentityHolder(david, published=municipality[0])
        await second.bootstrap()
        assert second.holds and second.seed == first.seed
        # Now david certifies bo's device, and dana's client accepts it.
        await second.certify_device(bo.device_id, bo.device.keys.public, bo.user["id"])
        assert await dana.entitled(UNIT, bo.device_id)
        # david rotates the identity: dana follows the hand-over and goes on sending.
        old = (await dana.unit_trust(UNIT, refresh=True)).current_key
        new = await second.hand_over()
        trust = await dana.unit_trust(UNIT, refresh=True)
        assert trust.keys[-2:] == [old, new] and dana.trust_file.pinned(UNIT) == new
        await send(dana, "efter bytet av identitet")
        # cecilia's seal is of the old key: she holds nothing now until david gives her the new one.
        cecilia_again = UnitIdentityHolder(cecilia, published=tmp_path / "c-pub")
        cecilia_again._save(first.seed)
        await cecilia_again.bootstrap()
        assert not cecilia_again.holds
        await second.give_to(cecilia.device_id)
        await cecilia_again.bootstrap()
        assert cecilia_again.holds and ed25519_public(cecilia_again.seed) == new
    finally:
        for client in (dana, cecilia, david, bo):
            await client.close()


async def test_the_key_is_sealed_only_to_supervisors_devices_and_each_device_gets_only_its_own(hostile, tmp_path):
    server = hostile["server"]
    dana = await session(server, tmp_path / "c", "dana")
    await pinned(dana)
    cecilia, first = await holder_of(server, server.data_dir / "demo-steward", "cecilia")
    anna = await session(server, tmp_path / "c", "anna")
    try:
        assert first.holds
        # anna is a caseworker: the identity key is never sealed to her device, even by a holder.
        wrapped, signature = seal_identity(first.seed, UNIT, anna.device_id, anna.device.keys.public.kem_pub)
        with pytest.raises(ClientError) as refused:
            await cecilia.transport.call("POST", f"/api/units/{UNIT}/identity/seals", {
                "device_id": anna.device_id, **wrapped.to_json(), "signature": b64u(signature)})
        assert refused.value.code == "invalid_field"
        # A caseworker may not ask who holds it, nor file a seal.
        with pytest.raises(ClientError) as forbidden:
            await anna.transport.call("GET", f"/api/units/{UNIT}/identity/seals")
        assert forbidden.value.status == 403
        # A signed seal made for one device does not verify as another's.
        with pytest.raises(ClientError) as moved:
            await cecilia.transport.call("POST", f"/api/units/{UNIT}/identity/seals", {
                "device_id": cecilia.device_id, **wrapped.to_json(), "signature": b64u(signature)})
        assert moved.value.code == "bad_signature"
    finally:
        for client in (dana, cecilia, anna):
            await client.close()


def test_the_samtal_command_makes_and_hands_over_an_identity_key_file(tmp_path, capsys):
    """`samtal keys identity create|export-public|hand-over`, away from any server: a key file readable by its
    owner only and never overwritten, the municipality's file, and the next key with its hand-over."""
    from crypto.unitcert import UnitCert, evaluate_chain, identity_subject, load_identity_file
    from web.cli.identity import read_key_file
    from web.cli.main import main

    def samtal(*args: str) -> tuple[int, dict]:
        code = main(["keys", "identity", *args])
        out = capsys.readouterr()
        return code, json.loads(out.out or out.err)

    key, new_key = tmp_path / "k1.json", tmp_path / "k2.json"
    code, made = samtal("create", "--unit", UNIT, "--key", str(key), "--publish", str(tmp_path / "p1.json"))
    assert code == 0 and key.stat().st_mode & 0o777 == 0o600
    unit_id, seed = read_key_file(key)
    assert unit_id == UNIT and b64u(ed25519_public(seed)) == made["identity_key"]
    assert load_identity_file((tmp_path / "p1.json").read_text(), UNIT) == ed25519_public(seed)
    code, again = samtal("create", "--unit", UNIT, "--key", str(key))
    assert code == 2 and again["error"] == "exists" and read_key_file(key)[1] == seed
    code, exported = samtal("export-public", "--key", str(key), "--publish", str(tmp_path / "p2.json"))
    assert code == 0 and exported["fingerprint"] == made["fingerprint"]
    code, rotated = samtal("hand-over", "--key", str(key), "--new-key", str(new_key))
    assert code == 0 and rotated["previous"] == made["fingerprint"]
    handover = UnitCert.from_json(json.loads(new_key.read_text())["handover"])
    genesis = sign_cert(seed, UNIT, "identity", identity_subject(ed25519_public(seed)), 1)
    trust = evaluate_chain(UNIT, [genesis, handover], pinned=ed25519_public(seed))
    assert b64u(trust.current_key) == rotated["identity_key"] == b64u(ed25519_public(read_key_file(new_key)[1]))


async def test_the_python_clients_own_setting_names_the_municipalitys_file(hostile, tmp_path, monkeypatch):
    """A citizen's command-line client configured with the municipality's address compares with that file, not
    with the one the server names: a file there naming another key is refused, the real one is taken."""
    from crypto.unitcert import identity_file

    server = hostile["server"]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(identity_file(UNIT, secrets.token_bytes(32))), encoding="utf-8")
    monkeypatch.setenv("SAMTAL_UNIT_IDENTITY_URLS", f"{UNIT}=file://{forged}")
    dana = await session(server, tmp_path / "c", "dana")
    try:
        with pytest.raises(ClientError) as refused:
            await pinned(dana)
        assert refused.value.code == "identity_mismatch"
        assert dana.trust_file.pinned(UNIT) is None  # nothing pinned from a check that failed
        real = server.data_dir / "demo-steward" / "published" / f"{UNIT}.json"
        monkeypatch.setenv("SAMTAL_UNIT_IDENTITY_URLS", f"{UNIT}=file://{real}")
        assert (await pinned(dana)).current_key == dana.trust_file.pinned(UNIT)
    finally:
        await dana.close()
