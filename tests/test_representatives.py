"""Representatives and guardians through the real server (chat/cases/mandates.py, docs/representatives.md):
staff register a representative for a case with a basis, scopes and a period; the representative, signed in as
themselves, sees only that case, as on the citizen's behalf, within the scopes and the period, and every act is
in the audit log as on the citizen's behalf. Refusals: outside the scope (403 problem+json, an error frame),
outside the period or after staff ended the mandate (the case is as unknown, 404), registrations that lack
their basis. Guardians of a child: at most two, ending at 18, and a child under 15 does not book or apply
alone. A caseworker withholds one journal entry from the guardians, with the reason."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.helpers import CASE_DANA, CASE_ERIK
from tests.waiting import eventually
from web.client.session import ClientSession
from web.client.transport import ClientError

REPS = f"/api/cases/{CASE_DANA}/representatives"
HOUR = 3_600_000
OMBUD_PNR, GOD_MAN_PNR, PARENT1_PNR, PARENT2_PNR, PARENT3_PNR = (
    "198003031005", "197505051008", "199009091001", "198504041008", "197707071002")


def now() -> int:
    return int(time.time() * 1000)


async def refused(call: Any, status: int, code: str) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        await call
    assert (error.value.status, error.value.code) == (status, code), error.value
    return {"status": error.value.status, "code": error.value.code}


async def document(staff: ClientSession, case_id: str = CASE_DANA) -> str:
    """A power of attorney, scanned and encrypted (the server sees only ciphertext)."""
    answer = await staff.transport.upload(f"/api/cases/{case_id}/blobs", b"\x01" * 64)
    return str(answer["blob_id"])


async def register(staff: ClientSession, path: str = REPS, **fields: Any) -> dict[str, Any]:
    body = {"personal_number": OMBUD_PNR, "name": "Frida Ombudsson", "kind": "ombud", "basis": "power_of_attorney",
            "scopes": ["read"], "starts_at": now() - 1000, "ends_at": now() + HOUR, **fields}
    body = {name: value for name, value in body.items() if value is not None}
    return (await staff.transport.call("POST", path, body))["representative"]  # type: ignore[no-any-return]


def audit_rows(server, actor: str) -> list[tuple[str, str, str | None, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    with server.db() as db:
        return [(a, o, c, json.loads(d)) for a, o, c, d in db.execute(
            "SELECT action, outcome, case_id, detail FROM audit_log WHERE actor = ? ORDER BY id", (actor,))]


async def test_an_ombud_acts_for_the_citizen_within_scope_and_period_and_is_audited_on_her_behalf(login, server):
    anna, dana = await login("anna"), await login("dana")
    blob = await document(anna)
    rep = await register(anna, scopes=["read", "write"], document_blob=blob, reference="Fullmakt 2026-12-01")
    assert (rep["holder_name"], rep["citizen"], rep["kind"], rep["scopes"], rep["in_force"]) == (
        "Frida Ombudsson", "dana", "ombud", ["read", "write"], True)
    frida = await login(rep["holder"])
    cases = (await frida.transport.call("GET", "/api/cases"))["cases"]
    assert [(c["id"], c["on_behalf"]["citizen_name"], c["may_answer"]) for c in cases] == [
        (CASE_DANA, "Dana Karlsson", True)]
    case = (await frida.transport.call("GET", f"/api/cases/{CASE_DANA}"))["case"]
    assert case["on_behalf"]["scopes"] == ["read", "write"]
    assert "entries" in await frida.transport.call("GET", f"/api/cases/{CASE_DANA}/journal")
    # The citizen and the unit see who acts for her; the representative sees her own mandate.
    for person in (anna, dana, frida):
        listed = (await person.transport.call("GET", REPS))["representatives"]
        assert [r["id"] for r in listed] == [rep["id"]]
    # Outside the scope: booking is not hers (403 problem+json); Erik's case is not known to her at all.
    assert "bookings" in await frida.transport.call("GET", f"/api/cases/{CASE_DANA}/bookings")
    await refused(frida.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings", {"slot_id": 1, "form": "phone"}),
                  403, "forbidden")
    await refused(frida.transport.call("GET", f"/api/cases/{CASE_ERIK}"), 404, "unknown_case")
    await refused(frida.transport.call("POST", f"/api/cases/{CASE_DANA}/handled", {"handled": True}), 403, "forbidden")
    # She registers no one herself.
    await refused(register(frida, personal_number=GOD_MAN_PNR), 403, "forbidden")
    rows = audit_rows(server, rep["holder"])
    reads = [r for r in rows if r[0] == "case.read" and r[1] == "allowed" and r[2] == CASE_DANA]
    assert reads and all(r[3]["on_behalf_of"] == "dana" and r[3]["mandate"] == rep["id"] for r in reads)
    assert any(r[0] == "booking.write" and r[1] == "denied" and r[3].get("on_behalf_of") == "dana" for r in rows)

    # Staff end the mandate: from now on the case is as unknown to her, and gone from her list.
    ended = (await anna.transport.call("POST", f"{REPS}/{rep['id']}/end"))["representative"]
    assert ended["in_force"] is False and ended["ended_by"] == "anna"
    await refused(frida.transport.call("GET", f"/api/cases/{CASE_DANA}"), 404, "unknown_case")
    assert (await frida.transport.call("GET", "/api/cases"))["cases"] == []
    await refused(anna.transport.call("POST", f"{REPS}/{rep['id']}/end"), 409, "mandate_ended")


async def test_a_mandate_is_in_force_only_in_its_period(login):
    anna = await login("anna")
    later = await register(anna, personal_number=GOD_MAN_PNR, name="Göran Godman", kind="god_man",
                           basis="court_decision", reference="Göteborgs tingsrätt Ä 1234-26",
                           starts_at=now() + HOUR, ends_at=now() + 2 * HOUR)
    goran = await login(later["holder"])
    assert later["in_force"] is False
    await refused(goran.transport.call("GET", f"/api/cases/{CASE_DANA}"), 404, "unknown_case")
    assert (await goran.transport.call("GET", "/api/cases"))["cases"] == []
    await anna.transport.call("POST", f"{REPS}/{later['id']}/end")


async def test_a_period_that_runs_out_ends_access_without_anyone_acting(login):
    anna = await login("anna")
    short = await register(anna, personal_number=PARENT3_PNR, name="Kort Tid", kind="god_man", basis="court_decision",
                           reference="Ä 1-26", scopes=["read", "book"], starts_at=now() - 1000, ends_at=now() + 1500)
    kort = await login(short["holder"])
    assert (await kort.transport.call("GET", f"/api/cases/{CASE_DANA}"))["case"]["id"] == CASE_DANA
    time.sleep(max(0.0, (short["ends_at"] - now()) / 1000 + 0.1))  # the period's end is the point of the test
    await refused(kort.transport.call("GET", f"/api/cases/{CASE_DANA}"), 404, "unknown_case")


async def test_registrations_need_their_basis_and_the_unit_that_answers_the_case(login):
    anna, dana = await login("anna"), await login("dana")
    await refused(register(anna), 400, "document_required")
    await refused(register(anna, kind="god_man", basis="power_of_attorney", document_blob=await document(anna)),
                  400, "invalid_basis")
    await refused(register(anna, kind="forvaltare", basis="court_decision"), 400, "invalid_field")
    await refused(register(anna, kind="guardian", basis="custody"), 400, "invalid_field")  # no child_born
    await refused(register(anna, personal_number="198003031006"), 400, "invalid_personal_number")
    await refused(register(anna, kind="god_man", basis="court_decision", reference="Ä 2-26", ends_at=now() - HOUR),
                  400, "invalid_period")
    await refused(register(anna, document_blob="A" * 21 + "A"), 404, "unknown_blob")
    await refused(register(dana, document_blob=await document(anna)), 403, "forbidden")
    # Registering the citizen as her own representative is refused.
    with pytest.raises(ClientError):
        await register(anna, personal_number=OMBUD_PNR, kind="god_man", basis="court_decision", reference="x",
                       starts_at=now(), ends_at=now() - 1)


async def test_a_childs_two_guardians_end_at_18_and_the_child_under_15_does_not_book_alone(login, server):
    anna = await login("anna")
    path = f"/api/cases/{CASE_ERIK}/representatives"
    twelve = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 12.5 * 365.25 * 86400))
    guardian = {"kind": "guardian", "basis": "custody", "scopes": ["read", "write", "apply", "book"],
                "child_born": twelve, "ends_at": None}
    first = await register(anna, path, personal_number=PARENT1_PNR, name="Petra Förälder", **guardian)
    second = await register(anna, path, personal_number=PARENT2_PNR, name="Per Förälder", **guardian)
    await refused(register(anna, path, personal_number=PARENT3_PNR, name="Tredje", **guardian), 409,
                  "too_many_guardians")
    # Custody ends at 18; the child speaks for himself from 15.
    assert now() + 5 * 365 * 86_400_000 < first["ends_at"] < now() + 6 * 365 * 86_400_000
    assert first["ends_at"] - first["child_speaks_from"] in range(3 * 365 * 86_400_000, 3 * 366 * 86_400_000 + 1)
    erik = await login("erik")
    petra = await login(first["holder"])
    try:
        # The child is heard (reads and writes to the caseworker), but books through his guardians until 15.
        assert (await erik.transport.call("GET", f"/api/cases/{CASE_ERIK}"))["case"]["may_answer"] is True
        await refused(erik.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings", {"slot_id": 999_999,
                                                                                      "form": "phone"}),
                      403, "forbidden")
        # The guardian may book: the policy lets her through to the booking itself (no such time here).
        with pytest.raises(ClientError) as error:
            await petra.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings", {"slot_id": 999_999,
                                                                                  "form": "phone"})
        assert error.value.status != 403
    finally:
        for mandate in (first, second):
            await anna.transport.call("POST", f"{path}/{mandate['id']}/end")


# -- keys: wrapped to the representative's devices while the mandate is in force, rotated away at its end ---
REKEY_PNR = "196909091008"


async def test_the_case_key_reaches_the_representatives_device_and_is_rotated_away_at_the_end(login, server):
    anna, dana = await login("anna"), await login("dana")
    rep = await register(anna, personal_number=REKEY_PNR, name="Rut Godman", kind="god_man", basis="court_decision",
                         reference="Ä 3-26", scopes=["read", "write"])
    rut = await login(rep["holder"])
    anna_socket, rut_socket = await anna.transport.open_socket(), await rut.transport.open_socket()
    try:
        await anna.send(anna_socket, await anna.case(CASE_DANA), "Till Dana och hennes gode man")
        # The demo key steward wraps the case key to Rut's proven device; she reads and writes in the case.
        rut_case = await rut.case(CASE_DANA)
        assert "Till Dana och hennes gode man" in [m.body["text"] for m in await rut.history(rut_case) if m.body]
        await rut.send(rut_socket, rut_case, "Hej, jag är Danas gode man")
    finally:
        await anna_socket.close()
        await rut_socket.close()
    last = (await dana.history(await dana.case(CASE_DANA)))[-1]
    assert (last.sender, last.body and last.body["text"]) == (rep["holder"], "Hej, jag är Danas gode man"), last.problems
    rows = audit_rows(server, rep["holder"])
    assert any(a == "message.send" and o == "allowed" and d.get("on_behalf_of") == "dana" for a, o, _, d in rows), rows

    before = (await anna.case(CASE_DANA))["key_epoch"]
    await anna.transport.call("POST", f"{REPS}/{rep['id']}/end")

    async def rotated() -> int:
        epoch = int((await anna.case(CASE_DANA))["key_epoch"])
        assert epoch > before, "the steward has not rotated the case key yet"
        return epoch
    epoch = await eventually(rotated, what="the case key rotated away from the ended mandate")
    with server.db() as db:
        recipients = {r for (r,) in db.execute("SELECT recipient FROM case_key_wraps WHERE case_id = ? AND epoch = ?",
                                              (CASE_DANA, epoch))}
    assert rut.device_id not in recipients and dana.device_id in recipients
    await refused(rut.transport.call("GET", f"/api/cases/{CASE_DANA}/keys"), 404, "unknown_case")


# -- withholding an entry from guardians (menprövning) ----------------------------------------------------
async def test_a_caseworker_withholds_one_entry_from_the_guardians_with_the_reason(login, server):
    from tests.test_journal import entry_body, journal, request, upload_body

    anna, erik = await login("anna"), await login("erik")
    path = f"/api/cases/{CASE_ERIK}/representatives"
    fourteen = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 14.2 * 365.25 * 86400))
    parent = await register(anna, path, personal_number="198808081007", name="Pia Förälder", kind="guardian",
                            basis="custody", child_born=fourteen, ends_at=None, scopes=["read"])
    pia = await login(parent["holder"])
    entries = []
    for title in ("Samtal med Erik", "Uppgift om pappans hälsa"):
        entry_id, body = await upload_body(anna, "journal.entry", entry_body(title, "text"), True, CASE_ERIK)
        await anna.transport.call("POST", f"/api/cases/{CASE_ERIK}/journal", request(body, sign=True, publish=True))
        entries.append(entry_id)
    shown, withheld = entries
    try:
        await refused(anna.transport.call("PUT", f"/api/journal/{withheld}/withheld", {"withheld": True}), 400,
                      "invalid_field")  # the harm assessment's reason is required
        await refused(erik.transport.call("PUT", f"/api/journal/{withheld}/withheld",
                                          {"withheld": True, "reason": "x"}), 403, "forbidden")
        await refused(pia.transport.call("PUT", f"/api/journal/{withheld}/withheld",
                                         {"withheld": True, "reason": "x"}), 403, "forbidden")
        reason = "Menprövning: uppgifter om tredje man (pappans hälsa), OSL 26:1"
        assert (await anna.transport.call("PUT", f"/api/journal/{withheld}/withheld",
                                          {"withheld": True, "reason": reason}))["withheld"] is True
        assert [e["id"] for e in (await journal(pia, CASE_ERIK))["entries"]] == [shown]
        assert {e["id"] for e in (await journal(erik, CASE_ERIK))["entries"]} >= {shown, withheld}
        listed = (await anna.transport.call("GET", f"/api/cases/{CASE_ERIK}/withheld"))["withheld"]
        assert [(w["entry_id"], w["reason"], w["by"]) for w in listed] == [(withheld, reason, "anna")]
        await refused(pia.transport.call("GET", f"/api/cases/{CASE_ERIK}/withheld"), 403, "forbidden")
        rows = audit_rows(server, "anna")
        assert ("journal.withheld", "allowed", CASE_ERIK) in [r[:3] for r in rows]
        assert reason not in str(rows)  # the reason is kept with the withholding, not copied into the log
        # Shown again: the guardian sees it.
        await anna.transport.call("PUT", f"/api/journal/{withheld}/withheld", {"withheld": False})
        assert {e["id"] for e in (await journal(pia, CASE_ERIK))["entries"]} == {shown, withheld}
        await refused(anna.transport.call("PUT", f"/api/journal/{withheld}/withheld", {"withheld": False}), 404,
                      "not_withheld")
    finally:
        await anna.transport.call("POST", f"{path}/{parent['id']}/end")
