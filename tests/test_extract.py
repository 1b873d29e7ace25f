"""Registerutdrag (GDPR art. 15, docs/extract.md) through the real server, on either engine: a citizen's extract
holds each kind of data Samtal keeps about her (account, devices, cases, messages and their attachments,
applications and decisions, published documentation, her supplements, bookings, notification settings, and the
staff who read her case data), as ciphertext her own device opens; nothing of another person's case; every
request and delivery is in the audit log. At the desk, a unit makes its own part and asks the other units that
hold a case of the person, each request tracked to its due date a month on."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from crypto.encoding import b64u, unb64u
from crypto.record import open_case_grant, open_record, parse_record
from web.client.session import Attachment

from .helpers import CASE_DANA, CASE_ERIK, add_other_unit_caseworker
from .test_applications import SECRET_DECISION, grants_for, refused, sealed, submit
from .test_booking import day_start, publish
from .test_journal import entry_body, request, upload_body
from .test_representatives import document as power_of_attorney
from .test_representatives import register as register_representative

UNIT = "ekonomiskt-bistand"
HOUR = 3600_000
SECRET_MESSAGE = "Jag har fått ett nytt jobb på Sävsjö sågverk från juni"
SECRET_ERIK = "Eriks meddelande om skulden hos Kronofogden"
SECRET_ENTRY = "Besök den 3 maj: Dana berättade om flytten till Vetlanda"
SECRET_DRAFT = "Utkast som inte är publicerat: misstanke om bidragsfusk"
SECRET_SUPPLEMENT = "Tillägg: jag flyttar den 1 juli"
OTHER_CASE = "fr-2026-0001"


def ms(*date: int) -> int:
    return int(datetime(*date, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def test_the_due_date_is_a_month_on_or_the_last_day_of_a_shorter_month() -> None:
    from chat.extract import due_at

    assert due_at(ms(2026, 3, 15, 10)) == ms(2026, 4, 15, 10)
    assert due_at(ms(2027, 1, 31, 9)) == ms(2027, 2, 28, 9)
    assert due_at(ms(2028, 1, 31, 9)) == ms(2028, 2, 29, 9)
    assert due_at(ms(2026, 12, 7, 23)) == ms(2027, 1, 7, 23)


async def open_with_case_grant(session: Any, case_id: str, item: dict[str, Any], grants: list[dict[str, Any]]) -> Any:
    g = next(g for g in grants if g["record_id"] == item["id"] and g["recipient"].startswith("case:"))
    epoch = int(g["recipient"][5:])
    _, key = await session.case_key(await session.case(case_id), epoch)
    return open_record(open_case_grant(key, item["id"], case_id, epoch, unb64u(g["grant"])),
                       parse_record(unb64u(item["record"])))


async def fill_dana(login: Any) -> dict[str, Any]:
    """Something of every kind for Dana, and a message in Erik's case that must stay out of hers."""
    anna, dana, erik = await login("anna"), await login("dana"), await login("erik")
    facts: dict[str, Any] = {}
    case, erik_case = await dana.case(CASE_DANA), await erik.case(CASE_ERIK)
    for session, c, text, file in ((dana, case, SECRET_MESSAGE, Attachment("lön.pdf", "application/pdf", b"%PDF-1.7 lon")),
                                   (erik, erik_case, SECRET_ERIK, None)):
        socket = await session.transport.open_socket()
        try:
            facts[c["id"]] = await session.send(socket, c, text, file)
        finally:
            await socket.close()
    # An application, decided by Anna.
    application_id, _ = await submit(dana, {"type": "application", "answers": {"month": "2026-06"},
                                            "form": {"id": "ekonomiskt-bistand", "version": 1}}, "dana")
    decision_id, data, key = sealed(anna, "application.decision", {"type": "decision", "text": SECRET_DECISION},
                                    CASE_DANA)
    await anna.transport.call("POST", f"/api/applications/{application_id}/decision", {
        "record": b64u(data), "grants": await grants_for(anna, decision_id, key, "dana")})
    facts["application"], facts["decision"] = application_id, decision_id
    # A published entry, a draft she must not see, and her supplement.
    entry_id, body = await upload_body(anna, "journal.entry", entry_body("Besök", SECRET_ENTRY), True)
    await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(body, sign=True, publish=True))
    draft_id, body = await upload_body(anna, "journal.entry", entry_body("Utkast", SECRET_DRAFT), False)
    await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(body))
    supplement_id, body = await upload_body(dana, "journal.supplement", {"type": "journal.supplement",
                                                                         "text": SECRET_SUPPLEMENT}, True)
    await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/journal/supplements", request(body))
    facts.update(entry=entry_id, draft=draft_id, supplement=supplement_id)
    # A booking, her contact address and her notification choice.
    slot = await publish(anna, day_start(5) + 10 * HOUR, ["phone"])
    facts["booking"] = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                                  {"slot_id": slot["id"], "form": "phone"}))["booking"]["id"]
    await dana.transport.call("PUT", "/api/me/contact", {"email": "dana.extract@example.se"})
    await dana.transport.call("PUT", "/api/me/notifications", {"email_opt_in": True, "language": "sv"})
    await anna.transport.call("GET", f"/api/cases/{CASE_DANA}/messages")  # Anna reads her case
    return facts


