"""Exchange clients: an agency's (key file, signed requests, JWE/JWS with joserfc) and a unit staff
member's (session, the address key held on the staff device). Used by `samtal exchange`; an agency can
equally use any JOSE library (docs/exchange.md)."""
from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from chat.exchange import jose
from chat.exchange.documents import DEFAULT_PRIORITY, validate
from chat.exchange.envelope import DIRECTORY_TYP, ENVELOPE_TYP, RECEIPT_TYP, TOKEN_TYP

ENVELOPE_SECONDS = 7 * 24 * 3600  # how long a sent envelope stays valid


class ExchangeClientError(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail", ""))
        self.status = status
        self.problem = problem


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"code": "http_error", "detail": response.text[:200]}
        raise ExchangeClientError(response.status_code, body)
    return response.json()  # type: ignore[no-any-return]


def verify_directory(token: str, pinned_kid: str | None = None) -> dict[str, Any]:
    """Verify the directory with the endpoint key it names (pinned by thumbprint when given); checks expiry."""
    key_jwk = jose.unverified_payload(token).get("endpoint_key", {})
    if pinned_kid is not None and key_jwk.get("kid") != pinned_kid:
        raise jose.JoseInvalid("the directory is not signed by the pinned endpoint key")
    payload = jose.verify(token, jose.import_public(key_jwk), DIRECTORY_TYP)
    if payload["expires"] < time.time():
        raise jose.JoseInvalid("the directory has expired")
    return payload


def verify_receipt(receipt: str, endpoint_key: dict[str, Any]) -> dict[str, Any]:
    return jose.verify(receipt, jose.import_public(endpoint_key), RECEIPT_TYP)


def _pruned(log: dict[str, Any], pruned: dict[str, Any]) -> bool:
    """Whether a receipt's log row is one the proof says was pruned: at or before the anchor, and if it is
    the anchor's own row, with the anchor's hash."""
    return (log["id"] in pruned.get("rows", []) and log["id"] <= pruned["through_id"]
            and (log["id"] != pruned["through_id"] or log["hash"] == pruned["anchor_hash"]))


def verify_proof(proof: dict[str, Any], endpoint_key: dict[str, Any]) -> dict[str, Any]:
    """Receipts signed by the endpoint, each naming a log row whose hash is SHA-256(prev_hash || canonical)
    and whose content records this envelope; or a row the proof says was pruned, at or before the anchor the
    kept log starts from (then the receipt's signature is what remains). Returns a summary; raises
    JoseInvalid on any mismatch."""
    rows = {}
    for row in proof["log"]:
        digest = hashlib.sha256(bytes.fromhex(row["prev_hash"]) + row["canonical"].encode("utf-8")).hexdigest()
        if digest != row["hash"]:
            raise jose.JoseInvalid(f"log row {row['id']} does not match its hash")
        rows[row["id"]] = row
    if jose.sha256_b64u(proof["envelope"]) != proof["envelope_sha256"]:
        raise jose.JoseInvalid("envelope_sha256 does not match the envelope")
    statuses, pruned = [], proof.get("pruned") or {}
    for receipt in proof["receipts"]:
        claims = verify_receipt(receipt, endpoint_key)
        if claims["envelope_sha256"] != proof["envelope_sha256"]:
            raise jose.JoseInvalid(f"the {claims['status']} receipt is for another envelope")
        row = rows.get(claims["log"]["id"])
        if row is None and _pruned(claims["log"], pruned):
            statuses.append(claims["status"])
            continue
        if row is None or row["hash"] != claims["log"]["hash"]:
            raise jose.JoseInvalid(f"the {claims['status']} receipt names a log row the proof does not hold")
        recorded = json.loads(row["canonical"])["detail"]
        if recorded.get("envelope_sha256") != proof["envelope_sha256"]:
            raise jose.JoseInvalid("a log row records another envelope")
        statuses.append(claims["status"])
    return {"message": proof["message"], "verified": True, "statuses": statuses, "log_rows": sorted(rows),
            "pruned_log_rows": pruned.get("rows", [])}


