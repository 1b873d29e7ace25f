"""Dokumentation (the case's journal) through the real server: a caseworker drafts, saves, signs, corrects and
publishes an entry with a grant to the case key, and the citizen reads it with the case key; drafts and
unpublished entries do not exist for the citizen; signed versions cannot change (the code refuses, and so do
SQLite's triggers); the citizen adds a supplement with an encrypted attachment and disputes an entry, the unit
responds; a draft shared live reaches the citizen's WebSocket and a late reader's GET. Refusals are
problem+json and store nothing; nobody outside the case and its answering staff writes; every read and write
is audited; the database holds no plaintext."""
from __future__ import annotations

import time
from typing import Any

import pytest

from crypto.encoding import b64u, unb64u
from crypto.envelope import Header, new_msg_id, open_message, parse_envelope, seal_message
from crypto.record import grant_to_case, open_case_grant, open_key_grant, open_record, parse_record, sign_grant
from web.client.session import ClientSession
from web.client.transport import ClientError

from .conftest import RunningServer
from .engines import database_errors
from .helpers import CASE_DANA, CASE_ERIK, add_other_unit_caseworker, next_frame
from .test_applications import UNIT, encrypted_file, grant, refused, sealed, unit_epoch, unit_key, upload
from .waiting import eventually

SECRET_TITLE = "Hembesök hos familjen på Kvarnbacken 12"
SECRET_DRAFT = "Utkast: barnen verkade trötta, pappan nämnde skulder hos Kronofogden"
SECRET_FINAL = "Vid hembesöket framkom att hyran är obetald sedan februari"
SECRET_CORRECTION = "Rättelse: hyran är obetald sedan mars, inte februari"
SECRET_THIRD = "Rättelse två: beloppet är 14 250 kronor"
SECRET_DISPUTE = "Jag betalade hyran i mars, kvitto från Swedbank finns"
SECRET_RESPONSE = "Tack, vi har lagt kvittot till akten och ändrat uppgiften"
SECRET_SUPPLEMENT = "Tillägg: min son går på Vasaskolan och har extra stöd"
SECRET_LIVE = "Samtalet handlade om Ekbackens förskola och hämtningstider"
SECRET_FILE = b"%PDF-1.7 hyreskvitto Swedbank mars 14250 kr Kvarnbacken 12"
SECRETS = (SECRET_TITLE, SECRET_DRAFT, SECRET_FINAL, SECRET_CORRECTION, SECRET_THIRD, SECRET_DISPUTE, SECRET_RESPONSE,
           SECRET_SUPPLEMENT, SECRET_LIVE)


# -- sealing, granting and opening as a browser would ------------------------------------------------------------
async def case_grant(session: ClientSession, record_id: str, key: bytes, case_id: str = CASE_DANA) -> dict[str, str]:
    assert session.device is not None
    epoch, case_key = await session.case_key(await session.case(case_id))
    data = grant_to_case(key, record_id, case_id, epoch, case_key)
    recipient = f"case:{epoch}"
    return {"recipient": recipient, "grant": b64u(data),
            "signature": b64u(sign_grant(session.device.keys, record_id, recipient, data))}


async def unit_grant(session: ClientSession, record_id: str, key: bytes) -> dict[str, str]:
    epoch = await unit_epoch(session)
    return grant(session, record_id, key, f"unit:{epoch['epoch']}", unb64u(epoch["public_key"]))


