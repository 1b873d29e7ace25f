"""The agency exchange against a real server: two agencies (Polisen with EdDSA/X25519, Försäkringskassan
with ES256/P-256), two unit addresses, an independent JOSE implementation (Node's jose), every error of
docs/exchange.md, proofs from the audit log, and the urgent alert by e-mail."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat.exchange import jose
from web.cli.main import main as samtal
from web.client.exchange import AgencyClient, UnitClient, verify_proof

from .conftest import ROOT, free_port, server_fixture
from .helpers import Mailbox, local_mailbox, node_jose
from .waiting import eventually, eventually_blocking

HERE = Path(__file__).parent / "exchange"
OROSANMALAN = json.loads((HERE / "orosanmalan.json").read_text(encoding="utf-8"))
EB, BOU = "ekonomiskt-bistand.demo-kommun", "barn-och-unga.demo-kommun"
MAX_BYTES = 1_000_000


SMTP_PORT = free_port()
server = server_fixture(SAMTAL_SMTP_HOST="127.0.0.1", SAMTAL_SMTP_PORT=str(SMTP_PORT),
                        SAMTAL_EXCHANGE_URGENT_SECONDS="2", SAMTAL_EXCHANGE_ALERT_CHECK_SECONDS="1",
                        SAMTAL_EXCHANGE_MAX_BYTES=str(MAX_BYTES), SAMTAL_EXCHANGE_MAX_CONCURRENT="2")


@pytest.fixture(scope="module")
def mailbox() -> Any:
    yield from local_mailbox(SMTP_PORT)


@pytest.fixture(scope="module")
def keys(server: Any, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys_dir = tmp_path_factory.mktemp("exchange-keys")
    assert samtal(["exchange", "demo-keys", "--data-dir", str(server.data_dir), "--keys-dir", str(keys_dir),
                   "--oncall", "jour@demo-kommun.example"]) == 0
    return keys_dir


@pytest.fixture(scope="module")
def polisen(server: Any, keys: Path) -> AgencyClient:
    return AgencyClient(server.url, keys / "polisen.json")


@pytest.fixture(scope="module")
def fk(server: Any, keys: Path) -> AgencyClient:
    return AgencyClient(server.url, keys / "forsakringskassan.json")


@pytest.fixture(scope="module")
def anna(server: Any, keys: Path) -> UnitClient:
    return UnitClient(server.url, keys / f"{EB}.json", "anna", "ekonomiskt-bistand")


def problem_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def security_events(server: Any) -> list[str]:
    with server.db() as db:
        return [kind for (kind,) in db.execute("SELECT kind FROM security_events")]


# -- directory, sending, receipts, proof ---------------------------------------------------------
def test_directory_is_signed_and_lists_keys_types_and_limits(polisen: AgencyClient) -> None:
    directory = polisen.directory()
    entries = {e["address"]: e for e in directory["addresses"]}
    assert {"polisen", "forsakringskassan", EB, BOU} <= set(entries)
    assert {k["use"] for k in entries[EB]["keys"]} == {"sig", "enc"}
    assert "orosanmalan/v1" in entries[EB]["document_types"] and entries[EB]["max_bytes"] > 0
    assert entries["forsakringskassan"]["keys"][0]["kty"] == "EC"
    assert all("d" not in k for e in entries.values() for k in e["keys"])
    assert "oncall" not in entries[EB]  # on-call e-mail addresses are never published
    assert directory["expires"] > time.time()


def test_urgent_orosanmalan_is_received_accepted_and_read_with_signed_receipts(
        polisen: AgencyClient, anna: UnitClient) -> None:
    sent = polisen.send(EB, "orosanmalan/v1", OROSANMALAN, "Orosanmälan")
    claims = sent["claims"]
    assert (claims["status"], claims["to"], claims["from"]) == ("received", EB, "polisen")
    listed = {m["id"]: m for m in anna.inbox()["inbox"]}
    assert listed[claims["message"]]["priority"] == "urgent"  # urgent by default
    message, content = anna.open(claims["message"])
    assert content == OROSANMALAN and message["from"] == "polisen"
    anna.receipt(claims["message"], "read")
    receipts = polisen.receipts(claims["message"])
    assert [r["status"] for r in receipts] == ["received", "accepted", "read"]
    assert len({r["log"]["id"] for r in receipts}) == 3

    proof = polisen.proof(claims["message"])
    summary = verify_proof(proof, polisen.directory()["endpoint_key"])
    assert summary["statuses"] == ["received", "accepted", "read"]
    tampered = {**proof, "log": [{**proof["log"][0], "canonical": proof["log"][0]["canonical"].replace(
        "orosanmalan", "message")}, *proof["log"][1:]]}
    with pytest.raises(jose.JoseInvalid):
        verify_proof(tampered, polisen.directory()["endpoint_key"])


def test_content_that_fails_validation_gets_a_rejected_receipt(polisen: AgencyClient, anna: UnitClient) -> None:
    sent = polisen.send(EB, "orosanmalan/v1", {"child": {"name": "X"}}, "Ofullständig", priority="normal")
    _, content = anna.open(sent["claims"]["message"])
    assert content is None
    assert [(r["status"], r.get("reason")) for r in polisen.receipts(sent["claims"]["message"])] == [
        ("received", None), ("rejected", "schema_invalid")]


def test_a_unit_replies_and_the_agency_fetches_decrypts_and_acks(fk: AgencyClient, anna: UnitClient) -> None:
    question = fk.send(EB, "begaran-om-uppgifter/v1", {"person": {"name": "Dana Karlsson"}, "questions": "Beslut?",
                                                         "legal_basis": "SFB 110 kap. 31 §"}, "Begäran")["claims"]
    reply = anna.send("forsakringskassan", "svar-uppgifter/v1", {"answer": "Bifall", "disclosed": True},
                      "Svar", in_reply_to=question["message"])["claims"]
    assert reply["from"] == EB
    new = {m["id"] for m in fk.fetch()}
    assert reply["message"] in new
    fetched = fk.get(reply["message"])
    assert fk.open_content(fetched) == ({"answer": "Bifall", "disclosed": True}, None)
    assert fetched["in_reply_to"] == question["message"]
    assert fetched["conversation"] == fk.get(question["message"])["conversation"], "a reply keeps its conversation"
    assert fk.ack(reply["message"])["claims"]["status"] == "accepted"
    assert reply["message"] not in {m["id"] for m in fk.fetch()}


def test_an_independent_jose_implementation_sends_and_verifies_the_receipt(server: Any, keys: Path) -> None:
    for key_file, to in (("polisen.json", BOU), ("forsakringskassan.json", EB)):  # EdDSA/X25519, ES256/P-256
        run = node_jose("agency.mjs", server.url, str(keys / key_file), to, str(HERE / "orosanmalan.json"))
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["status"] == "received"
    staff = UnitClient(server.url, keys / f"{EB}.json", "anna", "ekonomiskt-bistand")
    last = staff.inbox()["inbox"][-1]
    assert staff.open(last["id"])[1] == OROSANMALAN  # what Node encrypted, our staff client opens


def test_the_cli_sends_and_verifies_a_receipt(server: Any, keys: Path, tmp_path: Path) -> None:
    (tmp_path / "doc.json").write_text(json.dumps({"subject": "Kallelse", "text": "Hej"}))
    base = [sys.executable, "-m", "web.cli", "exchange"]
    sent = subprocess.run([*base, "send", "--server", server.url, "--key-file", str(keys / "polisen.json"),
                           "--to", BOU, "--type", "message/v1", "--content", str(tmp_path / "doc.json"),
                           "--label", "Meddelande"], capture_output=True, text=True, cwd=ROOT, check=True)
    message_id = json.loads(sent.stdout)["message"]
    proof = subprocess.run([*base, "proof", "--server", server.url, "--key-file", str(keys / "polisen.json"),
                            message_id], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    verified = subprocess.run([*base, "verify", "--server", server.url, "-"], input=proof, capture_output=True,
                              text=True, cwd=ROOT, check=True)
    assert json.loads(verified.stdout)["statuses"] == ["received"]


def test_the_openapi_document_describes_the_agency_side(server: Any) -> None:
    document = httpx.get(f"{server.url}/exchange/v1/openapi.json").json()
    assert {"/exchange/v1/messages", "/exchange/v1/directory", "/exchange/v1/messages/{msg_id}/proof"} <= set(
        document["paths"])
    assert "Document_orosanmalan_v1" in document["components"]["schemas"]


# -- errors --------------------------------------------------------------------------------------
def _resign(client: AgencyClient, body: dict[str, str], **changes: Any) -> dict[str, str]:
    envelope = {**jose.unverified_payload(body["envelope"]), **changes}
    return {**body, "envelope": client.keys.sign(envelope, "exchange-envelope+json")}


def test_a_bad_signature_is_refused_stores_nothing_and_is_a_security_event(
        server: Any, polisen: AgencyClient) -> None:
    body = polisen.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x")
    head, payload, signature = body["envelope"].split(".")
    forged = {**body, "envelope": f"{head}.{payload}.{signature[:-4]}AAAA"}
    problem_of(polisen.post_raw(forged), 400, "bad_signature")
    msg_id = jose.unverified_payload(body["envelope"])["id"]
    problem_of(polisen.http.get(f"/exchange/v1/messages/{msg_id}",
                                headers={"Authorization": f"Bearer {polisen.token()}"}), 404, "unknown_message")
    assert "exchange_bad_signature" in security_events(server)


def test_a_sender_other_than_the_signing_keys_address_is_forbidden(polisen: AgencyClient, fk: AgencyClient) -> None:
    body = _resign(fk, polisen.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x"))
    problem_of(fk.post_raw(body), 403, "sender_mismatch")  # signed by Försäkringskassan, from polisen


def test_a_replay_returns_the_original_receipt_and_other_bytes_conflict(polisen: AgencyClient) -> None:
    body = polisen.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x")
    first, again = polisen.post_raw(body), polisen.post_raw(body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"receipt": first.json()["receipt"], "duplicate": True}
    problem_of(polisen.post_raw(_resign(polisen, body, label="y")), 409, "id_conflict")


def test_stale_and_expired_envelopes_are_refused(polisen: AgencyClient) -> None:
    now = int(time.time())
    stale = polisen.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x", created=now - 3600)
    problem_of(polisen.post_raw(stale), 400, "stale")
    body = polisen.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x")
    problem_of(polisen.post_raw(_resign(polisen, body, created=now - 200, expires=now - 100)), 400, "expired")


def test_unknown_recipient_and_unsupported_type(polisen: AgencyClient) -> None:
    body = polisen.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x")
    problem_of(polisen.post_raw(_resign(polisen, body, to="nobody.example")), 404, "unknown_recipient")
    problem_of(polisen.post_raw(_resign(polisen, body, type="recept/v1")), 422, "unsupported_type")


def test_content_not_encrypted_to_the_recipients_key_is_refused(polisen: AgencyClient) -> None:
    body = polisen.submission(BOU, "message/v1", {"subject": "a", "text": "b"}, "x")  # encrypted to the other unit
    problem_of(polisen.post_raw(_resign(polisen, body, to=EB)), 422, "not_encrypted_to_recipient")


def test_a_body_over_the_limit_is_refused_while_streaming(polisen: AgencyClient) -> None:
    def chunks() -> Any:
        yield b'{"envelope": "x", "content": "'
        for _ in range(MAX_BYTES // 65536 + 2):
            yield b"A" * 65536
        yield b'"}'
    problem_of(polisen.http.post("/exchange/v1/messages", content=chunks(),
                                 headers={"content-type": "application/json"}), 413, "too_large")


def test_overload_is_503_and_a_sender_over_its_rate_is_429_with_retry_after(
        server: Any, polisen: AgencyClient, tmp_path: Path) -> None:
    # Made first: making it reads the directory, which is refused too while the exchange is full.
    submission = polisen.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x")
    # Two uploads that stop half way hold the exchange's two slots for as long as their connections stay
    # open: plain sockets, so nothing times them out or finishes them early (threads with a slow body did,
    # now and then, on a loaded machine).
    url = httpx.URL(server.url)
    held = [socket.create_connection((url.host, url.port), timeout=10) for _ in range(2)]
    try:
        for sock in held:
            sock.sendall(b"POST /exchange/v1/messages HTTP/1.1\r\nHost: samtal\r\ncontent-type: application/json"
                         b"\r\ncontent-length: 4096\r\n\r\n{\"envelope\": ")
        # Wait (bounded) until both hold their slots: an empty body is refused at once while a slot is free
        # (400, nothing stored), and answered 503 once the exchange is full.
        seen: list[int] = []

        def full() -> bool:
            seen.append(httpx.post(f"{server.url}/exchange/v1/messages", content=b"{}",
                                   headers={"content-type": "application/json"}).status_code)
            assert seen[-1] == 503, f"the held uploads never filled the exchange: {seen[-5:]}"
            return True
        eventually_blocking(full)
        busy = polisen.post_raw(submission)
    finally:
        for sock in held:
            sock.close()
    problem_of(busy, 503, "overloaded")
    assert busy.headers["retry-after"]

    assert samtal(["exchange", "keygen", "--address", "flood", "--out", str(tmp_path / "flood.json")]) == 0
    assert samtal(["exchange", "admin", "register", "--data-dir", str(server.data_dir), "--public",
                   str(tmp_path / "flood.pub.json"), "--kind", "agency", "--name", "Flood", "--rate", "1"]) == 0
    flood = AgencyClient(server.url, tmp_path / "flood.json")
    flood.send(EB, "message/v1", {"subject": "a", "text": "b"}, "x")
    limited = flood.post_raw(flood.submission(EB, "message/v1", {"subject": "a", "text": "b"}, "x"))
    problem_of(limited, 429, "rate_limited")
    assert limited.headers["retry-after"] == "60"


def test_agency_requests_need_a_fresh_signed_token(polisen: AgencyClient) -> None:
    problem_of(polisen.http.get("/exchange/v1/messages"), 401, "invalid_token")
    token = polisen.token()
    assert polisen.http.get("/exchange/v1/messages", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    problem_of(polisen.http.get("/exchange/v1/messages", headers={"Authorization": f"Bearer {token}"}),
               401, "token_replayed")


def test_staff_of_another_unit_cannot_read_the_units_exchange(server: Any) -> None:
    client = httpx.Client(base_url=server.url)
    client.post("/api/demo/login", json={"username": "dana"})
    problem_of(client.get("/exchange/v1/units/ekonomiskt-bistand/messages"), 403, "forbidden")


# -- urgent alerts -------------------------------------------------------------------------------
def test_an_unread_urgent_document_alerts_on_call_by_email_without_content(
        polisen: AgencyClient, mailbox: Mailbox) -> None:
    polisen.send(BOU, "orosanmalan/v1", OROSANMALAN, "Orosanmälan om barn")
    eventually_blocking(lambda: mailbox.messages, within=15, what="the alert e-mail")
    mail = mailbox.messages[0]
    assert mail.rcpt_tos == ["jour@demo-kommun.example"]
    text = mail.content.decode("utf-8", "replace")
    for secret in ("Alva", "Orosanm", "Karl", "polisen"):
        assert secret not in text


def test_the_server_never_holds_an_address_private_key(server: Any, keys: Path) -> None:
    blob = server.stored_bytes()
    for key_file in keys.glob("*.json"):
        assert key_file.stat().st_mode & 0o077 == 0
        private = json.loads(key_file.read_text())
        assert private["enc"]["d"].encode() not in blob and private["sign"]["d"].encode() not in blob


def test_the_address_key_is_shared_wrapped_to_the_unit_key_and_a_staff_device_opens_with_it(
        server: Any, keys: Path, polisen: AgencyClient, tmp_path: Path) -> None:
    from crypto.encoding import b64u, unb64u
    from crypto.wrap import WrappedKey, unwrap_address_key, unwrap_address_sign_key, verify_wrap
    from tests.test_browser_app import run_async
    from web.client.session import ClientSession

    unit = "ekonomiskt-bistand"

    async def unit_key_made() -> None:  # by the demo key steward, shortly after the server starts
        async with ClientSession(server.url, tmp_path / "cecilia", "cecilia") as session:
            await session.start()
            await eventually(lambda: session.unit_epochs(unit), within=20, what="the unit key")
    run_async(unit_key_made())
    assert samtal(["exchange", "unit", "share-key", "--server", server.url, "--as", "cecilia", "--unit", unit,
                   "--key-file", str(keys / f"{EB}.json"), "--device-dir", str(tmp_path)]) == 0
    sent = polisen.send(EB, "orosanmalan/v1", OROSANMALAN, "Orosanmälan om barn")

    async def open_as_bo() -> dict[str, Any]:
        async with ClientSession(server.url, tmp_path / "bo", "bo") as session:
            await session.start()
            # The steward approves bo's new device.
            unit_keys = await eventually(lambda: session.unit_keys(unit), within=20, what="bo's unit key")
            wraps = (await session.transport.call("GET", f"/exchange/v1/units/{unit}/address-keys"))["address_keys"]
            [wrap] = [w for w in wraps if w["use"] == "enc"]
            [sign_wrap] = [w for w in wraps if w["use"] == "sig"]
            assert (sign_wrap["kind"], sign_wrap["public_key"]["crv"]) == ("address-sign", "Ed25519")
            seed = unwrap_address_sign_key(unit_keys[sign_wrap["unit_epoch"]], EB, sign_wrap["key_version"],
                                           WrappedKey.from_json(sign_wrap), unb64u(sign_wrap["public_key"]["x"]))
            assert seed == unb64u(json.loads((keys / f"{EB}.json").read_text())["sign"]["d"])
            wrapped = WrappedKey.from_json(wrap)
            signer = await session.device_keys(wrap["wrapped_by_device"])
            assert verify_wrap(signer, unb64u(wrap["signature"]), "address", EB, wrap["key_version"],
                               f"unit:{wrap['unit_epoch']}", wrapped)
            private = unwrap_address_key(unit_keys[wrap["unit_epoch"]], EB, wrap["key_version"], wrapped,
                                         unb64u(wrap["public_key"]["x"]))
            message = await session.transport.call(
                "GET", f"/exchange/v1/units/{unit}/messages/{sent['claims']['message']}")
            key = jose.import_key({"kty": "OKP", "crv": "X25519", "x": wrap["public_key"]["x"], "d": b64u(private)})
            return dict(json.loads(jose.decrypt(message["content"], key)))
    assert run_async(open_as_bo()) == OROSANMALAN
    rows = audit_actions(server)
    assert "exchange.address_key.wrap" in rows


def audit_actions(server: Any) -> list[str]:
    with server.db() as db:
        return [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY id")]


def test_an_address_key_wrap_must_be_signed_as_the_kind_of_key_it_holds(server: Any, keys: Path,
                                                                       tmp_path: Path) -> None:
    """The signing key's wrap signed as if it held the decryption key (or the reverse) is refused: a server
    that swapped wraps could otherwise hand a device the one for the other."""
    from crypto.encoding import b64u, unb64u
    from crypto.keys import x25519_public
    from crypto.wrap import sign_wrap, wrap_address_sign_key
    from tests.test_browser_app import run_async
    from web.client.session import ClientSession
    from web.client.transport import ClientError

    unit, private = "ekonomiskt-bistand", json.loads((keys / f"{EB}.json").read_text())

    async def post(kind: str) -> Any:
        async with ClientSession(server.url, tmp_path, "cecilia") as cecilia:
            await cecilia.start()
            # The steward approves this new device.
            unit_keys = await eventually(lambda: cecilia.unit_keys(unit), within=20, what="the unit key")
            epoch = max(unit_keys)
            wrapped = wrap_address_sign_key(unb64u(private["sign"]["d"]), EB, 1, x25519_public(unit_keys[epoch]))
            signature = sign_wrap(cecilia.device.keys, kind, EB, 1, f"unit:{epoch}", wrapped)
            try:
                return (await cecilia.transport.call("POST", f"/exchange/v1/units/{unit}/address-keys", {
                    "address": EB, "kid": private["sign"]["kid"], "key_version": 1, "unit_epoch": epoch,
                    **wrapped.to_json(), "signature": b64u(signature)}))["stored"]
            except ClientError as error:
                return error.code
    assert run_async(post("address")) == "bad_signature"
    assert run_async(post("address-sign")) is True


def test_after_a_unit_key_rotation_the_steward_wraps_the_address_keys_to_the_new_epoch(
        server: Any, keys: Path, tmp_path: Path) -> None:
    """Runs after the address keys were shared (the test above). A staff device that held the unit key is
    removed, so the demo steward makes a new unit key epoch; it then wraps both address keys to that epoch,
    signed by its own device, and a device that holds only the new epoch opens them."""
    from crypto.encoding import unb64u
    from crypto.wrap import WrappedKey, open_address_key_wrap, verify_wrap
    from tests.test_browser_app import run_async
    from web.client.session import ClientSession

    unit = "ekonomiskt-bistand"

    async def rotate_and_wait() -> tuple[int, list[dict[str, Any]], dict[int, bytes], dict[str, Any]]:
        async with ClientSession(server.url, tmp_path / "bo", "bo") as bo:
            await bo.start()
            # The steward approves bo's new device: it holds the unit key.
            await eventually(lambda: bo.unit_keys(unit), within=20, what="bo's unit key")
            before = max(e["epoch"] for e in await bo.unit_epochs(unit))
            await bo.transport.call("DELETE", f"/api/devices/{bo.device_id}")  # it leaves: a rotation is due
        async with ClientSession(server.url, tmp_path / "bo-new", "bo") as fresh:
            await fresh.start()
            async def rewrapped() -> list[dict[str, Any]]:
                wraps = (await fresh.transport.call("GET", f"/exchange/v1/units/{unit}/address-keys"))["address_keys"]
                # Both wraps to the new epoch, and the new epoch granted to this new device (one epoch at a time).
                assert len([w for w in wraps if w["unit_epoch"] > before]) == 2, wraps
                assert before + 1 in await fresh.unit_keys(unit)
                return wraps
            wraps = await eventually(rewrapped)
            signers = {w["wrapped_by_device"]: await fresh.device_keys(w["wrapped_by_device"]) for w in wraps}
            return before, wraps, await fresh.unit_keys(unit), signers
    before, wraps, unit_keys, signers = run_async(rotate_and_wait())
    new = [w for w in wraps if w["unit_epoch"] > before]
    assert sorted(w["use"] for w in new) == ["enc", "sig"], wraps
    [epoch] = {w["unit_epoch"] for w in new}
    assert epoch == before + 1 and epoch in unit_keys
    private = json.loads((keys / f"{EB}.json").read_text())
    for w in new:
        wrapped = WrappedKey.from_json(w)
        raw = open_address_key_wrap(unit_keys[epoch], w["kind"], EB, w["key_version"], wrapped,
                                    unb64u(w["public_key"]["x"]))
        assert raw == unb64u(private["enc" if w["use"] == "enc" else "sign"]["d"])
        assert verify_wrap(signers[w["wrapped_by_device"]], unb64u(w["signature"]), w["kind"], EB, w["key_version"],
                           f"unit:{epoch}", wrapped)


def test_directory_changes_by_operators_are_in_the_audit_chain_while_the_server_writes_to_it(
        server: Any, keys: Path, polisen: AgencyClient, tmp_path: Path) -> None:
    """register and retire-key append to the same hash chain as the running server (its next rows chain on
    from theirs), recording the operator and what changed but no on-call address."""
    assert samtal(["exchange", "keygen", "--address", "sis", "--out", str(tmp_path / "sis.json")]) == 0
    assert samtal(["exchange", "admin", "register", "--data-dir", str(server.data_dir), "--public",
                   str(tmp_path / "sis.pub.json"), "--kind", "agency", "--name", "SiS"]) == 0
    polisen.send(BOU, "message/v1", {"subject": "Efter registreringen", "text": "Hej"}, "Meddelande")
    kid = json.loads((tmp_path / "sis.pub.json").read_text())["keys"][0]["kid"]
    # "--": a kid is base64url and may start with "-", which argparse would take for an option.
    assert samtal(["exchange", "admin", "retire-key", "--data-dir", str(server.data_dir), "--", kid]) == 0
    assert samtal(["exchange", "admin", "retire-key", "--data-dir", str(server.data_dir), "--", kid]) == 1
    polisen.send(BOU, "message/v1", {"subject": "Efter", "text": "Hej"}, "Meddelande")
    with server.db() as db:
        rows = [(a, o, r, role, json.loads(d)) for a, o, r, role, d in db.execute(
            "SELECT action, outcome, reason, role, detail FROM audit_log WHERE action LIKE 'exchange.admin.%'"
            " ORDER BY id")]
    registered = [d for a, _, _, _, d in rows if a == "exchange.admin.register"]
    assert {d["address"] for d in registered} >= {"polisen", "forsakringskassan", EB, BOU, "sis"}
    assert all(role == "operator" for *_, role, _ in rows)
    assert [(o, r) for a, o, r, _, _ in rows if a == "exchange.admin.retire_key"] == [("allowed", ""),
                                                                                      ("denied", "unknown_key")]
    assert "jour@demo-kommun.example" not in json.dumps([d for *_, d in rows])
    assert samtal(["audit", "verify", "--data-dir", str(server.data_dir)]) == 0


def test_a_proof_after_the_audit_log_was_pruned_says_what_was_pruned_and_still_verifies(
        server: Any, polisen: AgencyClient, anna: UnitClient) -> None:
    """Last in the module: it prunes the whole audit log. A proof then names the receipts' rows as pruned at
    or before the anchor the kept chain starts from (the signed receipts remain); the server's next rows
    chain on from that anchor, so later proofs hold their rows again and `samtal audit verify` is intact."""
    from chat.storage.engines import prune_audit

    before = polisen.send(BOU, "message/v1", {"subject": "Före gallring", "text": "Hej"}, "Meddelande")["claims"]
    assert prune_audit(server.database, int(time.time() * 1000) + 1) > 0  # what `audit prune` does
    proof = polisen.proof(before["message"])
    assert proof["log"] == []
    assert proof["pruned"]["rows"] == [before["log"]["id"]] and proof["pruned"]["through_id"] >= before["log"]["id"]
    assert proof["pruned"]["rule"] == "audit"  # the deletion register's word for the prune (docs/retention.md)
    summary = verify_proof(proof, polisen.directory()["endpoint_key"])
    assert summary["statuses"] == ["received"] and summary["pruned_log_rows"] == [before["log"]["id"]]
    forged = {**proof, "pruned": {**proof["pruned"], "rows": []}}
    with pytest.raises(jose.JoseInvalid):
        verify_proof(forged, polisen.directory()["endpoint_key"])

    after = polisen.send(BOU, "message/v1", {"subject": "Efter gallring", "text": "Hej"}, "Meddelande")["claims"]
    later = polisen.proof(after["message"])
    assert "pruned" not in later and [row["id"] for row in later["log"]] == [after["log"]["id"]]
    with server.db() as db:
        first_kept = db.execute("SELECT id, prev_hash FROM audit_log ORDER BY id LIMIT 1").fetchone()
    assert (first_kept[0], bytes(first_kept[1]).hex()) == (proof["pruned"]["through_id"] + 1,
                                                            proof["pruned"]["anchor_hash"])
    assert verify_proof(later, polisen.directory()["endpoint_key"])["pruned_log_rows"] == []
    assert samtal(["audit", "verify", "--data-dir", str(server.data_dir)]) == 0


# -- a hostile operator (#19 item 4): the directory is the server's word --------------------------------------
def test_a_second_polisen_key_added_to_the_directory_cannot_forge_a_document(server: Any, keys: Path,
                                                                               tmp_path: Path) -> None:
    """Run last: it leaves an attacker's key registered for Polisen."""
    unit_keys = tmp_path / "unit"
    unit_keys.mkdir()
    key_file = unit_keys / f"{EB}.json"
    key_file.write_text((keys / f"{EB}.json").read_text())

    def unit_open(message_id: str, *extra: str, key: Path = key_file) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "web.cli", "exchange", "unit", "open", "--server", server.url,
                               "--key-file", str(key), "--as", "anna", "--unit", "ekonomiskt-bistand", *extra,
                               message_id], capture_output=True, text=True, cwd=ROOT, timeout=120)

    polisen = AgencyClient(server.url, keys / "polisen.json")
    genuine = polisen.send(EB, "orosanmalan/v1", OROSANMALAN, "Orosanmälan")["claims"]["message"]
    opened = unit_open(genuine)
    assert opened.returncode == 0, opened.stderr  # the first key seen for polisen is pinned now

    # The operator registers a key of their own as Polisen's, and sends a document signed with it.
    attacker = tmp_path / "attacker.json"
    assert samtal(["exchange", "keygen", "--address", "polisen", "--sign", "EdDSA", "--enc", "X25519",
                   "--out", str(attacker)]) == 0
    assert samtal(["exchange", "admin", "register", "--data-dir", str(server.data_dir), "--public",
                   str(tmp_path / "attacker.pub.json"), "--kind", "agency", "--name", "Polisen"]) == 0
    forged_content = {**OROSANMALAN}
    forged = AgencyClient(server.url, attacker).send(EB, "orosanmalan/v1", forged_content, "Orosanmälan")
    forged_id = forged["claims"]["message"]

    refused = unit_open(forged_id)
    assert refused.returncode == 1
    assert json.loads(refused.stdout) == {"id": forged_id, "status": "rejected", "reason":
                                          "signed by a key of polisen not seen before: pin it with --pin if the "
                                          "agency says it is theirs"}
    # A unit that pinned Polisen's key as Polisen publishes it refuses too, on any device.
    pinned = unit_open(forged_id, "--pin", f"polisen:{jose.KeyFile(keys / 'polisen.json').sign_kid}")
    assert pinned.returncode == 1 and json.loads(pinned.stdout)["reason"] == "signed by a key of polisen that is not pinned"
    # Without any pin or memory (a unit that never opened Polisen's documents), the directory is all there is:
    # the limit docs/exchange.md states.
    fresh = unit_keys / "fresh.json"
    fresh.write_text(key_file.read_text())
    trusting = unit_open(forged_id, key=fresh)
    assert trusting.returncode == 0
