"""The decision as a document (docs/applications.md, "The decision"), through the real server on both engines: the
caseworker's device seals and signs it; the server keeps who decided and when, never what; the first time a
device of the citizen's opens it is the day received (delgivning), with the appeal deadline three weeks on,
moved past weekends and holidays (lag (1930:173)); a decision sent on paper is recorded as posted. The database
holds none of the decision's content."""
from __future__ import annotations

import time
from datetime import date

import pytest

from chat.applications.deadline import appeal_deadline, holidays, in_time, swedish_day
from crypto.encoding import b64u

from .conftest import RunningServer
from .helpers import CASE_DANA
from .test_applications import grants_for, open_as_citizen, refused, sealed, submit

REASONS = "Hyran ryms i riksnormens boendekostnad men elräkningen från Skånska Kraft saknar underlag"
ITEM_LABEL = "Tandläkare Folktandvården Lund"
DECISION = {
    "type": "decision", "version": 2, "outcome": "partly",
    "period": {"from": "2026-12-01", "to": "2026-12-31"},
    "items": [{"label": "Hyra", "applied": 6743, "outcome": "granted", "amount": 6743},
              {"label": ITEM_LABEL, "applied": 2917, "outcome": "partly", "amount": 1459},
              {"label": "Hushållsel", "applied": 883, "outcome": "refused", "amount": 0}],
    "total": 8202, "reasons": REASONS,
    "legal_basis": [{"id": "sol-ekonomiskt-bistand", "text": "Socialtjänstlagen (2025:400)"}],
    "decided_by": {"name": "Anna Lind", "title": "Socialsekreterare"},
    "delegation": "Delegationsordning punkt 4.1.7",
    "date": "2026-12-07",
    "appeal": "Du kan överklaga beslutet. Skriv till enheten inom tre veckor från den dag du fick del av beslutet.",
}


@pytest.mark.parametrize(("received", "last"), [
    (date(2026, 12, 8), date(2026, 12, 29)),  # a Tuesday: the Tuesday three weeks on, across no weekend
    (date(2026, 1, 28), date(2026, 2, 18)),  # across the end of a month
    (date(2026, 12, 3), date(2026, 12, 28)),  # julafton, juldagen, annandag jul, then a weekend: Monday
    (date(2026, 12, 10), date(2027, 1, 4)),  # nyårsafton (a Thursday), nyårsdagen, a weekend: into the next year
    (date(2026, 3, 13), date(2026, 4, 7)),  # långfredagen (3 April), a weekend with Easter, annandag påsk: Tuesday
    (date(2026, 5, 29), date(2026, 6, 22)),  # midsommarafton (19 June) is the last day: the next Monday
    (date(2026, 5, 30), date(2026, 6, 22)),  # received on a Saturday: ends on a Saturday, so the Monday
])
def test_the_appeal_deadline_is_three_weeks_and_the_next_weekday(received, last):
    assert appeal_deadline(received) == last


def test_holidays_and_swedish_days():
    assert {date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 6), date(2027, 6, 25), date(2027, 11, 6)} <= holidays(2027)
    # 23:30 UTC on 7 December is 00:30 on 8 December in Sweden: received on the 8th
    assert swedish_day(1796686200000) == date(2026, 12, 8)
    assert in_time(1796686200000, 1796686200000 + 21 * 86400_000) and not in_time(1796686200000, 1796686200000 + 23 * 86400_000)


async def _decided(login) -> tuple:
    dana, anna = await login("dana"), await login("anna")
    application_id, _ = await submit(dana, {"type": "application", "answers": {"month": "2026-12"}}, "dana")
    decision_id, data, key = sealed(anna, "application.decision", DECISION, CASE_DANA)
    answer = await anna.transport.call("POST", f"/api/applications/{application_id}/decision", {
        "record": b64u(data), "grants": await grants_for(anna, decision_id, key, "dana")})
    return dana, anna, application_id, decision_id, answer


