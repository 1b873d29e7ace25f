"""A citizen's device proves whose it is (#19 item 2, docs/protocol.md §21): the key work (the demo steward here)
wraps a case key only to a device proven the person's by their e-identification or by a link from another of
their devices. A device the server adds to the account, or one with a forged ID token, gets nothing and is
flagged; a device linked from a proven one gets the keys and reads the history; a first device bound through a
real OpenID sign-in (Node's oidc-provider) gets its keys."""
from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

import pytest

from crypto.devicelink import link_code, signin_nonce
from crypto.encoding import b64u
from crypto.keys import DeviceKeys, registration_proof
from crypto.sign import sign
from web.client.citizen_devices import link_device
from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import RunningServer, start_server, stop_server
from .helpers import CASE_DANA
from .test_oidc import issuer_port, server, to_callback  # noqa: F401  (the real provider's fixtures)

UNIT = "ekonomiskt-bistand"


@pytest.fixture
def demo(tmp_path: Path):  # type: ignore[no-untyped-def]
    running = start_server(tmp_path)
    yield running
    stop_server(running)


def wraps_of(server: RunningServer, device_id: str) -> list[tuple]:
    with server.db() as db:  # either engine
        return db.execute("SELECT case_id, epoch FROM case_key_wraps WHERE recipient = ?", (device_id,)).fetchall()


async def started(server: RunningServer, folder: Path, user: str, prove: bool = True) -> ClientSession:
    """`user`'s CLI device in `folder`; `prove=False`: registered without anything that proves it is theirs."""
    session = ClientSession(server.url, folder, user)
    await session.demo_login()
    session.demo = prove
    await session.ensure_device()
    return session


async def proven_device_gets_its_key(server: RunningServer, folder: Path) -> ClientSession:
    """A proven device of dana's, registered now: once it holds the case key, the key work has had a round
    with every device then waiting, so what it did not give by then it did not give."""
    session = await started(server, folder, "dana")
    await session.case_key(await session.case(CASE_DANA))
    return session


async def anna_sees(server: RunningServer, folder: Path) -> dict[str, str]:
    async with ClientSession(server.url, folder, "anna") as anna:
        await anna.start()
        case = await anna.case(CASE_DANA)
        return (await anna.citizen_devices.verdict(case["citizen"], case["citizen_devices"])).unproven


async def test_a_device_the_server_adds_to_a_citizens_account_gets_no_case_key_and_is_flagged(demo, tmp_path):
    first = await proven_device_gets_its_key(demo, tmp_path / "first")
    await first.close()
    # The operator adds a device of their own to dana's account: a key pair they hold, and the registration
    # proof they can make with it. Nothing proves it is dana's.
    keys = DeviceKeys.generate()
    with demo.db() as db:  # either engine
        (user_id,) = db.execute("SELECT id FROM users WHERE username = 'dana'").fetchone()
        db.execute("INSERT INTO devices (id, user_id, sign_pub, kem_pub, label, created_at, registration_proof)"
                   " VALUES (?, ?, ?, ?, 'Danas nya telefon', ?, ?)",
                   (keys.public.device_id, user_id, keys.public.sign_pub, keys.public.kem_pub,
                    int(time.time() * 1000), registration_proof(keys, user_id)))
    second = await proven_device_gets_its_key(demo, tmp_path / "second")
    await second.close()
    assert wraps_of(demo, keys.public.device_id) == []  # before: it was wrapped case key epoch 1 at once
    assert wraps_of(demo, second.device_id) != []
    assert (await anna_sees(demo, tmp_path / "anna")) == {keys.public.device_id: "no_proof"}


async def test_a_forged_id_token_is_refused(demo, tmp_path):
    """A device whose ID token attests its key but is signed by a key that is not the provider's."""
    dana = await started(demo, tmp_path / "forger", "dana", prove=False)
    keys = DeviceKeys.generate()
    salt = secrets.token_bytes(32)
    header = {"alg": "EdDSA", "kid": "demo-eid-1", "typ": "JWT"}
    claims = {"iss": f"{demo.url}/demo/eid", "aud": "samtal-demo", "sub": dana.user["id"],
              "nonce": signin_nonce(keys.public, salt), "iat": int(time.time()), "exp": int(time.time()) + 600}
    signing_input = ".".join(b64u(json.dumps(p).encode()) for p in (header, claims))
    forged = f"{signing_input}.{b64u(sign(secrets.token_bytes(32), signing_input.encode()))}"
    await dana.transport.call("POST", "/api/devices", {
        **keys.public.to_json(), "label": "forged", "proof": b64u(registration_proof(keys, dana.user["id"])),
        "binding": {"kind": "signin", "id_token": forged, "salt": b64u(salt)}})
    await dana.close()
    honest = await proven_device_gets_its_key(demo, tmp_path / "honest")
    await honest.close()
    assert wraps_of(demo, keys.public.device_id) == []
    unproven = await anna_sees(demo, tmp_path / "anna")
    assert unproven[keys.public.device_id] == "bad_token"