async def upload_body(session: ClientSession, kind: str, body: dict[str, Any], for_citizen: bool,
                      case_id: str = CASE_DANA, record_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """(record id, {record, grants}): sealed by the session's device, granted to the unit and, when the citizen
    is to read it, to the case key."""
    record_id, data, key = sealed(session, kind, body, case_id, record_id)
    grants = [await unit_grant(session, record_id, key)]
    if for_citizen:
        grants.append(await case_grant(session, record_id, key, case_id))
    return record_id, {"record": b64u(data), "grants": grants, "_key": key}


def request(upload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**{k: v for k, v in upload.items() if not k.startswith("_")}, **extra}


def entry_body(title: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "journal.entry", "title": title, "text": text, **extra}


async def journal(session: ClientSession, case_id: str = CASE_DANA) -> dict[str, Any]:
    return await session.transport.call("GET", f"/api/cases/{case_id}/journal")  # type: ignore[no-any-return]


def find(items: list[dict[str, Any]], item_id: str) -> dict[str, Any] | None:
    return next((i for i in items if i["id"] == item_id), None)


async def open_as_staff(staff: ClientSession, view: dict[str, Any], record_id: str, data: str) -> dict[str, Any]:
    g = next(g for g in view["grants"] if g["record_id"] == record_id and g["recipient"].startswith("unit:"))
    key = open_key_grant(await unit_key(staff, int(g["recipient"][5:])), record_id, unb64u(g["grant"]))
    return open_record(key, parse_record(unb64u(data)))


async def open_as_citizen(citizen: ClientSession, view: dict[str, Any], record_id: str, data: str) -> dict[str, Any]:
    g = next(g for g in view["grants"] if g["record_id"] == record_id and g["recipient"].startswith("case:"))
    epoch = int(g["recipient"][5:])
    _, case_key = await citizen.case_key(await citizen.case(view["case"]["id"]), epoch)
    key = open_case_grant(case_key, record_id, view["case"]["id"], epoch, unb64u(g["grant"]))
    return open_record(key, parse_record(unb64u(data)))


def version(entry: dict[str, Any], number: int) -> dict[str, Any]:
    return next(v for v in entry["versions"] if v["version"] == number)


def waiting(server: RunningServer, user_id: str, case_id: str) -> bool:
    with server.db() as db:
        return db.execute("SELECT 1 FROM notifications_waiting WHERE user_id = ? AND case_id = ? AND kind ="
                          " 'journal'", (user_id, case_id)).fetchone() is not None


async def audit_rows(reviewer: ClientSession, case_id: str = CASE_DANA) -> list[dict[str, Any]]:
    """Every audit row of the case, page by page (the log reviewer's view)."""
    rows: list[dict[str, Any]] = []
    while True:
        page = (await reviewer.transport.call("GET", "/api/audit", params={
            "case": case_id, "limit": 500, "after": rows[-1]["id"] if rows else 0}))["rows"]
        rows += page
        if len(page) < 500:
            return rows


async def draft(staff: ClientSession, title: str = "Anteckning", text: str = "text",
                case_id: str = CASE_DANA) -> str:
    entry_id, body = await upload_body(staff, "journal.entry", entry_body(title, text), False, case_id)
    await staff.transport.call("POST", f"/api/cases/{case_id}/journal", request(body))
    return entry_id


async def snapshot(staff: ClientSession, entry_id: str, text: str, rev: int = 1, case_id: str = CASE_DANA) -> str:
    """A live draft's snapshot: an envelope under the case key, signed by the staff device (base64url)."""
    assert staff.device is not None
    epoch, case_key = await staff.case_key(await staff.case(case_id))
    header = Header(case_id, new_msg_id(), staff.device_id, epoch, int(time.time() * 1000))
    return b64u(seal_message(case_key, header, {"type": "journal.live", "entry": entry_id, "rev": rev,
                                                "title": "Utkast", "text": text}, staff.device.keys))


# -- the whole way ----------------------------------------------------------------------------------------------
async def test_draft_sign_correct_publish_dispute_and_supplement(login, server: RunningServer):
    anna, dana, greta = await login("anna"), await login("dana"), await login("greta")

    # A draft: the unit's alone. A retry of the same bytes is the same entry.
    entry_id, first = await upload_body(anna, "journal.entry", entry_body(SECRET_TITLE, SECRET_DRAFT), False)
    created = await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(first))
    assert created["entry"]["id"] == entry_id and created["entry"]["status"] == "draft"
    again = await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(first))
    assert again["duplicate"] is True and again["entry"]["id"] == entry_id
    mine = await journal(dana)
    assert find(mine["entries"], entry_id) is None and entry_id not in str(mine)  # not even its existence
    hidden = await refused(dana.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(
        (await upload_body(dana, "journal.remark", {"type": "journal.remark", "text": "x"}, True))[1])))
    assert (hidden.status, hidden.code) == (404, "unknown_entry")

    # Saving the draft replaces its record; signing makes the final content version 1.
    saved_id, saved = await upload_body(anna, "journal.entry", entry_body(SECRET_TITLE, SECRET_DRAFT + " (2)"), False)
    entry = (await anna.transport.call("PUT", f"/api/journal/{entry_id}/draft", request(saved)))["entry"]
    assert [v["record_id"] for v in entry["versions"]] == [saved_id]
    final_id, final = await upload_body(anna, "journal.entry", entry_body(SECRET_TITLE, SECRET_FINAL), False)
    entry = (await anna.transport.call("POST", f"/api/journal/{entry_id}/sign", request(final, publish=False)))["entry"]
    assert (entry["status"], entry["signed_by"], entry["signed_by_name"]) == ("signed", "anna", "Anna Lind")
    assert [(v["version"], v["record_id"]) for v in entry["versions"]] == [(1, final_id)]
    assert version(entry, 1)["signed_at"] is not None and entry["published_at"] is None
    assert find((await journal(dana))["entries"], entry_id) is None  # signed is not yet published

    # Signing the saved draft as it is (the same record) works too: nothing to re-seal.
    other_id = await draft(anna, "Annan", "text")
    _, same = await upload_body(anna, "journal.entry", entry_body("Samma", "text"), False)
    other = (await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(same)))["entry"]
    record_id = other["versions"][0]["record_id"]
    signed_same = (await anna.transport.call("POST", f"/api/journal/{other['id']}/sign", request(same)))["entry"]
    assert signed_same["status"] == "signed" and [v["record_id"] for v in signed_same["versions"]] == [record_id]
    await anna.transport.call("DELETE", f"/api/journal/{other_id}")

    # Signed: the code refuses a change, and so does the database.
    _, late = await upload_body(anna, "journal.entry", entry_body("x", "y"), False)
    for method, path in (("PUT", "draft"), ("POST", "sign")):
        error = await refused(anna.transport.call(method, f"/api/journal/{entry_id}/{path}", request(late)))
        assert (error.status, error.code) == (409, "entry_signed")
    error = await refused(anna.transport.call("DELETE", f"/api/journal/{entry_id}"))
    assert (error.status, error.code) == (409, "entry_signed")
    with server.db() as db:
        for statement in ("UPDATE journal_versions SET data = data || data WHERE entry_id = ?",
                          "DELETE FROM journal_versions WHERE entry_id = ?",
                          "UPDATE journal_entries SET status = 'draft', signed_at = NULL, signed_by = NULL WHERE id = ?",
                          "DELETE FROM journal_entries WHERE id = ?"):
            with pytest.raises(database_errors(), match="signed journal"):
                db.execute(statement, (entry_id,))

    # A correction of an unpublished entry: version 2, for the unit only (a case grant is refused).
    fix_id, fix = await upload_body(anna, "journal.entry", entry_body(SECRET_TITLE, SECRET_CORRECTION, corrects=1,
                                                                      reason="fel månad"), True)
    error = await refused(anna.transport.call("POST", f"/api/journal/{entry_id}/versions", request(fix)))
    assert (error.status, error.code) == (400, "grant_recipient")
    fix_id, fix = await upload_body(anna, "journal.entry", entry_body(SECRET_TITLE, SECRET_CORRECTION, corrects=1),
                                    False)
    entry = (await anna.transport.call("POST", f"/api/journal/{entry_id}/versions", request(fix)))["entry"]
    assert [v["version"] for v in entry["versions"]] == [1, 2]

    # Publishing: a case grant for every version; the citizen is told live, and by e-mail later.
    socket = await dana.transport.open_socket()
    try:
        one = await case_grant(anna, final_id, final["_key"])
        missing = await refused(anna.transport.call("POST", f"/api/journal/{entry_id}/publish", {
            "grants": [{"record_id": final_id, **one}]}))
        assert (missing.status, missing.code) == (400, "grant_missing")
        published = (await anna.transport.call("POST", f"/api/journal/{entry_id}/publish", {"grants": [
            {"record_id": final_id, **one}, {"record_id": fix_id, **await case_grant(anna, fix_id, fix["_key"])}]}
        ))["entry"]
        assert (published["published_by"], published["published_by_name"]) == ("anna", "Anna Lind")
        frame = await next_frame(socket, "journal", case_id=CASE_DANA)
        assert (frame["entry_id"], frame["what"]) == (entry_id, "published")
    finally:
        await socket.close()
    assert waiting(server, "dana", CASE_DANA)
    mine = await journal(dana)
    assert not waiting(server, "dana", CASE_DANA)  # reading it is seeing it
    seen = find(mine["entries"], entry_id)
    assert seen is not None and [v["version"] for v in seen["versions"]] == [1, 2]
    assert not any(g["recipient"].startswith("unit:") for g in mine["grants"])
    assert (await open_as_citizen(dana, mine, final_id, version(seen, 1)["record"]))["text"] == SECRET_FINAL
    assert (await open_as_citizen(dana, mine, fix_id, version(seen, 2)["record"]))["text"] == SECRET_CORRECTION

    # A correction of a published entry must reach the citizen: without a case grant it is refused.
    third_id, third = await upload_body(anna, "journal.entry", entry_body(SECRET_TITLE, SECRET_THIRD, corrects=2),
                                        False)
    error = await refused(anna.transport.call("POST", f"/api/journal/{entry_id}/versions", request(third)))
    assert (error.status, error.code) == (400, "grant_missing")
    third_id, third = await upload_body(anna, "journal.entry", entry_body(SECRET_TITLE, SECRET_THIRD, corrects=2), True)
    await anna.transport.call("POST", f"/api/journal/{entry_id}/versions", request(third))
    mine = await journal(dana)
    seen = find(mine["entries"], entry_id)
    assert seen is not None and [v["version"] for v in seen["versions"]] == [1, 2, 3]
    assert (await open_as_citizen(dana, mine, third_id, version(seen, 3)["record"]))["text"] == SECRET_THIRD
    assert (await open_as_citizen(dana, mine, final_id, version(seen, 1)["record"]))["text"] == SECRET_FINAL

    # The citizen disputes it; the unit sees an open dispute and responds; the dispute is answered.
    dispute_id, dispute = await upload_body(dana, "journal.remark", {"type": "journal.remark",
                                                                     "text": SECRET_DISPUTE}, True)
    remark = (await dana.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(dispute)))["remark"]
    assert (remark["kind"], remark["entry_id"], remark["answered_at"]) == ("dispute", entry_id, None)
    unit_view = await journal(anna)
    assert find(unit_view["entries"], entry_id)["open_disputes"] == 1  # type: ignore[index]
    stored = find(unit_view["remarks"], dispute_id)
    assert stored is not None
    assert (await open_as_staff(anna, unit_view, dispute_id, stored["record"]))["text"] == SECRET_DISPUTE
    response_id, response = await upload_body(anna, "journal.response", {"type": "journal.response",
                                                                         "text": SECRET_RESPONSE}, True)
    answer = (await anna.transport.call("POST", f"/api/journal/remarks/{dispute_id}/responses",
                                        request(response)))["remark"]
    assert (answer["kind"], answer["responds_to"], answer["entry_id"]) == ("response", dispute_id, entry_id)
    assert waiting(server, "dana", CASE_DANA)  # a response is news for the citizen
    _, not_dispute = await upload_body(anna, "journal.response", {"type": "journal.response", "text": "x"}, True)
    error = await refused(anna.transport.call("POST", f"/api/journal/remarks/{response_id}/responses",
                                              request(not_dispute)))
    assert (error.status, error.code) == (409, "not_a_dispute")
    mine = await journal(dana)
    assert find(mine["entries"], entry_id)["open_disputes"] == 0  # type: ignore[index]
    answered = find(mine["remarks"], dispute_id)
    assert answered is not None and (answered["answered_by"], answered["answered_by_name"]) == ("anna", "Anna Lind")
    shown = find(mine["remarks"], response_id)
    assert shown is not None
    assert (await open_as_citizen(dana, mine, response_id, shown["record"]))["text"] == SECRET_RESPONSE

    # A supplement with an encrypted attachment, to the entry.
    blob, file_key = encrypted_file(SECRET_FILE)
    blob_id = await upload(dana, f"/api/cases/{CASE_DANA}/journal/blobs", blob)
    supplement_id, supplement = await upload_body(dana, "journal.supplement", {
        "type": "journal.supplement", "text": SECRET_SUPPLEMENT, "attachments": [
            {"blob": blob_id, "name": "kvitto.pdf", "type": "application/pdf", "size": len(SECRET_FILE),
             **file_key}]}, True)
    added = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/journal/supplements",
                                       request(supplement, blobs=[blob_id], entry_id=entry_id)))["remark"]
    assert (added["kind"], added["entry_id"]) == ("supplement", entry_id)
    unit_view = await journal(anna)
    stored = find(unit_view["remarks"], supplement_id)
    assert stored is not None
    opened = await open_as_staff(anna, unit_view, supplement_id, stored["record"])
    assert opened["text"] == SECRET_SUPPLEMENT and opened["attachments"][0]["blob"] == blob_id
    fetched = await anna.transport.http.get(f"/api/cases/{CASE_DANA}/journal/blobs/{blob_id}")
    assert fetched.status_code == 200 and fetched.content == blob
    erik = await login("erik")
    assert (await erik.transport.http.get(f"/api/cases/{CASE_DANA}/journal/blobs/{blob_id}")).status_code == 404
    bad_id = await refused(anna.transport.call("POST", f"/api/journal/{entry_id}/publish", {
        "grants": [{"record_id": "short", **await case_grant(anna, final_id, final["_key"])}]}))
    assert (bad_id.status, bad_id.code) == (400, "invalid_field")

    # Every read and write is in the audit log with its case and unit.
    rows = await audit_rows(greta)
    actions = {r["action"] for r in rows if r["detail"].get("entry") == entry_id}
    assert {"journal.created", "journal.draft_saved", "journal.signed", "journal.corrected", "journal.published",
            "journal.dispute", "journal.response", "journal.supplement"} <= actions
    assert any(r["action"] == "journal.read" and r["actor"] == "dana" for r in rows)
    assert any(r["action"] == "journal.attachment.read" and r["actor"] == "anna" for r in rows)
    assert all(r["unit_id"] == UNIT for r in rows if r["action"].startswith("journal."))

    for _path in [server]:
        content = server.stored_bytes()
        for secret in (*SECRETS, SECRET_FILE.decode()):
            assert secret.encode() not in content, f"{secret!r} in the database"
        assert b"Swedbank" not in content and b"Kvarnbacken" not in content