async def test_a_citizens_extract_holds_every_kind_of_her_data_and_nothing_of_anothers(login, server) -> None:
    facts = await fill_dana(login)
    dana, anna = await login("dana"), await login("anna")
    mandate = await register_representative(anna, document_blob=await power_of_attorney(anna))  # an ombud for her
    extract = await dana.transport.call("POST", "/api/me/extract", {})
    text = json.dumps(extract)

    assert extract["person"] == {"id": "dana", "name": "Dana Karlsson"} and extract["scope"] == "all_units"
    assert extract["account"] == {"contact_email": "dana.extract@example.se",
                                  "notifications": {"email_opt_in": True, "language": "sv"}}
    assert dana.device_id in [d["id"] for d in extract["devices"]]
    [case] = extract["cases"]
    assert (case["id"], case["unit_name"], case["caseworker"]) == (CASE_DANA, "Ekonomiskt bistånd", "Anna Lind")
    # Messages as ciphertext, which her own device opens.
    sent = next(m for m in case["messages"] if m["seq"] == facts[CASE_DANA]["seq"])
    opened = await dana.open(await dana.case(CASE_DANA), sent)
    assert opened.body is not None and opened.body["text"] == SECRET_MESSAGE
    [attachment] = [a for a in extract["attachments"] if a["attached_to"] == sent["msg_id"]]
    assert attachment["kind"] == "message" and attachment["uploaded_by_name"] == "Dana Karlsson"
    # The ombud's power of attorney is a file of her case too.
    assert mandate["document_blob"] in [a["id"] for a in extract["attachments"]]
    # The application and its decision, with the person who decided.
    [application] = case["applications"]
    assert application["id"] == facts["application"] and application["status"] == "decided"
    decided = next(e for e in application["events"] if e["kind"] == "decided")
    assert (decided["by"], decided["by_name"], decided["record_id"]) == ("anna", "Anna Lind", facts["decision"])
    assert facts["decision"] in [r["id"] for r in application["records"]]
    [decision] = application["decisions"]  # the decision as a document: who, when, how it reached her
    assert (decision["id"], decision["decided_by_name"]) == (facts["decision"], "Anna Lind")
    [ombud] = case["representatives"]
    assert (ombud["id"], ombud["holder_name"], ombud["kind"]) == (mandate["id"], "Frida Ombudsson", "ombud")
    # The published entry (opened with the case key's grant), never the draft; her supplement.
    journal = case["journal"]
    assert [e["id"] for e in journal["entries"]] == [facts["entry"]]
    assert facts["draft"] not in text
    mine = await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/journal")
    version = journal["entries"][0]["versions"][0]
    assert (await open_with_case_grant(dana, CASE_DANA, {"id": version["record_id"], "record": version["record"]},
                                       mine["grants"]))["text"] == SECRET_ENTRY
    remark = next(r for r in journal["remarks"] if r["id"] == facts["supplement"])
    assert remark["kind"] == "supplement" and remark["author_name"] == "Dana Karlsson"
    # The booking, and who of the staff read her case.
    [booking] = case["bookings"]
    assert (booking["id"], booking["form"], booking["with_name"]) == (facts["booking"], "phone", "Anna Lind")
    readers = {(r["by_name"], r["action"]) for r in extract["staff_access"]}
    assert ("Anna Lind", "case.read") in readers
    assert all(r["by"] != "dana" and r["case_id"] == CASE_DANA for r in extract["staff_access"])
    # Nothing of Erik's case: not its id, not his message, not his name.
    assert CASE_ERIK not in text and facts[CASE_ERIK]["msg_id"] not in text and "Erik" not in text

    # Delivered once her browser offers it; the request, each case's assembly and the delivery are audited.
    request_id = extract["request"]["id"]
    assert extract["request"]["due_at"] > extract["request"]["requested_at"]
    delivered = await dana.transport.call("POST", f"/api/me/extract/{request_id}/delivered", {})
    assert delivered["delivered_at"] is not None and delivered["delivered_by"] == "dana"
    greta = await login("greta")
    rows = (await greta.transport.call("GET", "/api/audit", params={"case": CASE_DANA, "limit": 500}))["rows"]
    assert any(r["action"] == "extract.assembled" and r["detail"]["request"] == request_id for r in rows)
    with server.db() as db:
        actions = {a for (a,) in db.execute("SELECT action FROM audit_log WHERE actor = 'dana'")}
    assert {"extract.requested", "extract.assembled", "extract.delivered"} <= actions
    again = await dana.transport.call("POST", "/api/me/extract", {})
    assert request_id in [r["id"] for r in again["extract_requests"]]

    # Staff do not ask for their own "citizen's extract"; another's request is unknown; problem+json.
    staff = await refused(anna.transport.call("POST", "/api/me/extract", {}))
    assert (staff.status, staff.code) == (403, "forbidden")
    erik = await login("erik")
    other = await refused(erik.transport.call("POST", f"/api/me/extract/{request_id}/delivered", {}))
    assert (other.status, other.code) == (404, "unknown_extract")