async def test_a_device_linked_from_a_proven_one_gets_the_keys_and_reads_the_history(demo, tmp_path):
    phone = await proven_device_gets_its_key(demo, tmp_path / "phone")
    socket = await phone.transport.open_socket()
    case = await phone.case(CASE_DANA)
    await phone.send(socket, case, "Hej, det här skrev jag på telefonen.")
    await socket.close()
    laptop = await started(demo, tmp_path / "laptop", "dana", prove=False)
    assert (await anna_sees(demo, tmp_path / "anna")) == {laptop.device_id: "no_proof"}

    # The person compares the code: a device that shows another code than its keys make is not linked.
    with pytest.raises(Exception, match="code does not match"):
        await link_device(phone, laptop.device_id, "00000 00000 00000", int(time.time() * 1000))
    assert laptop.device is not None
    await link_device(phone, laptop.device_id, link_code(laptop.device.keys.public), int(time.time() * 1000))
    read = await laptop.read(await laptop.case(CASE_DANA))  # waits for its case key, then the whole case
    assert "Hej, det här skrev jag på telefonen." in [m.body["text"] for m in read.messages if m.body]
    assert (await anna_sees(demo, tmp_path / "anna2")) == {}
    # A link signed by a device that is not the person's is refused by the server as well.
    stranger = DeviceKeys.generate()
    with pytest.raises(ClientError) as refused:
        await phone.transport.call("POST", "/api/devices", {
            **stranger.public.to_json(), "label": "x", "proof": b64u(registration_proof(stranger, phone.user["id"])),
            "binding": {"kind": "link", "by": laptop.device_id, "issued_at": 1, "signature": b64u(bytes(64))}})
    assert refused.value.code == "bad_signature"
    await phone.close()
    await laptop.close()


async def test_a_first_device_bound_through_the_real_sign_in_gets_its_keys(server, tmp_path):
    """Tolvan signs in with e-identification carrying a new device's key in the nonce; the provider's ID token
    attests it; the unit registers Tolvan at the desk and a paper application opens a case; the steward
    checks the token against the provider's published keys and wraps the case key to the device."""
    keys = DeviceKeys.generate()
    salt = secrets.token_bytes(32)
    nonce = signin_nonce(keys.public, salt)
    browser, callback = await asyncio.to_thread(to_callback, server, "tolvan", "citizen", None, nonce)
    assert (await asyncio.to_thread(browser.get, callback)).status_code == 303
    tolvan = ClientSession(server.url, tmp_path / "tolvan", "tolvan")
    tolvan.transport.http.cookies = browser.cookies
    tolvan.user = (await tolvan.transport.call("GET", "/api/me"))["user"]
    stored = tolvan.keystore.create(tolvan.user["id"])
    stored.keys = keys  # the keys whose nonce went through the sign-in
    await tolvan.transport.call("POST", "/api/devices", {
        **keys.public.to_json(), "label": "Tolvan's phone", "proof": b64u(registration_proof(keys, tolvan.user["id"])),
        "binding": {"kind": "signin", "salt": b64u(salt)}})  # the server adds the sign-in's ID token
    stored.registered = True
    tolvan.keystore.save(stored)
    await tolvan.ensure_device()

    from .test_walk_in import paper_application  # the desk's paper application opens a case
    anna = ClientSession(server.url, tmp_path / "anna", "anna")
    await anna.start()
    citizen = await anna.transport.call("POST", f"/api/units/{UNIT}/citizens",
                                        {"personal_number": "19121212-1212", "name": "Tolvan Tolvansson"})
    assert citizen["citizen"]["id"] == tolvan.user["id"]
    answer = await paper_application(anna, citizen["citizen"]["id"])
    case = await tolvan.case(answer["case_id"])
    epoch, _ = await tolvan.case_key(case)
    assert epoch >= 1
    unproven = (await anna.citizen_devices.verdict(case["citizen"], case["citizen_devices"])).unproven
    assert unproven == {}
    await anna.close()
    await tolvan.close()
