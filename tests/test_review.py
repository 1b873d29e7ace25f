"""Log review (loggkontroll) through the real server: the unit's log reviewer searches the audit log by
citizen, case, staff member and period, draws samples and records findings; nobody else may."""
from __future__ import annotations

import time

import pytest

from web.client.transport import ClientError

from .helpers import CASE_DANA, CASE_ERIK


async def test_log_reviewer_finds_who_read_a_citizens_case_and_records_a_finding(login):
    dana, bo, greta = await login("dana"), await login("bo"), await login("greta")
    start = int(time.time() * 1000) - 1
    await dana.cases()
    await bo.history(await bo.case(CASE_DANA))  # bo, not assigned, reads dana's case
    call = greta.transport.call
    by_citizen = (await call("GET", "/api/audit", params={"citizen": "dana", "from": start}))["rows"]
    assert by_citizen and {r["case_id"] for r in by_citizen} == {CASE_DANA}
    reads_by_bo = (await call("GET", "/api/audit", params={"case": CASE_DANA, "staff": "bo", "from": start}))["rows"]
    assert reads_by_bo and all(r["actor"] == "bo" and r["outcome"] == "allowed" for r in reads_by_bo)
    assert "case.read" in {r["action"] for r in reads_by_bo}
    assert not (await call("GET", "/api/audit", params={"case": CASE_ERIK, "staff": "bo", "from": start}))["rows"]

    sample = (await call("GET", "/api/audit/sample", params={"size": 5}))["rows"]
    assert 1 <= len(sample) <= 5 and all(r["unit_id"] == "ekonomiskt-bistand" for r in sample)

    target = reads_by_bo[0]["id"]
    created = await call("POST", "/api/audit/findings", {"audit_id": target, "verdict": "question",
                                                          "note": "Bo är inte handläggare i ärendet. Varför?"})
    findings = (await call("GET", "/api/audit/findings"))["findings"]
    assert findings[0] == {**findings[0], "id": created["id"], "audit_id": target, "reviewer": "greta",
                           "verdict": "question"}
    # The review itself is audited.
    mine = (await call("GET", "/api/audit", params={"staff": "greta", "from": start, "limit": 500}))["rows"]
    assert {"audit.read", "audit.review"} <= {r["action"] for r in mine}


async def test_only_the_log_reviewer_reviews_and_a_reviewer_reads_no_messages(login):
    anna, dana, greta = await login("anna"), await login("dana"), await login("greta")
    for user in (anna, dana):
        with pytest.raises(ClientError) as refused:
            await user.transport.call("GET", "/api/audit")
        assert refused.value.status == 403
    with pytest.raises(ClientError) as no_content:
        await greta.transport.call("GET", f"/api/cases/{CASE_DANA}/messages")
    assert no_content.value.status == 404  # cases are not hers to read: as if they did not exist
    for bad in ({"audit_id": 1, "verdict": "maybe"}, {"audit_id": 10**9, "verdict": "ok"}):
        with pytest.raises(ClientError) as refused:
            await greta.transport.call("POST", "/api/audit/findings", bad)
        assert refused.value.status in (400, 404)


async def test_the_log_is_searched_by_name_and_shows_names_beside_ids(login):
    dana, bo, greta = await login("dana"), await login("bo"), await login("greta")
    start = int(time.time() * 1000) - 1
    await dana.cases()
    await bo.history(await bo.case(CASE_DANA))
    call = greta.transport.call
    people = await call("GET", "/api/audit/people")
    assert {"id": "dana", "name": "Dana Karlsson"} in people["citizens"]
    assert any(p["id"] == "bo" for p in people["staff"])
    by_name = (await call("GET", "/api/audit", params={"citizen": "dana karl", "staff": "Bo", "from": start}))["rows"]
    assert by_name and {r["actor"] for r in by_name} == {"bo"} and {r["case_id"] for r in by_name} == {CASE_DANA}
    assert {r["actor_name"] for r in by_name} == {people_name(people, "bo")}
    assert {r["case_citizen_name"] for r in by_name} == {"Dana Karlsson"}
    with pytest.raises(ClientError) as ambiguous:
        await call("GET", "/api/audit", params={"citizen": "k"})  # Dana Karlsson and Erik ... both have a k
    assert ambiguous.value.status == 400 and ambiguous.value.code == "ambiguous_name"


def people_name(people: dict, user_id: str) -> str:
    return next(p["name"] for p in people["staff"] if p["id"] == user_id)