# -- live ---------------------------------------------------------------------------------------------------------
async def test_a_draft_shared_live_reaches_the_citizen_and_a_late_reader(login, server: RunningServer):
    anna, dana, greta = await login("anna"), await login("dana"), await login("greta")
    cecilia = await login("cecilia")
    citizen_socket = await dana.transport.open_socket()
    staff_socket = await anna.transport.open_socket()
    watching = await cecilia.transport.open_socket()  # a colleague with the case open
    try:
        await watching.request({"t": "watch", "case_id": CASE_DANA})
        entry_id = await draft(anna)
        env = await snapshot(anna, entry_id, SECRET_LIVE)
        await staff_socket.request({"t": "journal.live", "case_id": CASE_DANA, "entry_id": entry_id, "env": env})
        frame = await next_frame(citizen_socket, "journal.live", case_id=CASE_DANA)
        assert (frame["entry_id"], frame["from_user"], frame["from_device"]) == (entry_id, "anna", anna.device_id)
        assert (await next_frame(watching, "journal.live", case_id=CASE_DANA))["env"] == env
        _, case_key = await dana.case_key(await dana.case(CASE_DANA))
        assert open_message(case_key, parse_envelope(unb64u(frame["env"])))["text"] == SECRET_LIVE

        late = await journal(dana)  # a page opened now shows the draft as it is
        assert [(d["entry_id"], d["by"], d["by_name"], d["env"]) for d in late["live"]] == [
            (entry_id, "anna", "Anna Lind", env)]
        assert find(late["entries"], entry_id) is None  # the draft itself stays the unit's

        # The citizen comments on the draft shared with them.
        _, comment = await upload_body(dana, "journal.remark", {"type": "journal.remark", "text": "Stämmer"}, True)
        remark = (await dana.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(comment)))["remark"]
        assert (remark["kind"], remark["entry_id"]) == ("comment", entry_id)

        # Refused: an envelope of another case, bytes that are no envelope, and a citizen sharing.
        other = await snapshot(anna, entry_id, "x", case_id=CASE_ERIK)
        raw = bytearray(unb64u(await snapshot(anna, entry_id, "x")))
        raw[-1] ^= 1  # the signature no longer holds
        for bad, code in ((other, "invalid_field"), (b64u(b"\x01nope"), "malformed_envelope"),
                          ("not base64!", "invalid_field"), (b64u(bytes(raw)), "bad_signature")):
            with pytest.raises(ClientError) as error:
                await staff_socket.request({"t": "journal.live", "case_id": CASE_DANA, "entry_id": entry_id,
                                            "env": bad})
            assert error.value.code == code
        with pytest.raises(ClientError) as error:
            await citizen_socket.request({"t": "journal.live", "case_id": CASE_DANA, "entry_id": entry_id,
                                          "env": env})
        assert error.value.code == "forbidden"
        with pytest.raises(ClientError) as error:
            await citizen_socket.request({"t": "journal.live_end", "case_id": CASE_DANA, "entry_id": entry_id})
        assert error.value.code == "forbidden"

        # Signing ends the share, for everyone watching.
        _, final = await upload_body(anna, "journal.entry", entry_body("Slutlig", "text"), False)
        await anna.transport.call("POST", f"/api/journal/{entry_id}/sign", request(final))
        ended = await next_frame(citizen_socket, "journal.live_end", case_id=CASE_DANA)
        assert (ended["entry_id"], ended["reason"]) == (entry_id, "signed")
        assert (await journal(dana))["live"] == []

        # A second draft: stopped by its author, then shared again and ended by the disconnect.
        second = await draft(anna)
        await staff_socket.request({"t": "journal.live", "case_id": CASE_DANA, "entry_id": second,
                                    "env": await snapshot(anna, second, "a")})
        await staff_socket.request({"t": "journal.live_end", "case_id": CASE_DANA, "entry_id": second})
        assert (await next_frame(citizen_socket, "journal.live_end", case_id=CASE_DANA))["reason"] == "stopped"
        await staff_socket.request({"t": "journal.live", "case_id": CASE_DANA, "entry_id": second,
                                    "env": await snapshot(anna, second, "b")})
        await next_frame(citizen_socket, "journal.live", case_id=CASE_DANA)
        await staff_socket.close()
        ended = await next_frame(citizen_socket, "journal.live_end", case_id=CASE_DANA)
        assert (ended["entry_id"], ended["reason"]) == (second, "disconnected")

        # Of all that happened to drafts here (created, commented, signed unpublished), the citizen was sent
        # nothing: the first `journal` frame she gets is that of an entry published now.
        published_id, body = await upload_body(anna, "journal.entry", entry_body("Publicerad", "text"), True)
        await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(body, sign=True, publish=True))
        frame = await next_frame(citizen_socket, "journal", case_id=CASE_DANA)
        assert (frame["entry_id"], frame["what"]) == (published_id, "published")
    finally:
        await citizen_socket.close()
        await staff_socket.close()
        await watching.close()

    rows = await audit_rows(greta)
    live = [(r["action"], r["detail"].get("reason")) for r in rows if r["detail"].get("entry") in (entry_id, second)
            and r["action"].startswith("journal.live")]
    assert live.count(("journal.live.started", None)) == 3
    assert {("journal.live.ended", "signed"), ("journal.live.ended", "stopped"),
            ("journal.live.ended", "disconnected")} <= set(live)
    assert SECRET_LIVE.encode() not in server.stored_bytes()


