"""Kommunicering, withdrawal and reopening of applications through the real server (docs/applications.md): the
unit shares the decision basis (sealed, with a document and a date to answer by) and the citizen answers it in
Samtal; kommunicering done by phone is recorded by staff; the citizen withdraws an undecided application and
staff record a withdrawal asked for by phone; a decided application is reopened and decided anew. Each step is
a timeline event with its metadata, in the audit log, and nothing of what was written is stored in clear."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crypto.encoding import b64u
from web.client.session import ClientSession

from .conftest import RunningServer
from .helpers import CASE_DANA
from .test_applications import (
    DAY,
    encrypted_file,
    grants_for,
    now_ms,
    open_as_citizen,
    open_as_staff,
    refused,
    sealed,
    submit,
    upload,
    waiting,
)

BASIS = "Uppgift från Försäkringskassan: sjukpenning 9 400 kronor i maj"
REPLY = "Sjukpenningen betalades tillbaka, se kvittot från Försäkringskassan"
PHONE_NOTE = "Kommunicerat per telefon; Erik godtar att hyran räknas som 5 000 kronor"
REFUSAL = "Avslag: inkomsten täcker behovet i maj"
DOCUMENT = b"%PDF-1.7 utdrag ur Forsakringskassans beslut om sjukpenning"
FORM = {"type": "application", "form": {"id": "ekonomiskt-bistand", "version": 1}, "answers": {"month": "2026-05"}}


async def step(session: ClientSession, app_id: str, route: str, kind: str, body: dict[str, Any], citizen: str,
               **extra: Any) -> tuple[str, dict[str, Any]]:
    record_id, data, key = sealed(session, kind, body, CASE_DANA)
    answer = await session.transport.call("POST", f"/api/applications/{app_id}/{route}", {
        "record": b64u(data), "grants": await grants_for(session, record_id, key, citizen), **extra})
    return record_id, answer["application"]


async def test_kommunicering_in_samtal_and_the_citizens_answer(login, server: RunningServer) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, _ = await submit(dana, FORM, "dana")
    blob, file_key = encrypted_file(DOCUMENT)
    blob_id = await upload(anna, f"/api/applications/{app_id}/blobs", blob)  # the unit's document
    due = now_ms() + 10 * DAY
    basis_id, app = await step(anna, app_id, "communications", "application.communication", {
        "type": "communication", "summary": BASIS, "entries": [],
        "attachments": [{"name": "fk.pdf", "blob_id": blob_id, **file_key}]}, "dana",
        method="app", due_at=due, blobs=[blob_id])
    assert (app["status"], app["due_at"], app["awaiting_unit"]) == ("communicated", due, False)
    assert waiting(server, "dana", CASE_DANA)  # news for the e-mail notification, without content

    mine = await dana.transport.call("GET", f"/api/applications/{app_id}")
    assert open_as_citizen(dana, mine, basis_id)["summary"] == BASIS
    event = mine["events"][-1]
    assert (event["kind"], event["detail"], event["due_at"], event["on_behalf"]) == ("communicated", {"method": "app"},
                                                                                     due, False)
    assert (await dana.transport.http.get(f"/api/applications/{app_id}/blobs/{blob_id}")).content == blob

    # Only the unit shares a decision basis; only the citizen answers it.
    wrong = await refused(step(dana, app_id, "communications", "application.communication", {}, "dana",
                               method="app", due_at=due))
    assert wrong.status == 403
    wrong = await refused(step(anna, app_id, "communication-answers", "application.communication_reply", {},
                               "dana"))
    assert wrong.status == 403
    without_date = await refused(step(anna, app_id, "communications", "application.communication", {}, "dana",
                                      method="app"))
    assert (without_date.status, without_date.code) == (400, "invalid_field")

    reply_id, app = await step(dana, app_id, "communication-answers", "application.communication_reply",
                               {"type": "communication_reply", "text": REPLY, "attachments": []}, "dana")
    assert (app["status"], app["awaiting_unit"]) == ("communication_answered", True)
    seen = await anna.transport.call("GET", f"/api/applications/{app_id}")
    assert (await open_as_staff(anna, seen, reply_id))["text"] == REPLY

    decision_id, app = await step(anna, app_id, "decision", "application.decision", {
        "type": "decision", "outcome": "refused", "text": REFUSAL,
        "communication": {"done": True, "record": basis_id, "answer": reply_id}}, "dana")
    assert app["status"] == "decided"
    late = await refused(step(dana, app_id, "communication-answers", "application.communication_reply",
                              {"type": "communication_reply", "text": "sent"}, "dana"))
    assert (late.status, late.code) == (409, "wrong_status")

    greta = await login("greta")
    rows = (await greta.transport.call("GET", "/api/audit", params={"case": CASE_DANA, "limit": 500}))["rows"]
    actions = {r["action"] for r in rows if r["detail"].get("application") == app_id}
    assert {"application.communicated", "application.communication_answered", "application.decided"} <= actions
    content = server.stored_bytes()
    for secret in (BASIS.encode(), REPLY.encode(), REFUSAL.encode(), b"Forsakringskassans"):
        assert secret not in content


async def test_kommunicering_by_phone_is_recorded_by_staff(login, server: RunningServer) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, _ = await submit(dana, FORM, "dana")
    note_id, app = await step(anna, app_id, "communications", "application.communication",
                              {"type": "communication", "summary": PHONE_NOTE, "entries": []}, "dana",
                              method="phone")
    assert (app["status"], app["due_at"]) == ("assessing", None)  # the answer was given on the phone
    view = await dana.transport.call("GET", f"/api/applications/{app_id}")
    event = view["events"][-1]
    assert (event["kind"], event["detail"], event["on_behalf"]) == ("communicated", {"method": "phone"}, True)
    assert open_as_citizen(dana, view, note_id)["summary"] == PHONE_NOTE
    unknown = await refused(step(anna, app_id, "communications", "application.communication", {}, "dana",
                                 method="carrier-pigeon"))
    assert unknown.code == "invalid_field"
    assert PHONE_NOTE.encode() not in server.stored_bytes()


async def test_withdrawal_by_the_citizen_and_on_her_behalf(login) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, _ = await submit(dana, FORM, "dana")
    app = (await dana.transport.call("POST", f"/api/applications/{app_id}/withdrawal", {}))["application"]
    assert app["status"] == "withdrawn"
    again = await refused(dana.transport.call("POST", f"/api/applications/{app_id}/withdrawal", {}))
    assert (again.status, again.code) == (409, "wrong_status")
    decided = await refused(step(anna, app_id, "decision", "application.decision", {"type": "decision"}, "dana"))
    assert decided.code == "wrong_status"  # nothing is decided on a withdrawn application

    by_phone, _ = await submit(dana, FORM, "dana")
    app = (await anna.transport.call("POST", f"/api/applications/{by_phone}/withdrawal", {}))["application"]
    view = await dana.transport.call("GET", f"/api/applications/{by_phone}")
    assert app["status"] == "withdrawn"
    assert (view["events"][-1]["kind"], view["events"][-1]["on_behalf"], view["events"][-1]["actor"]) == (
        "withdrawn", True, "anna")


async def test_a_decided_application_is_reopened_and_decided_anew(login) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, _ = await submit(dana, FORM, "dana")
    early = await refused(anna.transport.call("POST", f"/api/applications/{app_id}/reopening", {}))
    assert (early.status, early.code) == (409, "wrong_status")
    first, _ = await step(anna, app_id, "decision", "application.decision", {"type": "decision", "text": "a"}, "dana")
    not_hers = await refused(dana.transport.call("POST", f"/api/applications/{app_id}/reopening", {}))
    assert not_hers.status == 403
    app = (await anna.transport.call("POST", f"/api/applications/{app_id}/reopening", {}))["application"]
    assert app["status"] == "assessing"
    second, app = await step(anna, app_id, "decision", "application.decision",
                             {"type": "decision", "text": "b", "replaces": first}, "dana", replaces=first)
    view = await dana.transport.call("GET", f"/api/applications/{app_id}")
    assert [e["kind"] for e in view["events"]] == ["received", "decided", "reopened", "decided"]
    assert open_as_citizen(dana, view, first)["text"] == "a"  # the old decision stays readable
    assert open_as_citizen(dana, view, second)["replaces"] == first
    assert [(d["id"], d["replaces"]) for d in view["decisions"]] == [(first, None), (second, first)]


APPEAL = "Jag vill ha bistånd till hyran för maj, 6 500 kronor, eftersom min lön kom för sent"
RECONSIDERED = "Omprövning: beslutet ändras inte, lönen räknas till maj"


async def decided_and_received(dana: ClientSession, anna: ClientSession) -> tuple[str, str]:
    """An application decided by Anna and opened by Dana (the day received is recorded): (application, decision)."""
    app_id, _ = await submit(dana, FORM, "dana")
    decision_id, _ = await step(anna, app_id, "decision", "application.decision",
                                {"type": "decision", "outcome": "refused", "text": "Avslag"}, "dana")
    await dana.transport.call("POST", f"/api/decisions/{decision_id}/received", {})
    return app_id, decision_id


async def test_an_appeal_in_time_is_reconsidered_and_forwarded(login, server: RunningServer) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, decision_id = await decided_and_received(dana, anna)
    appeal_id, app = await step(dana, app_id, "appeals", "application.appeal",
                                {"type": "appeal", "decision": decision_id, "change": APPEAL, "why": APPEAL},
                                "dana", decision_id=decision_id)
    assert (app["status"], app["awaiting_unit"]) == ("appealed", True)
    view = await anna.transport.call("GET", f"/api/applications/{app_id}")
    event = view["events"][-1]
    assert event["kind"] == "appealed" and event["detail"]["in_time"] is True
    assert event["detail"]["deadline"] == view["decisions"][-1]["appeal_deadline"]
    assert (await open_as_staff(anna, view, appeal_id))["change"] == APPEAL
    early = await refused(anna.transport.call("POST", f"/api/applications/{app_id}/dismissal", {}))
    assert (early.status, early.code) == (409, "wrong_status")  # only a late appeal is dismissed by the unit

    _, app = await step(anna, app_id, "reconsideration", "application.reconsideration",
                        {"type": "reconsideration", "text": RECONSIDERED}, "dana", changed=False)
    assert app["status"] == "appeal_reconsidered"
    app = (await anna.transport.call("POST", f"/api/applications/{app_id}/forwarding",
                                     {"court": "Förvaltningsrätten i Göteborg"}))["application"]
    assert app["status"] == "appeal_forwarded"
    mine = await dana.transport.call("GET", f"/api/applications/{app_id}")
    assert [(e["kind"], e["detail"]) for e in mine["events"][-2:]] == [
        ("appeal_reconsidered", {"changed": False}), ("appeal_forwarded", {"court": "Förvaltningsrätten i Göteborg"})]
    content = server.stored_bytes()
    assert APPEAL.encode() not in content and RECONSIDERED.encode() not in content


async def test_a_late_appeal_is_shown_late_and_dismissed(login, server: RunningServer) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, decision_id = await decided_and_received(dana, anna)
    with server.db() as db:  # she received it five weeks ago
        db.execute("UPDATE application_decisions SET received_at = received_at - ? WHERE id = ?",
                   (35 * DAY, decision_id))
    wrong = await refused(step(dana, app_id, "appeals", "application.appeal", {"type": "appeal"}, "dana",
                               decision_id="not-the-decision"))
    assert wrong.code == "unknown_decision"
    _, app = await step(dana, app_id, "appeals", "application.appeal", {"type": "appeal", "change": "x"}, "dana",
                        decision_id=decision_id)
    view = await anna.transport.call("GET", f"/api/applications/{app_id}")
    assert view["events"][-1]["detail"]["in_time"] is False
    app = (await anna.transport.call("POST", f"/api/applications/{app_id}/dismissal", {}))["application"]
    assert app["status"] == "appeal_dismissed"
    pending = (await anna.transport.call("GET", f"/api/cases/{CASE_DANA}"))["case"]["pending"]
    assert pending["appeals_waiting"] == 0


async def test_a_paper_appeal_is_registered_by_staff_with_the_day_it_came_in(login, server: RunningServer) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, decision_id = await decided_and_received(dana, anna)
    with server.db() as db:  # decided and received four weeks ago
        db.execute("UPDATE application_decisions SET received_at = received_at - ?, decided_at = decided_at - ?"
                   " WHERE id = ?", (28 * DAY, 28 * DAY, decision_id))
    arrived = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()  # a letter that came in time
    mine = await refused(step(dana, app_id, "appeals", "application.appeal", {"type": "appeal"}, "dana",
                              decision_id=decision_id, arrived_on=arrived))
    assert mine.code == "invalid_field"  # the citizen's own appeal came in now
    _, app = await step(anna, app_id, "appeals", "application.appeal", {"type": "appeal", "change": "brev"}, "dana",
                        decision_id=decision_id, arrived_on=arrived)
    view = await dana.transport.call("GET", f"/api/applications/{app_id}")
    event = view["events"][-1]
    assert (event["kind"], event["on_behalf"], event["actor"]) == ("appealed", True, "anna")
    assert (event["detail"]["in_time"], event["detail"]["arrived_on"]) == (True, arrived)


async def test_the_inbox_says_when_the_time_for_comments_is_near(login) -> None:
    dana, anna = await login("dana"), await login("anna")
    app_id, _ = await submit(dana, FORM, "dana")
    due = now_ms() + DAY
    await step(anna, app_id, "communications", "application.communication", {"type": "communication"}, "dana",
               method="app", due_at=due)
    pending = (await anna.transport.call("GET", f"/api/cases/{CASE_DANA}"))["case"]["pending"]
    assert pending["comments_due_near"] is True and pending["comments_due_at"] <= due
    mine = (await dana.transport.call("GET", f"/api/cases/{CASE_DANA}"))["case"]["pending"]
    assert {"application": app_id, "form": "ekonomiskt-bistand", "due_at": due} in mine["communications"]
