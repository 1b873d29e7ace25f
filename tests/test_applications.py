"""Ansökan through the real server: a citizen applies (sealed, with an encrypted attachment), the unit reads it
with the unit key, asks for completion with a due date, the citizen answers, the unit decides; a status
frame reaches the citizen live; a caseworker registers a paper application for a citizen; a citizen with no
case in the unit gets a new case, which the demo steward gives a key. Bad input gets problem+json and stores
nothing; nobody reads another person's application; the database holds no plaintext."""
from __future__ import annotations

import os
import time
from typing import Any

import pytest

from crypto.aead import aead_seal
from crypto.encoding import b64u, unb64u
from crypto.record import (
    RecordHeader,
    grant_to_key,
    new_record_id,
    new_record_key,
    open_key_grant,
    open_record,
    parse_record,
    seal_record,
    sign_grant,
)
from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import RunningServer
from .helpers import CASE_DANA, CASE_ERIK, add_other_unit_caseworker, next_frame
from .waiting import eventually

UNIT = "ekonomiskt-bistand"
DAY = 24 * 3600 * 1000
SECRET_ANSWER = "Hyresvärden höjde hyran i mars, kvittot från Apoteket Hjärtat"
SECRET_COMPLETION = "Skicka kontoutdrag för april från Sparbanken Syd"
SECRET_SUPPLEMENT = "Här är kontoutdraget, saldot var 312 kronor"
SECRET_DECISION = "Beviljat försörjningsstöd 7 412 kronor för maj"
SECRET_FILE = b"%PDF-1.7 kontoutdrag Sparbanken Syd konto 8327-9 saldo 312 kr"


def now_ms() -> int:
    return int(time.time() * 1000)


async def unit_epoch(session: ClientSession) -> dict[str, Any]:
    """The unit's current key epoch from the forms listing, once the demo steward has made one."""
    async def made() -> dict[str, Any] | None:
        listing = await session.transport.call("GET", "/api/forms")
        return next(u for u in listing["units"] if u["id"] == UNIT)["key_epoch"]  # type: ignore[no-any-return]
    return await eventually(made, what="the demo steward's unit key")


def sealed(session: ClientSession, kind: str, body: dict[str, Any], case_id: str = "",
           record_id: str | None = None) -> tuple[str, bytes, bytes]:
    """(record id, record bytes, raw record key): a record sealed and signed by the session's device."""
    assert session.device is not None
    key = new_record_key()
    record_id = record_id or new_record_id()
    header = RecordHeader(kind, record_id, UNIT, case_id, session.device_id, now_ms())
    return record_id, seal_record(key, header, body, session.device.keys), key


def grant(session: ClientSession, record_id: str, key: bytes, recipient: str, kem_pub: bytes) -> dict[str, str]:
    assert session.device is not None
    data = grant_to_key(key, record_id, kem_pub)
    return {"recipient": recipient, "grant": b64u(data),
            "signature": b64u(sign_grant(session.device.keys, record_id, recipient, data))}


async def grants_for(session: ClientSession, record_id: str, key: bytes, citizen: str) -> list[dict[str, str]]:
    """To the unit's current epoch and to every active device of the citizen."""
    epoch = await unit_epoch(session)
    out = [grant(session, record_id, key, f"unit:{epoch['epoch']}", unb64u(epoch["public_key"]))]
    for device in (await session.transport.call("GET", f"/api/cases/{CASE_DANA if citizen == 'dana' else CASE_ERIK}")
                   )["case"]["citizen_devices"]:
        out.append(grant(session, record_id, key, device["id"], unb64u(device["kem_pub"])))
    return out


async def upload(session: ClientSession, path: str, data: bytes) -> str:
    response = await session.transport.http.post(path, content=data, headers={
        "content-type": "application/octet-stream", "x-samtal-device": session.device_id})
    assert response.status_code == 201, response.text
    return response.json()["blob_id"]  # type: ignore[no-any-return]