async def test_an_entry_filed_from_a_message_names_it(login):
    anna = await login("anna")
    socket = await anna.transport.open_socket()
    try:
        ack = await anna.send(socket, await anna.case(CASE_DANA), "Ett meddelande att journalföra")
    finally:
        await socket.close()
    entry_id, body = await upload_body(anna, "journal.entry", entry_body("Från meddelande", "text", source={
        "seq": ack["seq"], "msg_id": ack["msg_id"]}), False)
    entry = (await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal",
                                       request(body, source_seq=ack["seq"])))["entry"]
    assert (entry["id"], entry["source_seq"]) == (entry_id, ack["seq"])
    assert find((await journal(anna))["entries"], entry_id)["source_seq"] == ack["seq"]  # type: ignore[index]


async def test_the_citizens_export_is_logged(login):
    dana, anna, erik, greta = await login("dana"), await login("anna"), await login("erik"), await login("greta")
    response = await dana.transport.http.post(f"/api/cases/{CASE_DANA}/journal/export", json={},
                                              headers={"x-samtal-device": dana.device_id})
    assert response.status_code == 204
    rows = [r for r in await audit_rows(greta) if r["action"] == "journal.exported"]
    assert rows and (rows[-1]["actor"], rows[-1]["case_id"], rows[-1]["unit_id"]) == ("dana", CASE_DANA, UNIT)
    # Staff do not export the citizen's file; for another citizen the case does not exist.
    for other, status, code in ((anna, 403, "forbidden"), (erik, 404, "unknown_case")):
        refused_export = await other.transport.http.post(f"/api/cases/{CASE_DANA}/journal/export", json={})
        assert (refused_export.status_code, refused_export.json()["code"]) == (status, code)
    form = await dana.transport.http.post(f"/api/cases/{CASE_DANA}/journal/export", content=b"x",
                                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert (form.status_code, form.json()["code"]) == (400, "unsupported_media_type")


# -- who may do what ------------------------------------------------------------------------------------------------
async def test_who_may_do_what_in_the_journal(login, server: RunningServer):
    add_other_unit_caseworker(server)  # olle, of Familjerätt
    anna, bo, dana, erik = await login("anna"), await login("bo"), await login("dana"), await login("erik")
    cecilia, olle = await login("cecilia"), await login("olle")

    # A published entry and a draft, by Anna, who answers Dana's case.
    entry_id, body = await upload_body(anna, "journal.entry", entry_body("Publicerad", "text"), True)
    await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(body, sign=True, publish=True))
    draft_id = await draft(anna)

    for outsider in (erik, olle):  # another citizen; staff of another unit: the case does not exist for them
        error = await refused(journal(outsider))
        assert (error.status, error.code) == (404, "unknown_case")
        _, remark = await upload_body(dana, "journal.remark", {"type": "journal.remark", "text": "x"}, True)
        error = await refused(outsider.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(remark)))
        assert (error.status, error.code) == (404, "unknown_entry")  # outsiders learn nothing of it
        error = await refused(outsider.transport.call("DELETE", f"/api/journal/{draft_id}"))
        assert (error.status, error.code) == (404, "unknown_entry")

    # Bo reads the unit's cases but does not answer Dana's (assigned to Anna; he is not her substitute).
    assert find((await journal(bo))["entries"], draft_id) is not None
    _, attempt = await upload_body(bo, "journal.entry", entry_body("Bo", "text"), False)
    error = await refused(bo.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(attempt)))
    assert (error.status, error.code) == (403, "forbidden")
    error = await refused(bo.transport.call("POST", f"/api/journal/{entry_id}/publish", {"grants": []}))
    assert (error.status, error.code) == (403, "forbidden")
    # Cecilia (supervisor) writes, but only the author changes or deletes a draft.
    _, hers = await upload_body(cecilia, "journal.entry", entry_body("Cecilia", "text"), False)
    error = await refused(cecilia.transport.call("PUT", f"/api/journal/{draft_id}/draft", request(hers)))
    assert (error.status, error.code) == (403, "forbidden")
    error = await refused(cecilia.transport.call("DELETE", f"/api/journal/{draft_id}"))
    assert (error.status, error.code) == (403, "forbidden")
    # The citizen does not write entries or respond; staff do not dispute or supplement.
    _, citizen_entry = await upload_body(dana, "journal.entry", entry_body("Dana", "text"), False)
    error = await refused(dana.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(citizen_entry)))
    assert (error.status, error.code) == (403, "forbidden")
    _, staff_remark = await upload_body(anna, "journal.remark", {"type": "journal.remark", "text": "x"}, True)
    error = await refused(anna.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(staff_remark)))
    assert (error.status, error.code) == (403, "forbidden")
    error = await refused(dana.transport.call("POST", f"/api/journal/{draft_id}/remarks", request(staff_remark)))
    assert (error.status, error.code) == (404, "unknown_entry")  # a draft not shared live does not exist for her
    # The author deletes her draft; it is gone.
    await anna.transport.call("DELETE", f"/api/journal/{draft_id}")
    assert find((await journal(anna))["entries"], draft_id) is None

    # A substitute for Anna, from now on, writes in her case.
    now = int(time.time() * 1000)
    await cecilia.transport.call("POST", f"/api/units/{UNIT}/substitutes", {
        "absent_user": "anna", "substitute": "bo", "starts_at": now - 1000, "ends_at": now + 3600_000})
    async def written() -> bool:  # the server's substitution cache may take a moment
        try:
            await bo.transport.call("POST", f"/api/cases/{CASE_DANA}/journal", request(attempt))
        except ClientError as error:
            assert error.code != "forbidden", "not yet the substitute"  # retried
            raise
        return True
    await eventually(written, within=10)


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, status, code", [
    ({"record": "not base64!"}, 400, "invalid_field"),
    ({"record": b64u(b"\x01garbage")}, 400, "malformed_record"),
    ({"kind": "journal.remark"}, 400, "wrong_kind"),
    ({"case_id": CASE_ERIK}, 400, "wrong_target"),
    ({"grants": []}, 400, "grant_missing"),
    ({"case_grant": True}, 400, "grant_recipient"),  # a draft is the unit's alone
    ({"publish": True}, 400, "invalid_field"),  # publishing needs sign
    ({"publish": True, "sign": True}, 400, "grant_missing"),  # and a case grant
    ({"sign": "yes"}, 400, "invalid_field"),
    ({"source_seq": 999999}, 400, "unknown_message"),
    ({"bad_grant_signature": True}, 400, "bad_signature"),
])
async def test_bad_entries_are_refused_with_problem_json_and_store_nothing(login, change, status, code):
    anna = await login("anna")
    record_id, body = await upload_body(anna, change.get("kind", "journal.entry"), entry_body("t", "x"),
                                        change.get("case_grant", False), change.get("case_id", CASE_DANA))
    if change.get("bad_grant_signature"):
        body["grants"][0]["signature"] = b64u(bytes(64))
    payload = request(body, **{k: v for k, v in change.items() if k in ("record", "grants", "publish", "sign",
                                                                        "source_seq")})
    response = await anna.transport.http.post(f"/api/cases/{CASE_DANA}/journal", json=payload,
                                              headers={"x-samtal-device": anna.device_id})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert find((await journal(anna))["entries"], record_id) is None


