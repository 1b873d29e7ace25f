"""Keys follow people: when a staff member leaves, their devices are revoked and the unit key and the case
keys are rotated, so what is written afterwards is readable by the unit that remains and not by them."""
from __future__ import annotations

import pytest
import websockets

from web.client.transport import ClientError

from .conftest import server_fixture
from .helpers import CASE_DANA
from .waiting import eventually

server = server_fixture(SAMTAL_SEND_RATE="1000", SAMTAL_SEND_BURST="1000")


async def wait_for(predicate, seconds: float = 20.0) -> None:
    await eventually(predicate, within=seconds, what="the key holder's rotation")  # within about a second


def grants_of(server, epoch: int) -> set[str]:
    with server.db() as db:
        return {r[0] for r in db.execute("SELECT device_id FROM unit_key_grants WHERE epoch = ?", (epoch,))}


async def test_removing_a_staff_member_rotates_the_unit_key_and_the_case_keys(login, server):
    dana, anna, bo, cecilia = await login("dana"), await login("anna"), await login("bo"), await login("cecilia")
    socket = await dana.transport.open_socket()
    try:
        old = await dana.send(socket, await dana.case(CASE_DANA), "skrivet före bytet")
    finally:
        await socket.close()
    before = await dana.case(CASE_DANA)  # now that the case has its first key
    assert bo.device_id in grants_of(server, 1)

    await cecilia.transport.call("POST", "/api/units/ekonomiskt-bistand/staff/bo/remove", {})

    async def rotated() -> bool:
        view = await cecilia.case(CASE_DANA)
        return len(view["unit_key_epochs"]) == 2 and view["key_epoch"] == before["key_epoch"] + 1
    await wait_for(rotated)
    assert bo.device_id not in grants_of(server, 2) and anna.device_id in grants_of(server, 2)

    # Bo is out: no cases, no live connection.
    with pytest.raises(ClientError) as refused:
        await bo.cases()
    assert refused.value.status == 403
    with pytest.raises(ClientError):
        await bo.transport.open_socket()

    # Dana's client still holds the old epoch: the server refuses it as stale, the client fetches the new key.
    socket = await dana.transport.open_socket()
    try:
        new = await dana.send(socket, before, "skrivet efter bytet")
    finally:
        await socket.close()
    texts = {m.seq: m.body["text"] for m in await anna.history(await anna.case(CASE_DANA))}
    assert texts[old["seq"]] == "skrivet före bytet" and texts[new["seq"]] == "skrivet efter bytet"


async def test_revoking_a_citizen_device_gives_the_case_a_new_key(login, server, tmp_path):
    dana_phone = await login("dana")  # a second device of dana's, in its own folder
    dana_laptop = await login("dana", tmp_path / "laptop")
    epoch = (await dana_phone.case(CASE_DANA))["key_epoch"]
    await dana_laptop.case_key(await dana_laptop.case(CASE_DANA))  # the laptop has the current key
    await dana_phone.transport.call("DELETE", f"/api/devices/{dana_laptop.device_id}")

    async def rotated() -> bool:
        return (await dana_phone.case(CASE_DANA))["key_epoch"] == epoch + 1
    await wait_for(rotated)
    wraps = await dana_phone.transport.call("GET", f"/api/cases/{CASE_DANA}/keys")
    assert wraps["epoch"] == epoch + 1
    with server.db() as db:
        recipients = {r[0] for r in db.execute("SELECT recipient FROM case_key_wraps WHERE case_id = ? AND epoch = ?",
                                               (CASE_DANA, epoch + 1))}
    assert dana_phone.device_id in recipients and dana_laptop.device_id not in recipients
    with pytest.raises((ClientError, websockets.InvalidStatus)):
        await dana_laptop.transport.open_socket()


async def test_only_a_supervisor_removes_staff(login):
    anna, cecilia = await login("anna"), await login("cecilia")
    with pytest.raises(ClientError) as caseworker:
        await anna.transport.call("POST", "/api/units/ekonomiskt-bistand/staff/cecilia/remove", {})
    assert caseworker.value.status == 403
    with pytest.raises(ClientError) as not_staff:
        await cecilia.transport.call("POST", "/api/units/ekonomiskt-bistand/staff/dana/remove", {})
    assert not_staff.value.status == 404
    with pytest.raises(ClientError) as themselves:
        await cecilia.transport.call("POST", "/api/units/ekonomiskt-bistand/staff/cecilia/remove", {})
    assert themselves.value.status == 400
