"""A unit's offices (besöksadresser) through the real server: a supervisor adds one and retires it, other roles
may not, a bad address is refused with problem+json and stores nothing, an office with a time still to come
cannot be retired, a retired office takes no new times while earlier times keep naming it, adding the same
address again takes it back into use, and each change is in the audit log with the address."""
from __future__ import annotations

import json

import pytest

from web.cli.main import main as samtal

from .conftest import RunningServer
from .test_booking import UNIT, day_start, refused

HOUR = 3600 * 1000
OFFICES = f"/api/units/{UNIT}/offices"
ADDRESS = "Kungsgatan 7,  411 19   Göteborg"


def audited(server: RunningServer) -> list[tuple[str, str, dict[str, object]]]:
    with server.db() as db:
        return [(action, actor, json.loads(detail)) for action, actor, detail in db.execute(
            "SELECT action, actor, detail FROM audit_log WHERE action LIKE 'unit.office.%' ORDER BY id")]


async def test_a_supervisor_adds_and_retires_an_office_and_times_follow(login, server):
    cecilia, anna = await login("cecilia"), await login("anna")
    before = (await anna.transport.call("GET", OFFICES))["offices"]
    added = await cecilia.transport.call("POST", OFFICES, {"address": ADDRESS})
    office = added["office"]
    assert office["address"] == "Kungsgatan 7, 411 19 Göteborg"  # one line, spaces collapsed
    assert added["offices"] == [*before, office]

    start = day_start(4) + 10 * HOUR
    slot = await anna.transport.call("POST", f"/api/units/{UNIT}/slots", {
        "starts_at": start, "ends_at": start + HOUR, "forms": ["in_person"], "office_id": office["id"]})
    assert slot["slot"]["address"] == office["address"]
    error = await refused(cecilia.transport.call("DELETE", f"{OFFICES}/{office['id']}"))
    assert (error.status, error.code) == (409, "office_in_use")

    await anna.transport.call("DELETE", f"/api/units/{UNIT}/slots/{slot['slot']['id']}")
    left = await cecilia.transport.call("DELETE", f"{OFFICES}/{office['id']}")
    assert office not in left["offices"] and left["offices"] == before
    error = await refused(publish_at(anna, start + 2 * HOUR, office["id"]))
    assert error.code == "no_office"
    error = await refused(cecilia.transport.call("DELETE", f"{OFFICES}/{office['id']}"))
    assert (error.status, error.code) == (404, "unknown_office")

    again = await cecilia.transport.call("POST", OFFICES, {"address": office["address"]})
    assert again["office"] == office  # the same office, in use again
    assert [(a, who, d["address"]) for a, who, d in audited(server)][-3:] == [
        ("unit.office.add", "cecilia", office["address"]), ("unit.office.retire", "cecilia", office["address"]),
        ("unit.office.add", "cecilia", office["address"])]


def publish_at(staff, starts_at: int, office_id: int):  # type: ignore[no-untyped-def]
    return staff.transport.call("POST", f"/api/units/{UNIT}/slots", {
        "starts_at": starts_at, "ends_at": starts_at + HOUR, "forms": ["in_person"], "office_id": office_id})


@pytest.mark.parametrize("address", ["", "  a ", "x" * 201, "Storgatan 1\u0000", "Storgatan\u202e 1"])
async def test_a_bad_address_is_refused_and_stores_nothing(login, server, address):
    cecilia = await login("cecilia")
    before = (await cecilia.transport.call("GET", OFFICES))["offices"]
    error = await refused(cecilia.transport.call("POST", OFFICES, {"address": address}))
    assert (error.status, error.code) == (400, "invalid_address")
    assert (await cecilia.transport.call("GET", OFFICES))["offices"] == before


async def test_only_a_supervisor_manages_offices(login):
    anna, dana = await login("anna"), await login("dana")
    office = (await anna.transport.call("GET", OFFICES))["offices"][0]
    for person in (anna, dana):
        error = await refused(person.transport.call("POST", OFFICES, {"address": "Lillgatan 2, Stockholm"}))
        assert (error.status, error.code) == (403, "forbidden")
        error = await refused(person.transport.call("DELETE", f"{OFFICES}/{office['id']}"))
        assert (error.status, error.code) == (403, "forbidden")
    error = await refused(dana.transport.call("GET", OFFICES))
    assert error.status == 403


def test_the_command_line_adds_an_office_and_refuses_a_bad_address(server, capsys):
    command = ["booking", "office", "--data-dir", str(server.data_dir), "--unit", UNIT]
    assert samtal([*command, "--address", "a\u0007b"]) == 2
    assert "invalid_address" in capsys.readouterr().err
    assert samtal([*command, "--address", " Ågatan 3,   222 21 Lund "]) == 0
    assert "Ågatan 3, 222 21 Lund" in [o["address"] for o in json.loads(capsys.readouterr().out)["offices"]]