class ExchangeClient:
    """Shared by agencies and staff: the directory, and building a signed, encrypted submission."""

    def __init__(self, server: str, key_file: Path, http: httpx.Client | None = None,
                 pins: AgencyPins | None = None) -> None:
        self.server = server.rstrip("/")
        self.keys = jose.KeyFile(key_file)
        self.http = http or httpx.Client(base_url=self.server, timeout=60)
        self._directory: dict[str, Any] | None = None
        self.pins = pins
        self.problem: str | None = None  # why the last document opened was refused, in words

    def directory(self) -> dict[str, Any]:
        if self._directory is None:
            response = self.http.get("/exchange/v1/directory")
            if response.status_code != 200:
                _check(response)
            self._directory = verify_directory(response.text)
        return self._directory

    def entry(self, address: str) -> dict[str, Any]:
        entries: list[dict[str, Any]] = self.directory()["addresses"]
        for entry in entries:
            if entry["address"] == address:
                return entry
        raise ValueError(f"{address} is not in the directory")

    def submission(self, to: str, doc_type: str, content: dict[str, Any], label: str, *, priority: str | None = None,
                   conversation: str | None = None, in_reply_to: str | None = None, msg_id: str | None = None,
                   created: int | None = None) -> dict[str, str]:
        if in_reply_to and conversation is None:
            # A reply stays in the conversation of what it answers (the agency's case system threads by it).
            conversation = self.get(in_reply_to)["conversation"]
        enc = next(k for k in reversed(self.entry(to)["keys"]) if k["use"] == "enc")
        jwe = jose.encrypt(json.dumps(content, ensure_ascii=False).encode("utf-8"), jose.import_public(enc), enc["kid"])
        now = created if created is not None else int(time.time())
        envelope = {"id": msg_id or str(uuid.uuid4()), "conversation": conversation or str(uuid.uuid4()),
                    "in_reply_to": in_reply_to, "type": doc_type,
                    "priority": priority or DEFAULT_PRIORITY.get(doc_type, "normal"), "from": self.keys.address,
                    "to": to, "label": label, "created": now, "expires": now + ENVELOPE_SECONDS,
                    "content_sha256": jose.sha256_b64u(jwe)}
        return {"envelope": self.keys.sign(envelope, ENVELOPE_TYP), "content": jwe}

    def get(self, msg_id: str) -> dict[str, Any]:
        """One message as this side sees it (its envelope fields, among them `conversation`)."""
        raise NotImplementedError

    def verify_envelope(self, message: dict[str, Any]) -> dict[str, Any]:
        """The envelope's claims, verified with its sender's signing key from the verified directory (the
        sender named in the envelope must be the address of that key)."""
        kid = jose.header_of(message["envelope"]).get("kid")
        claimed = jose.unverified_payload(message["envelope"]).get("from")
        sender = self.entry(claimed) if isinstance(claimed, str) else {}
        key = next((k for k in sender.get("keys", []) if k.get("kid") == kid and k.get("use") == "sig"), None)
        if key is None:
            raise jose.JoseInvalid("the envelope is not signed by a signing key of its sender")
        envelope = jose.verify(message["envelope"], jose.import_public(key), ENVELOPE_TYP)
        if envelope.get("id") != message["id"]:
            raise jose.JoseInvalid("the envelope is not this message's")
        if self.pins is not None:
            # The directory is the server's word (it signs it): only a pin decides whose key this really is.
            self.pins.check(claimed, kid)  # type: ignore[arg-type]
        return envelope

    def open_content(self, message: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """Verify the envelope, then decrypt and validate the content: (content, None), or (None, a rejection
        reason: `other` when the envelope's signature does not verify)."""
        try:
            envelope = self.verify_envelope(message)
        except (jose.JoseInvalid, ValueError) as exc:
            self.problem = str(exc)
            return None, "other"
        if jose.sha256_b64u(message["content"]) != envelope["content_sha256"]:
            return None, "content_hash_mismatch"
        try:
            content = json.loads(jose.decrypt(message["content"], self.keys.enc_key))
        except (jose.JoseInvalid, ValueError):
            return None, "undecryptable"
        return (content, None) if not validate(message["type"], content) else (None, "schema_invalid")

    def receipt_claims(self, receipt: str) -> dict[str, Any]:
        return verify_receipt(receipt, self.directory()["endpoint_key"])


class AgencyPins:
    """The agency signing keys a unit's client trusts, by address: given with `--pin ADDRESS:KID` (the key's
    thumbprint, as the agency publishes it), and otherwise pinned on first use in a file beside the key file.
    A key the server adds to the directory for an address that is pinned is refused until it is pinned."""

    def __init__(self, path: Path | None, given: dict[str, set[str]] | None = None) -> None:
        self.path = path
        self.given = given or {}
        self.seen: dict[str, list[str]] = json.loads(path.read_text()) if path and path.exists() else {}

    @staticmethod
    def parse(values: list[str]) -> dict[str, set[str]]:
        pins: dict[str, set[str]] = {}
        for value in values:
            address, sep, kid = value.rpartition(":")
            if not sep or not address or not kid:
                raise ValueError("--pin is ADDRESS:KID, the agency's address and its signing key's thumbprint")
            pins.setdefault(address, set()).add(kid)
        return pins

    def check(self, address: str, kid: str) -> None:
        if address in self.given:
            if kid not in self.given[address]:
                raise jose.JoseInvalid(f"signed by a key of {address} that is not pinned")
            return
        known = self.seen.get(address)
        if known is None:
            self.seen[address] = [kid]  # first use: remembered, and trusted from now on
            if self.path is not None:
                self.path.write_text(json.dumps(self.seen, indent=1, sort_keys=True))
        elif kid not in known:
            raise jose.JoseInvalid(f"signed by a key of {address} not seen before: pin it with --pin if the "
                                   "agency says it is theirs")


class AgencyClient(ExchangeClient):
    def token(self) -> str:
        now = int(time.time())
        return self.keys.sign({"iss": self.keys.address, "aud": self.directory()["audience"], "iat": now,
                               "exp": now + 120, "jti": secrets.token_urlsafe(16)}, TOKEN_TYP)

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        return _check(self.http.get(path, params=params, headers={"Authorization": f"Bearer {self.token()}"}))

    def send(self, to: str, doc_type: str, content: dict[str, Any], label: str, **kw: Any) -> dict[str, Any]:
        answer = _check(self.http.post("/exchange/v1/messages", json=self.submission(to, doc_type, content, label, **kw)))
        return {**answer, "claims": self.receipt_claims(answer["receipt"])}

    def post_raw(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post("/exchange/v1/messages", json=body)

    def fetch(self, new_only: bool = True) -> list[dict[str, Any]]:
        return list(self._get("/exchange/v1/messages", **({"status": "new"} if new_only else {}))["messages"])

    def get(self, msg_id: str) -> dict[str, Any]:
        return self._get(f"/exchange/v1/messages/{msg_id}")

    def ack(self, msg_id: str, status: str = "accepted", reason: str | None = None) -> dict[str, Any]:
        body = {"status": status, **({"reason": reason} if reason else {})}
        answer = _check(self.http.post(f"/exchange/v1/messages/{msg_id}/ack", json=body,
                                       headers={"Authorization": f"Bearer {self.token()}"}))
        return {**answer, "claims": self.receipt_claims(answer["receipt"])}

    def receipts(self, msg_id: str) -> list[dict[str, Any]]:
        return [self.receipt_claims(r) for r in self._get(f"/exchange/v1/messages/{msg_id}/receipts")["receipts"]]

    def proof(self, msg_id: str) -> dict[str, Any]:
        return self._get(f"/exchange/v1/messages/{msg_id}/proof")


class UnitClient(ExchangeClient):
    """A unit's staff member: signed in (demo login here), holding the functional address's key file."""

    def __init__(self, server: str, key_file: Path, username: str, unit_id: str,
                 pins: AgencyPins | None = None) -> None:
        super().__init__(server, key_file, pins=pins)
        self.unit_id = unit_id
        _check(self.http.post("/api/demo/login", json={"username": username}))

    def inbox(self) -> dict[str, Any]:
        return _check(self.http.get(f"/exchange/v1/units/{self.unit_id}/messages"))

    def get(self, msg_id: str) -> dict[str, Any]:
        return _check(self.http.get(f"/exchange/v1/units/{self.unit_id}/messages/{msg_id}"))

    def receipt(self, msg_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
        body = {"status": status, **({"reason": reason} if reason else {})}
        return _check(self.http.post(f"/exchange/v1/units/{self.unit_id}/messages/{msg_id}/receipts", json=body))

    def open(self, msg_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The staff device opens and validates the content, and says so with accepted or rejected."""
        message = self.get(msg_id)
        content, reason = self.open_content(message)
        self.receipt(msg_id, "accepted" if content is not None else "rejected", reason)
        return message, content

    def send(self, to: str, doc_type: str, content: dict[str, Any], label: str, **kw: Any) -> dict[str, Any]:
        answer = _check(self.http.post(f"/exchange/v1/units/{self.unit_id}/messages",
                                       json=self.submission(to, doc_type, content, label, **kw)))
        return {**answer, "claims": self.receipt_claims(answer["receipt"])}


async def _post_address_key(session: Any, unit_id: str, address: str, kid: str, kind: str, version: int,
                            raw: bytes, unit_epoch: int, unit_pub: bytes) -> dict[str, Any]:
    """Wrap one raw address key (kind "address" or "address-sign") to a unit key epoch, sign the wrap record
    with this staff device, and upload it (POST /exchange/v1/units/{unit_id}/address-keys)."""
    from crypto.encoding import b64u
    from crypto.wrap import sign_wrap, wrap_address_key, wrap_address_sign_key

    wrap = wrap_address_sign_key if kind == "address-sign" else wrap_address_key
    wrapped = wrap(raw, address, version, unit_pub)
    signature = sign_wrap(session.device.keys, kind, address, version, f"unit:{unit_epoch}", wrapped)
    return dict(await session.transport.call("POST", f"/exchange/v1/units/{unit_id}/address-keys", {
        "address": address, "kid": kid, "key_version": version, "unit_epoch": unit_epoch, **wrapped.to_json(),
        "signature": b64u(signature)}))


async def share_address_key(session: Any, unit_id: str, keys: jose.KeyFile, key_version: int = 1,
                            sign_key_version: int = 1) -> dict[str, Any]:
    """Upload the address's private keys wrapped to the unit's current unit key epoch (its public key, checked
    against the signature of the device that made it), signed by this staff device (`session`: a started
    web.client.session.ClientSession): the X25519 decryption key, so approved staff browsers open what is sent
    to the address, and the Ed25519 signing key, so they can send from it. The server only stores the wraps
    (docs/exchange.md)."""
    from crypto.encoding import unb64u
    from crypto.errors import CryptoError
    from crypto.wrap import verify_unit_epoch

    epochs = await session.unit_epochs(unit_id)
    if not epochs:
        raise ValueError(f"{unit_id} has no unit key yet")
    record = max(epochs, key=lambda e: e["epoch"])
    unit_pub = unb64u(record["public_key"])
    creator = await session.device_keys(record["created_by_device"])
    if not verify_unit_epoch(creator, unb64u(record["signature"]), unit_id, record["epoch"], unit_pub):
        raise CryptoError("the unit key epoch is not signed by the device that made it")
    enc, sign = keys.enc_key.as_dict(private=True), keys.sign_key.as_dict(private=True)
    if enc.get("crv") != "X25519":
        raise ValueError("only X25519 address keys are shared with staff browsers")
    shared = [await _post_address_key(session, unit_id, keys.address, keys.enc_kid, "address", key_version,
                                      unb64u(enc["d"]), record["epoch"], unit_pub)]
    if sign.get("crv") == "Ed25519":  # browsers sign with Ed25519 only; other keys stay with the key file
        shared.append(await _post_address_key(session, unit_id, keys.address, keys.sign_kid, "address-sign",
                                              sign_key_version, unb64u(sign["d"]), record["epoch"], unit_pub))
    return {"address": keys.address, "unit_epoch": record["epoch"], "shared": [s["kid"] for s in shared],
            "signing_key_shared": len(shared) == 2}


async def rewrap_address_keys(session: Any, unit_id: str, behind: list[dict[str, Any]], current_epoch: int) -> int:
    """After a unit key rotation: wrap each address key that is wrapped only to older unit key epochs
    (`behind`, from GET /api/keys/pending) to the current epoch too. Each old wrap is used only when its
    record is signed by the device that made it, and the key is checked against the address's public key
    before it is wrapped again. Returns how many were re-wrapped."""
    from crypto.encoding import unb64u
    from crypto.keys import x25519_public
    from crypto.wrap import WrappedKey, open_address_key_wrap, verify_wrap

    if not behind:
        return 0
    unit_keys = await session.unit_keys(unit_id)
    if current_epoch not in unit_keys:
        return 0
    wraps = (await session.transport.call("GET", f"/exchange/v1/units/{unit_id}/address-keys"))["address_keys"]
    done = 0
    for task in behind:
        for w in (w for w in wraps if w["kid"] == task["kid"] and w["unit_epoch"] in unit_keys):
            wrapped = WrappedKey.from_json(w)
            signer = await session.device_keys(w["wrapped_by_device"])
            if not verify_wrap(signer, unb64u(w["signature"]), w["kind"], w["address"], w["key_version"],
                               f"unit:{w['unit_epoch']}", wrapped):
                continue  # a wrap nobody signed is never passed on
            raw = open_address_key_wrap(unit_keys[w["unit_epoch"]], w["kind"], w["address"], w["key_version"],
                                        wrapped, unb64u(w["public_key"]["x"]))
            await _post_address_key(session, unit_id, w["address"], w["kid"], w["kind"], w["key_version"], raw,
                                    current_epoch, x25519_public(unit_keys[current_epoch]))
            done += 1
            break
    return done
