"""History on every new device (docs/protocol.md section 17): after three rotations of the unit key and the case
keys, a citizen's new device and a caseworker's new device are each given only the current epoch, and read
the case's whole history through the links each epoch keeps of the one before it."""
from __future__ import annotations

from pathlib import Path

import pytest

from crypto.encoding import b64u, unb64u
from crypto.envelope import parse_envelope
from crypto.wrap import new_case_key, sign_wrap, wrap_case_key
from web.client.key_history import case_link
from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import server_fixture
from .helpers import CASE_DANA
from .waiting import eventually

server = server_fixture(SAMTAL_SEND_RATE="1000", SAMTAL_SEND_BURST="1000")
UNIT = "ekonomiskt-bistand"


async def wait_for(predicate, what: str, seconds: float = 30.0) -> None:
    await eventually(predicate, within=seconds, what=what)  # the demo steward acts within about a second


def rows(server, sql: str, *args) -> set:
    with server.db() as db:
        return {r[0] if len(r) == 1 else r for r in db.execute(sql, args)}


async def rotate(server, folder: Path, epoch: int) -> None:
    """Anna's extra laptop is approved and then lost: the steward moves the unit key and the case keys from
    `epoch` to the next, and links the new epochs to the old."""
    async with ClientSession(server.url, folder, "anna") as laptop:
        await laptop.start()
        await wait_for(lambda: _holds_unit_key(laptop), "the laptop's approval")
        await laptop.transport.call("DELETE", f"/api/devices/{laptop.device_id}")

    async def rotated() -> bool:
        return (rows(server, "SELECT max(epoch) FROM unit_key_epochs WHERE unit_id = ?", UNIT) == {epoch + 1}
                and rows(server, "SELECT max(epoch) FROM case_key_epochs WHERE case_id = ?", CASE_DANA) == {epoch + 1}
                and rows(server, "SELECT count(*) FROM key_history_links WHERE target_id = ? AND epoch = ?",
                         CASE_DANA, epoch + 1) == {1})
    await wait_for(rotated, f"rotation to epoch {epoch + 1}")


async def _holds_unit_key(session: ClientSession) -> bool:
    return bool(await session.unit_keys(UNIT))


async def test_new_devices_read_the_whole_history_after_three_rotations(login, server, tmp_path):
    dana = await login("dana", tmp_path / "dana-phone")
    sent = []
    for epoch in (1, 2, 3, 4):
        if epoch > 1:
            await rotate(server, tmp_path / f"anna-laptop-{epoch}", epoch - 1)
        socket = await dana.transport.open_socket()
        try:
            ack = await dana.send(socket, await dana.case(CASE_DANA), f"skrivet i nyckelepok {epoch}")
        finally:
            await socket.close()
        sent.append((ack["seq"], f"skrivet i nyckelepok {epoch}"))
    stored = (await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/messages"))["messages"]
    assert [parse_envelope(unb64u(m["env"])).header.epoch for m in stored] == [1, 2, 3, 4]

    new_phone = await login("dana", tmp_path / "dana-new-phone")
    new_desk = await login("anna", tmp_path / "anna-new-desk")
    await wait_for(lambda: _holds_unit_key(new_desk), "the new desk's approval")
    for reader in (new_phone, new_desk):
        history = await reader.history(await reader.case(CASE_DANA))
        assert [(m.seq, m.body["text"]) for m in history] == sent
    # One wrap each, of the current epoch: the rest came through the links.
    assert rows(server, "SELECT epoch FROM case_key_wraps WHERE recipient = ?", new_phone.device_id) == {4}
    assert rows(server, "SELECT epoch FROM unit_key_grants WHERE device_id = ?", new_desk.device_id) == {4}


async def test_history_links_are_checked_on_upload(login, server):
    anna, dana = await login("anna"), await login("dana")
    case = await anna.case(CASE_DANA)
    epoch = case["key_epoch"]
    if epoch < 2:
        pytest.skip("needs a rotated case; the module's first test rotates it")
    _, key = await anna.case_key(case, epoch)
    _, older = await anna.case_key(case, epoch - 1)
    link = case_link(anna.device.keys, CASE_DANA, epoch, key, epoch - 1, older)
    forged = {**link, "signature": b64u(bytes(64))}
    with pytest.raises(ClientError) as refused:
        await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/history", {"links": [forged]})
    assert refused.value.code == "bad_signature"
    future = {**link, "epoch": epoch + 1}
    with pytest.raises(ClientError) as refused:
        await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/history", {"links": [future]})
    assert refused.value.code == "invalid_field"
    with pytest.raises(ClientError) as refused:  # citizens read the links of their case, never add them
        await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/history", {"links": [link]})
    assert refused.value.status == 403
    assert len((await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/history"))["links"]) == epoch - 1


async def test_a_key_holder_adds_a_missing_link(login, server, tmp_path):
    """An epoch made without its link (by a client from before links, or one that went away before adding it)
    is listed as missing, and the demo steward, holding both epochs, adds the link."""
    anna, dana = await login("anna"), await login("dana")
    await anna.case_key(await anna.case(CASE_DANA))  # waits for the case's first key
    case = await anna.case(CASE_DANA)
    epoch = case["key_epoch"] + 1
    unit_epoch = max(e["epoch"] for e in case["unit_key_epochs"])
    key = new_case_key()
    recipients = [(f"unit:{unit_epoch}", unb64u(next(e for e in case["unit_key_epochs"]
                                                     if e["epoch"] == unit_epoch)["public_key"]))]
    recipients += [(d["id"], unb64u(d["kem_pub"])) for d in case["citizen_devices"]]
    wraps = []
    for recipient, kem_pub in recipients:
        wrapped = wrap_case_key(key, CASE_DANA, epoch, kem_pub)
        wraps.append({"recipient": recipient, **wrapped.to_json(),
                      "signature": b64u(sign_wrap(anna.device.keys, "case", CASE_DANA, epoch, recipient, wrapped))})
    await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/keys", {"epoch": epoch, "wraps": wraps})

    async def linked() -> bool:
        return rows(server, "SELECT count(*) FROM key_history_links WHERE target_id = ? AND epoch = ?",
                    CASE_DANA, epoch) == {1}
    await wait_for(linked, "the steward's link")
    assert rows(server, "SELECT signer_device FROM key_history_links WHERE target_id = ? AND epoch = ?",
                CASE_DANA, epoch) != {anna.device_id}
    socket = await dana.transport.open_socket()
    try:
        await dana.send(socket, await dana.case(CASE_DANA), "efter en nyckel utan länk")
    finally:
        await socket.close()
    new_phone = await login("dana", tmp_path / "dana-after-backfill")
    stored = (await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/messages"))["messages"]
    epochs = {parse_envelope(unb64u(m["env"])).header.epoch for m in stored}
    texts = [m.body["text"] for m in await new_phone.history(await new_phone.case(CASE_DANA))]
    assert len(texts) == len(stored) and texts[-1] == "efter en nyckel utan länk"
    assert epoch in epochs  # the new phone was given that epoch only, and read the older ones by the links