async def test_at_the_desk_a_unit_makes_its_part_and_asks_the_other_units(login, server) -> None:
    add_other_unit_caseworker(server)  # Olle of Familjerätt
    with server.db() as db:
        db.execute("INSERT INTO cases (id, unit_id, citizen_id, assigned_to, title, status, created_at) VALUES"
                   f" ('{OTHER_CASE}', 'familjeratt', 'dana', 'olle', 'Samarbetssamtal', 'open', 0)"
                   " ON CONFLICT DO NOTHING")
    anna, olle, dana = await login("anna"), await login("olle"), await login("dana")
    made = await anna.transport.call("POST", f"/api/units/{UNIT}/extracts", {"citizen_id": "dana"})
    assert made["other_units"] == 1 and made["request"]["on_behalf"] is True
    own = made["request"]["id"]
    part = await anna.transport.call("GET", f"/api/units/{UNIT}/extracts/{own}")
    assert [c["id"] for c in part["cases"]] == [CASE_DANA] and part["scope"] == "unit"
    assert "devices" not in part and OTHER_CASE not in json.dumps(part) and "familjeratt" not in json.dumps(part)

    # Familjerätt sees the request it was sent, due a month on, and answers with its own part.
    [asked] = (await olle.transport.call("GET", "/api/units/familjeratt/extracts"))["requests"]
    assert (asked["citizen_name"], asked["parent_id"], asked["overdue"]) == ("Dana Karlsson", own, False)
    assert 28 * 24 * HOUR <= asked["due_at"] - asked["requested_at"] <= 31 * 24 * HOUR
    theirs = await olle.transport.call("GET", f"/api/units/familjeratt/extracts/{asked['id']}")
    assert [c["id"] for c in theirs["cases"]] == [OTHER_CASE]
    await olle.transport.call("POST", f"/api/units/familjeratt/extracts/{asked['id']}/delivered", {})
    listed = (await anna.transport.call("GET", f"/api/units/{UNIT}/extracts"))["requests"]
    mine = next(r for r in listed if r["id"] == own)
    assert mine["other_units"] == {"count": 1, "delivered": 1, "overdue": 0}

    # Neither unit reaches the other's requests, nor a person it holds no case of; citizens have no desk.
    cross = await refused(anna.transport.call("GET", f"/api/units/{UNIT}/extracts/{asked['id']}"))
    assert (cross.status, cross.code) == (404, "unknown_extract")
    stranger = await refused(olle.transport.call("POST", "/api/units/familjeratt/extracts", {"citizen_id": "erik"}))
    assert (stranger.status, stranger.code) == (404, "unknown_person")
    outsider = await refused(olle.transport.call("GET", f"/api/units/{UNIT}/extracts"))
    assert (outsider.status, outsider.code) == (403, "forbidden")
    citizen = await refused(dana.transport.call("GET", f"/api/units/{UNIT}/extracts"))
    assert citizen.status == 403
    # The other unit's part now shows in the citizen's own extract too.
    everything = await dana.transport.call("POST", "/api/me/extract", {})
    assert {c["id"] for c in everything["cases"]} == {CASE_DANA, OTHER_CASE}
