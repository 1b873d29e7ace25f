"""Assignment and substitutes (vikarie) through the real server: who may answer, who is sent messages
live, and who the citizen is told answers."""
from __future__ import annotations

import time

import pytest

from web.client.transport import ClientError

from .conftest import server_fixture
from .helpers import CASE_DANA, CASE_ERIK, next_frame, refusal_of_a_send
from .waiting import eventually

server = server_fixture(SAMTAL_SEND_RATE="1000", SAMTAL_SEND_BURST="1000")
HOUR_MS = 3600 * 1000


async def test_only_the_assigned_caseworker_answers_and_a_supervisor_reassigns(login):
    anna, bo, cecilia = await login("anna"), await login("bo"), await login("cecilia")
    socket = await bo.transport.open_socket()
    try:
        with pytest.raises(ClientError) as refused:  # dana's case is anna's
            await bo.send(socket, await bo.case(CASE_DANA), "får jag svara?")
        assert refused.value.code == "forbidden"
        with pytest.raises(ClientError) as not_a_supervisor:
            await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/assign", {"user_id": "bo"})
        assert not_a_supervisor.value.status == 403
        view = (await cecilia.transport.call("POST", f"/api/cases/{CASE_DANA}/assign", {"user_id": "bo"}))["case"]
        assert view["assigned_to"] == "bo" and view["answering"]["user"] == "bo"
        ack = await bo.send(socket, await bo.case(CASE_DANA), "Hej Dana, jag har tagit över ditt ärende.")
        assert ack["seq"] >= 1
    finally:
        await socket.close()
        await cecilia.transport.call("POST", f"/api/cases/{CASE_DANA}/assign", {"user_id": "anna"})
    with pytest.raises(ClientError) as not_staff:
        await cecilia.transport.call("POST", f"/api/cases/{CASE_DANA}/assign", {"user_id": "dana"})
    assert not_staff.value.code == "invalid_field"


async def test_a_substitute_answers_the_absent_caseworkers_cases_in_the_period(login):
    erik, bo, cecilia = await login("erik"), await login("bo"), await login("cecilia")
    now = int(time.time() * 1000)
    created = await cecilia.transport.call("POST", "/api/units/ekonomiskt-bistand/substitutes", {
        "absent_user": "anna", "substitute": "bo", "starts_at": now - HOUR_MS, "ends_at": now + HOUR_MS})
    try:
        citizen_view = await erik.case(CASE_ERIK)
        assert citizen_view["answering"] == {"user": "bo", "name": "Bo Ek", "substitute_for": "anna",
                                             "until": now + HOUR_MS}
        bo_socket, erik_socket = await bo.transport.open_socket(), await erik.transport.open_socket()
        try:
            sent = await erik.send(erik_socket, citizen_view, "Är Anna borta?")
            live = await next_frame(bo_socket, "msg", case_id=CASE_ERIK)  # the substitute is sent it live
            assert live["seq"] == sent["seq"]
            await bo.send(bo_socket, await bo.case(CASE_ERIK), "Ja, jag svarar under tiden.")
        finally:
            await bo_socket.close()
            await erik_socket.close()
        staff = await bo.transport.call("GET", "/api/units/ekonomiskt-bistand/staff")
        assert [s["id"] for s in staff["substitutions"]] == [created["id"]]
    finally:
        await cecilia.transport.call("DELETE", f"/api/units/ekonomiskt-bistand/substitutes/{created['id']}")
    assert (await erik.case(CASE_ERIK))["answering"]["user"] == "anna"
    assert await refusal_of_a_send(bo, CASE_ERIK, "perioden är slut") == "forbidden"


async def test_only_supervisors_set_substitutes_and_periods_must_make_sense(login):
    anna, cecilia = await login("anna"), await login("cecilia")
    now = int(time.time() * 1000)
    body = {"absent_user": "anna", "substitute": "bo", "starts_at": now, "ends_at": now + HOUR_MS}
    with pytest.raises(ClientError) as caseworker:
        await anna.transport.call("POST", "/api/units/ekonomiskt-bistand/substitutes", body)
    assert caseworker.value.status == 403
    for bad in ({**body, "ends_at": now - 1}, {**body, "substitute": "anna"}, {**body, "substitute": "erik"}):
        with pytest.raises(ClientError) as refused:
            await cecilia.transport.call("POST", "/api/units/ekonomiskt-bistand/substitutes", bad)
        assert refused.value.status == 400
    with pytest.raises(ClientError) as missing:
        await cecilia.transport.call("DELETE", "/api/units/ekonomiskt-bistand/substitutes/99999")
    assert missing.value.status == 404


async def test_the_staff_list_counts_each_persons_approved_devices(login, tmp_path):
    """`approved_devices` (#20 item 5): how many of a person's active devices hold the unit's current key, so a
    waiting device can name who could approve it; a new device counts once approved, a removed one no more."""
    anna = await login("anna")

    async def counts() -> dict[str, int]:
        staff = (await anna.transport.call("GET", "/api/units/ekonomiskt-bistand/staff"))["staff"]
        return {s["id"]: s["approved_devices"] for s in staff}

    async def until(wanted: int) -> dict[str, int]:
        async def reached() -> dict[str, int]:
            now = await counts()
            assert now["bo"] == wanted, f"bo has {now['bo']} approved devices, not {wanted}"
            return now
        return await eventually(reached, within=20)

    before = await counts()
    assert before["cecilia"] >= 1  # the demo steward's device is the supervisor's
    bo = await login("bo", tmp_path / "bo")
    await until(before["bo"] + 1)  # the steward approved it
    await bo.transport.call("DELETE", f"/api/devices/{bo.device_id}")
    # Bo's removal takes nothing from anyone else (Cecilia's device of an earlier test may be approved meanwhile).
    assert (await until(before["bo"]))["cecilia"] >= before["cecilia"]
    with pytest.raises(ClientError) as other_unit:
        await anna.transport.call("GET", "/api/units/barn-och-unga/staff")
    assert other_unit.value.status in (403, 404)