async def test_bad_ids_and_bodies_elsewhere_are_problem_json(login):
    anna, dana = await login("anna"), await login("dana")
    for method, path, status, code in (
            ("PUT", "/api/journal/not-an-id/draft", 404, "unknown_entry"),  # no such id can exist
            ("POST", "/api/journal/AAAAAAAAAAAAAAAAAAAAAA/sign", 404, "unknown_entry"),
            ("POST", "/api/journal/remarks/AAAAAAAAAAAAAAAAAAAAAA/responses", 404, "unknown_remark"),
            ("GET", "/api/cases/no-such-case/journal", 404, "unknown_case")):
        _, body = await upload_body(anna, "journal.entry", entry_body("t", "x"), False)
        response = await anna.transport.http.request(method, path, json=request(body),
                                                     headers={"x-samtal-device": anna.device_id})
        assert (response.status_code, response.json()["code"]) == (status, code), path
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await dana.transport.http.get(f"/api/cases/{CASE_DANA}/journal/blobs/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_blob")
    plain = await dana.transport.http.post(f"/api/cases/{CASE_DANA}/journal/blobs", content=b"x" * 32,
                                           headers={"content-type": "text/plain", "x-samtal-device": dana.device_id})
    assert (plain.status_code, plain.json()["code"]) == (400, "unsupported_media_type")