def waiting(server: RunningServer, user_id: str, case_id: str) -> bool:
    """Whether an application's news waits unseen for the person (chat/notifications/notices.py)."""
    with server.db() as db:
        return db.execute("SELECT 1 FROM notifications_waiting WHERE user_id = ? AND case_id = ? AND kind ="
                          " 'application'", (user_id, case_id)).fetchone() is not None


async def refused(call: Any) -> ClientError:
    with pytest.raises(ClientError) as error:
        await call
    return error.value


async def unit_key(staff: ClientSession, epoch: int) -> bytes:
    """The unit key of `epoch`, once the demo steward has approved this new staff device (it may take a moment)."""
    async def granted() -> bytes | None:
        return (await staff.unit_keys(UNIT)).get(epoch)
    return await eventually(granted, what="the demo steward's approval of the staff device")


async def open_as_staff(staff: ClientSession, view: dict[str, Any], record_id: str) -> dict[str, Any]:
    record = next(r for r in view["records"] if r["id"] == record_id)
    for g in view["grants"]:
        if g["record_id"] == record_id and g["recipient"].startswith("unit:"):
            key = open_key_grant(await unit_key(staff, int(g["recipient"][5:])), record_id, unb64u(g["grant"]))
            return open_record(key, parse_record(unb64u(record["data"])))
    raise AssertionError("no unit grant")


def open_as_citizen(citizen: ClientSession, view: dict[str, Any], record_id: str) -> dict[str, Any]:
    assert citizen.device is not None
    record = next(r for r in view["records"] if r["id"] == record_id)
    g = next(g for g in view["grants"] if g["record_id"] == record_id and g["recipient"] == citizen.device_id)
    key = open_key_grant(citizen.device.keys.kem_priv, record_id, unb64u(g["grant"]))
    return open_record(key, parse_record(unb64u(record["data"])))


def encrypted_file(data: bytes) -> tuple[bytes, dict[str, str]]:
    """As web/static/js/attachments.js does: a fresh key, AAD samtal/attachment/v1; the key goes in the body."""
    key, nonce = os.urandom(32), os.urandom(12)
    return aead_seal(key, nonce, b"samtal/attachment/v1", data), {"key": b64u(key), "nonce": b64u(nonce)}


async def submit(session: ClientSession, body: dict[str, Any], citizen: str, blobs: list[str] = (),  # type: ignore[assignment]
                 record_id: str | None = None, **extra: Any) -> tuple[str, dict[str, Any]]:
    record_id, data, key = sealed(session, "application", body, record_id=record_id)
    request = {"form_id": "ekonomiskt-bistand", "form_version": 1, "record": b64u(data),
               "grants": await grants_for(session, record_id, key, citizen), "blobs": list(blobs), **extra}
    answer = await session.transport.call("POST", f"/api/units/{UNIT}/applications", request)
    return record_id, {**answer, "request": request}


