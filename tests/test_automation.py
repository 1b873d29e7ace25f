"""DOMAIN rule 10 through the real server, on either engine (chat/automation.py): what Samtal does by itself (a
meeting reminder, a notification e-mail) is recorded with no person as its actor and with its rule, and the log
reviewer sees it as such; a computed date says it is computed; and no decision exists without the person who
made it: the database refuses a decision step with no actor, and every decision names a staff member of its
unit, who signed it with their own device."""
from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from chat.automation import ROLE, STEPS
from crypto.encoding import b64u

from .conftest import free_port, server_fixture
from .helpers import CASE_DANA, local_mailbox
from .test_applications import grants_for, sealed, submit
from .test_booking import publish
from .waiting import eventually

SMTP_PORT = free_port()
server = server_fixture(SAMTAL_SMTP_HOST="127.0.0.1", SAMTAL_SMTP_PORT=str(SMTP_PORT),
                        SAMTAL_BOOKING_REMINDER_HOURS="2", SAMTAL_BOOKING_REMINDER_CHECK_SECONDS="1",
                        SAMTAL_NOTIFY_GRACE_SECONDS="0", SAMTAL_NOTIFY_CHECK_SECONDS="1")
HOUR = 3600_000


@pytest.fixture(scope="module", autouse=True)
def mailbox() -> Any:
    yield from local_mailbox(SMTP_PORT)


def automated_rows(server: Any) -> list[tuple[Any, ...]]:
    with server.db() as db:
        return list(db.execute("SELECT action, actor, role, case_id, unit_id, detail FROM audit_log WHERE role = ?"
                               " AND action LIKE 'automated.%'", (ROLE,)))


async def test_what_samtal_does_by_itself_is_recorded_with_its_rule_and_no_person(login, server, mailbox) -> None:
    anna, dana, greta = await login("anna"), await login("dana"), await login("greta")
    slot = await publish(anna, int(time.time() * 1000) + HOUR, ["phone"])
    booking = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                         {"slot_id": slot["id"], "form": "phone"}))["booking"]
    view = await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/bookings")
    assert view["reminder_hours"] == 2  # the booking page says when Samtal reminds, and that it is automatic
    await dana.transport.call("PUT", "/api/me/notifications", {"email_opt_in": True, "language": "sv"})
    socket = await anna.transport.open_socket()
    try:
        await anna.send(socket, await anna.case(CASE_DANA), "Hej Dana, vi ses på tisdag")
    finally:
        await socket.close()

    def steps() -> set[str]:
        return {row[0] for row in automated_rows(server)}
    await eventually(lambda: {"automated.booking_reminder", "automated.notification_mail"} <= steps(), within=30)
    for action, actor, role, case_id, unit_id, detail in automated_rows(server):
        detail = json.loads(detail) if isinstance(detail, str) else detail
        assert actor is None and role == ROLE  # no person did it
        step = action.removeprefix("automated.")
        assert detail["automated"] == step and detail["rule"] == STEPS[step]
        if step == "booking_reminder":
            assert (case_id, unit_id, detail["booking"]) == (CASE_DANA, "ekonomiskt-bistand", booking["id"])
        if step == "notification_mail":
            assert detail["person"] == "dana" and case_id is None
    # The unit's log reviewer sees the reminder as Samtal's, not anyone's.
    rows = (await greta.transport.call("GET", "/api/audit", params={"case": CASE_DANA, "limit": 500}))["rows"]
    reminder = next(r for r in rows if r["action"] == "automated.booking_reminder")
    assert (reminder["actor"], reminder["actor_name"], reminder["role"]) == (None, None, ROLE)
    # A computed due date says so in the record.
    extract = await dana.transport.call("POST", "/api/me/extract", {})
    assert extract["request"]["automated"] == {"due_at": STEPS["extract_due"]}


async def test_no_decision_exists_without_the_person_who_made_it(login, server) -> None:
    dana, anna = await login("dana"), await login("anna")
    application_id, _ = await submit(dana, {"type": "application", "answers": {"month": "2026-07"},
                                            "form": {"id": "ekonomiskt-bistand", "version": 1}}, "dana")
    decision_id, data, key = sealed(anna, "application.decision", {"type": "decision", "text": "Beviljat"},
                                    CASE_DANA)
    body = {"record": b64u(data), "grants": await grants_for(anna, decision_id, key, "dana")}
    async with httpx.AsyncClient(base_url=server.url) as nobody:  # no session: nobody signed in
        anonymous = await nobody.post(f"/api/applications/{application_id}/decision", json=body,
                                      headers={"origin": server.url})
    assert anonymous.status_code == 401 and anonymous.json()["type"].endswith("/not_signed_in")
    await anna.transport.call("POST", f"/api/applications/{application_id}/decision", body)

    with server.db() as db:
        decided = list(db.execute(
            "SELECT e.actor, u.role, u.unit_id, a.unit_id, r.author FROM application_events e"
            " JOIN applications a ON a.id = e.application_id LEFT JOIN users u ON u.id = e.actor"
            " LEFT JOIN application_records r ON r.id = e.record_id WHERE e.kind = 'decided'"))
    assert decided, "a decision was made"
    for actor, role, their_unit, unit, author in decided:
        # A staff member of the application's unit, who also wrote and signed the decision's record.
        assert actor and role in ("caseworker", "supervisor", "unit_admin") and their_unit == unit and author == actor
    # The database itself refuses a decision step that names nobody.
    with pytest.raises(Exception), server.db() as db:  # noqa: B017, PT011 (either engine's IntegrityError)
        db.execute("INSERT INTO application_events (application_id, kind, actor, on_behalf, at)"
                   " VALUES (?, 'decided', NULL, 0, 0)", (application_id,))
    # And nothing Samtal does by itself decides.
    assert not any("decid" in step or "decision" in step for step in STEPS)
    assert not any("decid" in row[0] for row in automated_rows(server))
