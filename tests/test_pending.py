"""What waits in a case (#14: a home that says what is waiting), through the real server: the case list names,
for the citizen, requests for completion with their due dates, decisions, the next meeting with its form, place
and caseworker, open objections and answered ones; for the unit's staff, new applications, answered requests,
a near due date and open objections. Every change comes as a `pending` frame to the citizen and the unit's
staff online, and nothing of what anyone wrote is in the list or the frames."""
from __future__ import annotations

from typing import Any

from crypto.encoding import b64u
from web.client.session import ClientSession

from .helpers import CASE_DANA, next_frame
from .test_applications import DAY, grants_for, now_ms, sealed, submit
from .test_booking import day_start, publish
from .test_journal import entry_body, request, upload_body

SECRET_REQUEST = "Skicka hyreskontraktet för Kvarnbacken 12"
SECRET_SUPPLEMENT = "Kontraktet för Kvarnbacken 12 är bifogat"
SECRET_DECISION = "Beviljas 4 120 kronor för december"
SECRET_ENTRY = "Hembesök: hyran är obetald sedan oktober"
SECRET_DISPUTE = "Hyran för oktober är betald, kvitto finns"
SECRET_RESPONSE = "Vi har rättat uppgiften om oktober"
SECRETS = (SECRET_REQUEST, SECRET_SUPPLEMENT, SECRET_DECISION, SECRET_ENTRY, SECRET_DISPUTE, SECRET_RESPONSE)


async def pending(session: ClientSession, case_id: str = CASE_DANA) -> dict[str, Any]:
    cases = (await session.transport.call("GET", "/api/cases"))["cases"]
    found = next(c for c in cases if c["id"] == case_id)
    assert not any(secret in str(cases) for secret in SECRETS)
    return found["pending"]  # type: ignore[no-any-return]


async def pending_frame(socket: Any, what: str) -> dict[str, Any]:
    """The next `pending` frame about `what` (the citizen also hears of her own objection, say)."""
    while True:
        frame = await next_frame(socket, "pending", case_id=CASE_DANA)
        assert not any(secret in str(frame) for secret in SECRETS)
        if frame["what"] == what:
            return frame


async def test_applications_waiting_show_on_both_sides_live(login):
    dana, anna = await login("dana"), await login("anna")
    assert (await pending(dana))["completions"] == [] and (await pending(anna))["applications_new"] == 0
    citizen_socket, staff_socket = await dana.transport.open_socket(), await anna.transport.open_socket()
    try:
        record_id, _ = await submit(dana, {"type": "application", "form": {"id": "ekonomiskt-bistand", "version": 1},
                                           "answers": {"month": "2026-12"}}, "dana")
        await pending_frame(staff_socket, "application")
        assert (await pending(anna))["applications_new"] == 1

        # A request for completion due tomorrow: the citizen sees it with its date, the unit a near deadline.
        due = now_ms() + DAY
        completion_id, data, key = sealed(anna, "application.completion", {"type": "completion",
                                                                          "text": SECRET_REQUEST}, CASE_DANA)
        await anna.transport.call("POST", f"/api/applications/{record_id}/completion-requests", {
            "record": b64u(data), "grants": await grants_for(anna, completion_id, key, "dana"), "due_at": due})
        await pending_frame(citizen_socket, "application")
        mine = await pending(dana)
        assert mine["completions"] == [{"application": record_id, "form": "ekonomiskt-bistand", "due_at": due}]
        unit = await pending(anna)
        assert (unit["applications_new"], unit["completions_waiting"], unit["deadline_at"], unit["deadline_near"]) == (
            0, 1, due, True)

        # The citizen answers: the unit has an answered request to read, the citizen nothing left to send.
        supplement_id, data, key = sealed(dana, "application.supplement", {"type": "supplement",
                                                                          "text": SECRET_SUPPLEMENT}, CASE_DANA)
        await dana.transport.call("POST", f"/api/applications/{record_id}/supplements", {
            "record": b64u(data), "grants": await grants_for(dana, supplement_id, key, "dana"), "blobs": []})
        await pending_frame(staff_socket, "application")
        unit = await pending(anna)
        assert (unit["completions_answered"], unit["completions_waiting"], unit["deadline_near"]) == (1, 0, False)
        assert (await pending(dana))["completions"] == []

        # The decision: the citizen has a decision to read.
        decision_id, data, key = sealed(anna, "application.decision", {"type": "decision",
                                                                      "text": SECRET_DECISION}, CASE_DANA)
        await anna.transport.call("POST", f"/api/applications/{record_id}/decision", {
            "record": b64u(data), "grants": await grants_for(anna, decision_id, key, "dana")})
        await pending_frame(citizen_socket, "application")
        decisions = (await pending(dana))["decisions"]
        assert [(d["application"], d["form"]) for d in decisions] == [(record_id, "ekonomiskt-bistand")]
        assert (await pending(anna))["completions_answered"] == 0
    finally:
        await citizen_socket.close()
        await staff_socket.close()


async def test_objections_and_meetings_show_live(login):
    dana, anna = await login("dana"), await login("anna")
    citizen_socket, staff_socket = await dana.transport.open_socket(), await anna.transport.open_socket()
    try:
        entry_id, body = await upload_body(anna, "journal.entry", entry_body("Hembesök", SECRET_ENTRY), True)
        await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(body, sign=True, publish=True))

        # The citizen objects: the unit's inbox has an open objection (and not "answered").
        dispute_id, dispute = await upload_body(dana, "journal.remark", {"type": "journal.remark",
                                                                         "text": SECRET_DISPUTE}, True)
        await dana.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(dispute))
        await pending_frame(staff_socket, "journal")
        unit = await pending(anna)
        assert unit["objections_open"] == 1 and unit["objection_since"] is not None
        assert (await pending(dana))["objections_open"] == 1

        _, response = await upload_body(anna, "journal.response", {"type": "journal.response",
                                                                   "text": SECRET_RESPONSE}, True)
        await anna.transport.call("POST", f"/api/journal/remarks/{dispute_id}/responses", request(response))
        await pending_frame(citizen_socket, "journal")
        mine = await pending(dana)
        assert mine["objections_open"] == 0
        assert [(a["dispute"], a["entry"]) for a in mine["answers"]] == [(dispute_id, entry_id)]
        assert (await pending(anna))["objections_open"] == 0

        # A meeting booked for her: the next one, with its form, time and caseworker.
        assert (await pending(dana))["meeting"] is None
        later = await publish(anna, day_start(3) + 10 * 3600_000, ["in_person", "video"])
        sooner = await publish(anna, day_start(2) + 9 * 3600_000, ["phone"])
        for slot, form in ((later, "in_person"), (sooner, "phone")):
            await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings", {"slot_id": slot["id"], "form": form})
            await pending_frame(citizen_socket, "booking")
        meeting = (await pending(dana))["meeting"]
        assert (meeting["starts_at"], meeting["form"], meeting["with_name"], meeting["address"]) == (
            sooner["starts_at"], "phone", "Anna Lind", None)
        await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{meeting['booking']}/cancel", {})
        await pending_frame(citizen_socket, "booking")
        meeting = (await pending(dana))["meeting"]
        assert (meeting["starts_at"], meeting["form"]) == (later["starts_at"], "in_person")
        assert meeting["address"]  # in person: where
    finally:
        await citizen_socket.close()
        await staff_socket.close()