async def test_apply_complete_and_decide_with_live_status_and_no_plaintext_stored(login, server: RunningServer):
    dana, anna, erik = await login("dana"), await login("anna"), await login("erik")
    application_id = new_record_id()
    blob, file_key = encrypted_file(SECRET_FILE)
    blob_id = await upload(dana, f"/api/units/{UNIT}/applications/{application_id}/blobs", blob)
    body = {"type": "application", "form": {"id": "ekonomiskt-bistand", "version": 1},
            "answers": {"month": "2026-05", "other_information": SECRET_ANSWER,
                        "rent_notice": [{"name": "hyra.pdf", "mime": "application/pdf", "size": len(SECRET_FILE),
                                         "blob_id": blob_id, **file_key}]}}
    record_id, answer = await submit(dana, body, "dana", [blob_id], record_id=application_id)
    app = answer["application"]
    assert answer["case_id"] == CASE_DANA and app["opened_case"] is False  # joined her open case
    assert (app["status"], app["on_behalf"], app["awaiting_unit"]) == ("received", False, True)

    again = await dana.transport.call("POST", f"/api/units/{UNIT}/applications", answer["request"])
    assert again["duplicate"] is True and again["application"]["id"] == record_id  # a retry of the same bytes: the same application, nothing new

    # The unit sees it in its list and opens it with the unit key; erik sees nothing of it.
    listed = (await anna.transport.call("GET", "/api/applications", params={"case": CASE_DANA}))["applications"]
    assert [a["id"] for a in listed if a["id"] == record_id] == [record_id]
    view = await anna.transport.call("GET", f"/api/applications/{record_id}")
    assert (await open_as_staff(anna, view, record_id))["answers"]["other_information"] == SECRET_ANSWER
    assert [e["kind"] for e in view["events"]] == ["received"]
    stored = await anna.transport.http.get(f"/api/applications/{record_id}/blobs/{blob_id}")
    assert stored.content == blob
    # Another person's application answers as one that does not exist.
    assert (await refused(erik.transport.call("GET", f"/api/applications/{record_id}"))).status == 404
    assert (await erik.transport.http.get(f"/api/applications/{record_id}/blobs/{blob_id}")).status_code == 404
    assert record_id not in [a["id"] for a in (await erik.transport.call("GET", "/api/applications"))["applications"]]

    socket = await dana.transport.open_socket()
    try:
        await anna.transport.call("POST", f"/api/applications/{record_id}/status", {"status": "assessing"})
        assert (await next_frame(socket, "application"))["status"] == "assessing"
        due = now_ms() + 14 * DAY
        completion_id, data, key = sealed(anna, "application.completion", {"type": "completion",
                                                                          "text": SECRET_COMPLETION}, CASE_DANA)
        await anna.transport.call("POST", f"/api/applications/{record_id}/completion-requests", {
            "record": b64u(data), "grants": await grants_for(anna, completion_id, key, "dana"), "due_at": due})
        frame = await next_frame(socket, "application")
        assert (frame["application_id"], frame["status"], frame["case_id"]) == (record_id, "completion_requested",
                                                                                CASE_DANA)
    finally:
        await socket.close()

    assert waiting(server, "dana", CASE_DANA)  # something new for the e-mail notification, until she looks
    mine = await dana.transport.call("GET", f"/api/applications/{record_id}")
    assert not waiting(server, "dana", CASE_DANA)
    assert mine["application"]["status"] == "completion_requested" and mine["application"]["due_at"] == due
    assert open_as_citizen(dana, mine, completion_id)["text"] == SECRET_COMPLETION
    assert not any(g["recipient"].startswith("unit:") for g in mine["grants"])  # the unit's grants are the unit's

    extra, extra_key = encrypted_file(SECRET_FILE + b" april")
    extra_id = await upload(dana, f"/api/applications/{record_id}/blobs", extra)
    supplement_id, data, key = sealed(dana, "application.supplement", {
        "type": "supplement", "text": SECRET_SUPPLEMENT, "attachments": [{"blob_id": extra_id, **extra_key}]},
        CASE_DANA)
    await dana.transport.call("POST", f"/api/applications/{record_id}/supplements", {
        "record": b64u(data), "grants": await grants_for(dana, supplement_id, key, "dana"), "blobs": [extra_id]})
    seen = await anna.transport.call("GET", f"/api/applications/{record_id}")
    assert (await open_as_staff(anna, seen, supplement_id))["text"] == SECRET_SUPPLEMENT
    assert seen["application"]["awaiting_unit"] is True

    decision_id, data, key = sealed(anna, "application.decision", {"type": "decision", "text": SECRET_DECISION},
                                    CASE_DANA)
    await anna.transport.call("POST", f"/api/applications/{record_id}/decision", {
        "record": b64u(data), "grants": await grants_for(anna, decision_id, key, "dana")})
    final = await dana.transport.call("GET", f"/api/applications/{record_id}")
    assert [e["kind"] for e in final["events"]] == ["received", "assessing", "completion_requested", "supplemented",
                                                    "decided"]
    assert final["events"][2]["due_at"] == due and final["events"][2]["actor_name"] == "Anna Lind"
    assert open_as_citizen(dana, final, decision_id)["text"] == SECRET_DECISION
    late_id, data, key = sealed(dana, "application.supplement", {"text": "för sent"}, CASE_DANA)
    late = await refused(dana.transport.call("POST", f"/api/applications/{record_id}/supplements", {
        "record": b64u(data), "grants": await grants_for(dana, late_id, key, "dana")}))
    assert (late.status, late.code) == (409, "wrong_status")

    # Every step is in the audit log with its case, for the unit's log reviewer.
    greta = await login("greta")
    rows = (await greta.transport.call("GET", "/api/audit", params={"case": CASE_DANA, "limit": 500}))["rows"]
    actions = {r["action"] for r in rows if r["detail"].get("application") == record_id}
    assert {"application.submitted", "application.read", "application.completion_requested",
            "application.supplemented", "application.decided", "application.attachment.read"} <= actions

    for _path in [server]:
        content = server.stored_bytes()
        for secret in (SECRET_ANSWER, SECRET_COMPLETION, SECRET_SUPPLEMENT, SECRET_DECISION):
            assert secret.encode() not in content, f"{secret!r} in the database"
        assert b"Sparbanken" not in content


