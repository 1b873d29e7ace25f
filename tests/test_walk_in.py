"""A person at the desk without a Samtal account: a caseworker finds or registers them by personal identity
number and registers their paper application, which opens a case for them. The number is checked, never
stored, logged or audited; only the unit's staff may do it; an existing account keeps its name."""
from __future__ import annotations

import json

from crypto.encoding import b64u, unb64u

from .conftest import RunningServer
from .test_applications import UNIT, grant, refused, sealed, unit_epoch

PNR = "19790214-1782"
CITIZENS = f"/api/units/{UNIT}/citizens"


async def paper_application(anna, citizen_id: str) -> dict:  # type: ignore[no-untyped-def]
    record_id, data, key = sealed(anna, "application", {"type": "application", "answers": {"month": "2026-12"},
                                                        "form": {"id": "ekonomiskt-bistand", "version": 1}})
    epoch = await unit_epoch(anna)
    return await anna.transport.call("POST", f"/api/units/{UNIT}/applications", {  # type: ignore[no-any-return]
        "form_id": "ekonomiskt-bistand", "form_version": 1, "record": b64u(data), "blobs": [],
        "grants": [grant(anna, record_id, key, f"unit:{epoch['epoch']}", unb64u(epoch["public_key"]))],
        "citizen_id": citizen_id})


async def test_a_person_at_the_desk_is_registered_and_their_paper_application_opens_a_case(login, server):
    anna, bo = await login("anna"), await login("bo")
    first = await anna.transport.call("POST", CITIZENS, {"personal_number": PNR, "name": " Maja   Ek "})
    assert first["new"] is True and first["citizen"]["name"] == "Maja Ek"
    citizen_id = first["citizen"]["id"]
    # The same number, written without the hyphen, by a colleague: the same person, and the name stays.
    again = await bo.transport.call("POST", CITIZENS, {"personal_number": PNR.replace("-", ""), "name": "M. Ek"})
    assert again == {"citizen": {"id": citizen_id, "name": "Maja Ek"}, "new": False}

    answer = await paper_application(anna, citizen_id)
    app = answer["application"]
    assert (app["citizen"], app["on_behalf"], app["opened_case"]) == (citizen_id, True, True)
    case = await anna.transport.call("GET", f"/api/cases/{answer['case_id']}")
    assert case["case"]["citizen"] == citizen_id and case["case"]["citizen_name"] == "Maja Ek"

    # The number is nowhere: not in the database (not even hashed without the server's key), the log or the
    # audit rows, which name the account only.
    digits = PNR.replace("-", "").encode()
    assert not (digits in server.stored_bytes() or PNR.encode() in server.stored_bytes())
    assert PNR.replace("-", "") not in server.log_text()
    with server.db() as db:
        rows = [(a, json.loads(d)) for a, d in db.execute(
            "SELECT action, detail FROM audit_log WHERE action IN ('citizen.registered', 'citizen.found')")]
    assert rows == [("citizen.registered", {"citizen": citizen_id}), ("citizen.found", {"citizen": citizen_id})]


async def test_only_the_units_staff_register_and_a_bad_number_is_refused(login, server: RunningServer):
    anna, dana, greta = await login("anna"), await login("dana"), await login("greta")
    for person in (dana, greta):
        error = await refused(person.transport.call("POST", CITIZENS, {"personal_number": PNR, "name": "X"}))
        assert (error.status, error.code) == (403, "forbidden")
    error = await refused(anna.transport.call("POST", "/api/units/other-unit/citizens",
                                              {"personal_number": PNR, "name": "X"}))
    assert error.status == 403
    for bad in ("19790214-1784", "790214-1782", "19791314-1782", "abc", ""):
        error = await refused(anna.transport.call("POST", CITIZENS, {"personal_number": bad, "name": "X"}))
        assert (error.status, error.code) == (400, "invalid_personal_number"), bad
    for name in ("", "   ", "A\u0000B"):
        error = await refused(anna.transport.call("POST", CITIZENS, {"personal_number": PNR, "name": name}))
        assert (error.status, error.code) == (400, "invalid_field")
    # A paper application names an account, never a made-up id.
    error = await refused(paper_application(anna, "no-such-person"))
    assert (error.status, error.code) == (400, "unknown_citizen")
