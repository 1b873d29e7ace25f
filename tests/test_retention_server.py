"""Gallring through the real server (docs/retention.md): a supervisor sets and lifts a legal hold on a case,
which is audited; the unit's staff and log reviewer read the rules, holds and deletion register, where every
deletion by rule is labelled automated; nobody else does; a person registered at the desk gets the research
sample flag from their number, and the number is not stored."""
from __future__ import annotations

import json

from .conftest import RunningServer
from .helpers import CASE_DANA, CASE_ERIK
from .test_applications import UNIT, refused

IN_SAMPLE = "19790215-1005"  # born on the 15th


async def test_a_supervisor_holds_a_case_and_the_unit_reads_the_rules_holds_and_register(login, server: RunningServer):
    cecilia, anna, greta, dana = (await login("cecilia"), await login("anna"), await login("greta"),
                                  await login("dana"))
    hold = {"held": True, "reason": "Begäran från förvaltningsrätten"}
    for person, status in ((anna, 403), (greta, 404), (dana, 403)):  # Dana reads her case, Greta none
        error = await refused(person.transport.call("PUT", f"/api/cases/{CASE_DANA}/legal-hold", hold))
        assert error.status == status
    error = await refused(cecilia.transport.call("PUT", f"/api/cases/{CASE_DANA}/legal-hold", {"held": True, "reason": " "}))
    assert (error.status, error.code) == (400, "invalid_field")
    assert await cecilia.transport.call("PUT", f"/api/cases/{CASE_DANA}/legal-hold", hold) == {
        "case_id": CASE_DANA, "held": True, "changed": True}
    again = await cecilia.transport.call("PUT", f"/api/cases/{CASE_DANA}/legal-hold", {**hold, "reason": "Annat"})
    assert again["changed"] is False

    # A deletion the job made (and one of the audit log's own prune), as the register keeps them.
    with server.db() as db:
        db.execute("INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
                   " VALUES (?, ?, 'message', 'default:message:5y', 3, 1)", (1_900_000_000_000, UNIT))
        db.execute("INSERT INTO retention_register (at, unit_id, record_kind, rule, count, automated)"
                   " VALUES (?, 'other-unit', 'message', 'default:message:5y', 9, 1)", (1_900_000_000_000,))
        db.commit()
    for person in (anna, greta):
        view = await person.transport.call("GET", "/api/retention")
        assert view["unit_id"] == UNIT
        assert [(r["kind"], r["keep_years"], r["source"]) for r in view["rules"]] == [
            (kind, 5, "default") for kind in ("message", "attachment", "journal", "application", "booking")]
        assert [(h["case_id"], h["reason"], h["set_by"]) for h in view["holds"]] == [
            (CASE_DANA, "Begäran från förvaltningsrätten", "Cecilia Berg")]
        assert view["register"] == [{"at": 1_900_000_000_000, "kind": "message", "rule": "default:message:5y",
                                     "count": 3, "automated": True, "scope": "unit"}]  # not the other unit's
    assert (await refused(dana.transport.call("GET", "/api/retention"))).status == 403

    assert await cecilia.transport.call("PUT", f"/api/cases/{CASE_DANA}/legal-hold",
                                        {"held": False, "reason": ""}) == {"case_id": CASE_DANA, "held": False,
                                                                           "changed": True}
    assert (await anna.transport.call("GET", "/api/retention"))["holds"] == []
    with server.db() as db:
        rows = [(a, o, c, json.loads(d or "{}")) for a, o, c, d in db.execute(
            "SELECT action, outcome, case_id, detail FROM audit_log WHERE action LIKE 'case.legal_hold.%'"
            " OR action = 'case.hold' ORDER BY id")]
    assert [r[:3] for r in rows if r[0].startswith("case.legal_hold")] == [("case.legal_hold.set", "allowed", CASE_DANA),
                                                          ("case.legal_hold.lifted", "allowed", CASE_DANA)]
    assert {r[0] for r in rows if r[1] == "denied"} == {"case.hold"}  # the refusals are in the log too
    assert all("förvaltningsrätten" not in json.dumps(r[3]) for r in rows)  # free text stays with the hold
    assert not [r for r in rows if r[2] == CASE_ERIK]  # Erik's case was never touched


async def test_a_person_registered_at_the_desk_gets_the_research_sample_flag_not_the_number(login, server):
    anna = await login("anna")
    registered = await anna.transport.call("POST", f"/api/units/{UNIT}/citizens",
                                           {"personal_number": IN_SAMPLE, "name": "Sam Urval"})
    citizen_id = registered["citizen"]["id"]
    with server.db() as db:
        assert list(db.execute("SELECT in_sample FROM research_sample WHERE user_id = ?", (citizen_id,))) == [(1,)]
    digits = IN_SAMPLE.replace("-", "").encode()
    assert digits not in server.stored_bytes() and IN_SAMPLE.encode() not in server.stored_bytes()


async def test_a_supervisor_sets_the_units_own_rule_and_nobody_else_does(login, server):
    cecilia, anna = await login("cecilia"), await login("anna")
    assert (await refused(anna.transport.call("PUT", "/api/retention/rules/journal", {"period": "never"}))).status == 403
    assert (await refused(cecilia.transport.call("PUT", "/api/retention/rules/letters", {"period": "never"}))).status == 404
    assert (await refused(cecilia.transport.call("PUT", "/api/retention/rules/journal", {"period": "years"}))).status == 400
    assert await cecilia.transport.call("PUT", "/api/retention/rules/journal", {"period": "never"}) == {
        "kind": "journal", "keep_years": None, "source": "unit", "rule": "unit:journal:keep"}
    assert (await cecilia.transport.call("PUT", "/api/retention/rules/booking", {"period": "years", "years": 2}))[
        "rule"] == "unit:booking:2y"
    rules = {r["kind"]: r["rule"] for r in (await anna.transport.call("GET", "/api/retention"))["rules"]}
    assert rules == {"message": "default:message:5y", "attachment": "default:attachment:5y",
                     "journal": "unit:journal:keep", "application": "default:application:5y",
                     "booking": "unit:booking:2y"}
    assert (await cecilia.transport.call("PUT", "/api/retention/rules/journal", {"period": "default"}))[
        "rule"] == "default:journal:5y"
    with server.db() as db:
        logged = [json.loads(d)["rule"] for (d,) in db.execute(
            "SELECT detail FROM audit_log WHERE action = 'retention.rule' ORDER BY id")]
    assert logged == ["unit:journal:keep", "unit:booking:2y", "default:journal:5y"]
    await cecilia.transport.call("PUT", "/api/retention/rules/booking", {"period": "default"})  # as it was