async def test_a_caseworker_registers_a_paper_application_for_a_citizen(login):
    anna, erik = await login("anna"), await login("erik")
    record_id, answer = await submit(anna, {"type": "application", "answers": {"month": "2026-06"},
                                            "form": {"id": "ekonomiskt-bistand", "version": 1}}, "erik",
                                     citizen_id="erik")
    app = answer["application"]
    assert (app["citizen"], app["submitted_by"], app["on_behalf"]) == ("erik", "anna", True)
    assert answer["case_id"] == CASE_ERIK
    mine = await erik.transport.call("GET", f"/api/applications/{record_id}")
    assert mine["events"][0] == {**mine["events"][0], "kind": "received", "on_behalf": True, "actor": "anna"}
    assert open_as_citizen(erik, mine, record_id)["answers"]["month"] == "2026-06"
    # A citizen cannot register an application for someone else.
    other = await refused(submit(erik, {"answers": {}}, "erik", citizen_id="dana"))
    assert (other.status, other.code) == (403, "forbidden")


async def test_an_application_from_a_citizen_without_a_case_opens_one_that_gets_a_key(login, server):
    with server.db() as db:  # a citizen who never had a case here
        db.execute("INSERT INTO users (id, username, display_name, role, unit_id, created_at) VALUES"
                   " ('frida', 'frida', 'Frida Holm', 'citizen', NULL, 0) ON CONFLICT DO NOTHING")
    frida = await login("frida")
    epoch = await unit_epoch(frida)
    assert frida.device is not None
    record_id, data, key = sealed(frida, "application", {"answers": {"support": ["counselling"]}})
    answer = await frida.transport.call("POST", f"/api/units/{UNIT}/applications", {
        "form_id": "ansokan-om-stod", "form_version": 1, "record": b64u(data), "grants": [
            grant(frida, record_id, key, f"unit:{epoch['epoch']}", unb64u(epoch["public_key"])),
            grant(frida, record_id, key, frida.device_id, frida.device.keys.public.kem_pub)]})
    case_id = answer["case_id"]
    assert answer["application"]["opened_case"] is True and case_id.startswith("eb-")
    case = await frida.case(case_id)
    assert (case["title"], case["assigned_to"], case["status"]) == ("Ansökan om stöd", None, "open")
    epoch_now, _ = await frida.case_key(case)  # the demo steward gives the new case its key
    assert epoch_now == 1