async def test_a_decision_is_received_once_by_the_citizens_device_and_the_server_keeps_no_content(
        login, server: RunningServer):
    dana, anna, application_id, decision_id, answer = await _decided(login)
    decision = answer["decision"]
    assert (decision["id"], decision["decided_by"], decision["decided_device"]) == (decision_id, "anna", anna.device_id)
    assert (decision["received_at"], decision["appeal_deadline"], decision["delivery"]) == (None, None, "app")

    # Staff reading it is not the citizen receiving it.
    assert (await refused(anna.transport.call("POST", f"/api/decisions/{decision_id}/received", {}))).status == 403
    view = await dana.transport.call("GET", f"/api/applications/{application_id}")
    assert open_as_citizen(dana, view, decision_id)["items"][1]["label"] == ITEM_LABEL
    first = await dana.transport.call("POST", f"/api/decisions/{decision_id}/received", {})
    assert first["recorded_now"] is True
    got = first["decision"]
    received = date.fromisoformat(got["received_on"])
    assert got["received_via"] == "app" and got["appeal_deadline"] == appeal_deadline(received).isoformat()
    again = await dana.transport.call("POST", f"/api/decisions/{decision_id}/received", {})
    assert again["recorded_now"] is False and again["decision"]["received_at"] == got["received_at"]
    seen = await anna.transport.call("GET", f"/api/applications/{application_id}")
    assert seen["decisions"][0]["appeal_deadline"] == got["appeal_deadline"]

    erik = await login("erik")
    assert (await refused(erik.transport.call("POST", f"/api/decisions/{decision_id}/received", {}))).status == 404
    unknown = await refused(dana.transport.call("POST", "/api/decisions/AAAAAAAAAAAAAAAAAAAAAA/received", {}))
    assert (unknown.status, unknown.code) == (404, "unknown_decision")

    greta = await login("greta")
    rows = (await greta.transport.call("GET", "/api/audit", params={"case": CASE_DANA, "limit": 500}))["rows"]
    actions = [r["action"] for r in rows if r["detail"].get("decision") == decision_id]
    assert actions.count("application.decision.received") == 1 and "application.decided" in actions

    content = server.stored_bytes()
    # (Amounts as the body would encode them: a bare "6743" can occur by chance in base64 or random bytes.)
    for secret in (REASONS, ITEM_LABEL, "Delegationsordning punkt 4.1.7", "Socialsekreterare", "2026-12-31",
                   "överklaga", '":6743', '": 6743', '":1459', '": 1459', '"partly"'):
        assert secret.encode() not in content, f"{secret!r} in the database"


async def test_a_decision_sent_by_post_and_a_correcting_decision(login):
    dana, anna, application_id, decision_id, _ = await _decided(login)
    today = swedish_day(int(time.time() * 1000)).isoformat()
    posted = (await anna.transport.call("POST", f"/api/decisions/{decision_id}/posted", {"posted_on": today}))["decision"]
    assert (posted["delivery"], posted["posted_by"], posted["received_at"]) == ("post", "anna", None)
    known = (await anna.transport.call("POST", f"/api/decisions/{decision_id}/posted", {
        "posted_on": today, "received_on": today}))["decision"]
    assert (known["received_via"], known["received_on"]) == ("staff", today)
    assert known["appeal_deadline"] == appeal_deadline(date.fromisoformat(today)).isoformat()
    # The citizen's device opening it later does not move the day received.
    assert (await dana.transport.call("POST", f"/api/decisions/{decision_id}/received", {}))["recorded_now"] is False
    bad = await refused(anna.transport.call("POST", f"/api/decisions/{decision_id}/posted", {"posted_on": "2020-01-01"}))
    assert (bad.status, bad.code) == (400, "invalid_field")
    assert (await refused(dana.transport.call("POST", f"/api/decisions/{decision_id}/posted", {"posted_on": today}))
            ).status == 403

    # A second decision on a decided application only as a correction of the first, which stays.
    second_id, data, key = sealed(anna, "application.decision", {**DECISION, "outcome": "granted"}, CASE_DANA)
    request = {"record": b64u(data), "grants": await grants_for(anna, second_id, key, "dana")}
    late = await refused(anna.transport.call("POST", f"/api/applications/{application_id}/decision", request))
    assert (late.status, late.code) == (409, "wrong_status")
    corrected = await anna.transport.call("POST", f"/api/applications/{application_id}/decision",
                                          {**request, "replaces": decision_id})
    assert corrected["decision"]["replaces"] == decision_id
    view = await dana.transport.call("GET", f"/api/applications/{application_id}")
    assert [d["id"] for d in view["decisions"]] == [decision_id, second_id]