@pytest.mark.parametrize("change, status, code", [
    ({"form_id": "ingen-sadan"}, 404, "unknown_form"),
    ({"form_version": 7}, 409, "form_changed"),
    ({"record": "not base64!"}, 400, "invalid_field"),
    ({"record": b64u(b"\x01garbage")}, 400, "malformed_record"),
    ({"grants": []}, 400, "grant_missing"),
    ({"blobs": ["never-uploaded"]}, 400, "unknown_blob"),
    ({"kind": "journal.entry"}, 400, "wrong_kind"),
    ({"case_id": CASE_DANA}, 400, "wrong_target"),
    ({"grant_to": "erik"}, 400, "grant_recipient"),
    ({"bad_grant_signature": True}, 400, "bad_signature"),
])
async def test_bad_submissions_are_refused_with_problem_json_and_store_nothing(login, change, status, code):
    dana, erik = await login("dana"), await login("erik")
    assert dana.device is not None
    record_id, data, key = sealed(dana, change.get("kind", "application"), {"answers": {}},
                                  case_id=change.get("case_id", ""))
    grants = await grants_for(dana, record_id, key, "dana")
    if "grant_to" in change:
        erik_device = (await erik.case(CASE_ERIK))["citizen_devices"][0]
        grants.append(grant(dana, record_id, key, erik_device["id"], unb64u(erik_device["kem_pub"])))
    if change.get("bad_grant_signature"):
        grants[0]["signature"] = b64u(bytes(64))
    body = {"form_id": "ekonomiskt-bistand", "form_version": 1, "record": b64u(data), "grants": grants,
            "blobs": [], **{k: v for k, v in change.items() if k in ("form_id", "form_version", "record", "grants",
                                                                    "blobs")}}
    response = await dana.transport.http.post(f"/api/units/{UNIT}/applications", json=body,
                                              headers={"x-samtal-device": dana.device_id})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert record_id not in [a["id"] for a in (await dana.transport.call("GET", "/api/applications"))["applications"]]


async def test_who_may_do_what_with_an_application(login, server):
    add_other_unit_caseworker(server)  # olle, of Familjerätt
    dana, erik, anna, greta = await login("dana"), await login("erik"), await login("anna"), await login("greta")
    olle = await login("olle")
    record_id, _ = await submit(dana, {"answers": {}}, "dana")
    assert record_id not in [a["id"] for a in (await olle.transport.call("GET", "/api/applications"))["applications"]]
    epoch = await unit_epoch(olle)
    paper_id, data, key = sealed(olle, "application", {"answers": {}})
    paper = await refused(olle.transport.call("POST", f"/api/units/{UNIT}/applications", {
        "form_id": "ekonomiskt-bistand", "form_version": 1, "record": b64u(data), "citizen_id": "dana",
        "grants": [grant(olle, paper_id, key, f"unit:{epoch['epoch']}", unb64u(epoch["public_key"]))]}))
    assert (paper.status, paper.code) == (403, "forbidden")  # not staff of the unit applied to
    for session in (erik, greta, olle):  # not theirs to read: as if it did not exist
        error = await refused(session.transport.call("GET", f"/api/applications/{record_id}"))
        assert (error.status, error.code) == (404, "unknown_application")
    for path, body in (("status", {"status": "assessing"}),):
        error = await refused(dana.transport.call("POST", f"/api/applications/{record_id}/{path}", body))
        assert (error.status, error.code) == (403, "forbidden")
    bad = await refused(anna.transport.call("POST", f"/api/applications/{record_id}/status", {"status": "decided"}))
    assert (bad.status, bad.code) == (400, "invalid_field")
    supplement_id, data, key = sealed(anna, "application.supplement", {"text": "x"}, CASE_DANA)
    staff = await refused(anna.transport.call("POST", f"/api/applications/{record_id}/supplements", {
        "record": b64u(data), "grants": await grants_for(anna, supplement_id, key, "dana")}))
    assert (staff.status, staff.code) == (403, "forbidden")
    past = await refused(anna.transport.call("POST", f"/api/applications/{record_id}/completion-requests", {
        "record": b64u(data), "grants": [], "due_at": now_ms() - 3 * DAY}))
    assert (past.status, past.code) == (400, "invalid_field")
    unknown = await refused(dana.transport.call("GET", "/api/applications/AAAAAAAAAAAAAAAAAAAAAA"))
    assert (unknown.status, unknown.code) == (404, "unknown_application")
    malformed = await refused(dana.transport.call("GET", "/api/applications/not-an-id"))
    assert (malformed.status, malformed.code) == (404, "unknown_application")  # no such id can exist
    # An attachment for an application already sent cannot be staged as if it were new.
    sent = await dana.transport.http.post(f"/api/units/{UNIT}/applications/{record_id}/blobs", content=bytes(32),
                                          headers={"content-type": "application/octet-stream",
                                                   "x-samtal-device": dana.device_id})
    assert (sent.status_code, sent.json()["code"]) == (409, "record_exists")
