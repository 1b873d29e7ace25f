"""The exchange endpoint's behaviour: receive a signed envelope with its encrypted content, answer with a
signed receipt, let agencies fetch and acknowledge, let a unit's staff post accepted/rejected/read, and
prove it all from the audit log. The endpoint signs directories and receipts with its own Ed25519 key; it
never holds a key that can open content."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat.audit.chain import AuditEvent, AuditRow, canonical
from chat.exchange import jose
from chat.exchange.documents import TYPES
from chat.exchange.envelope import (
    DIRECTORY_TYP,
    ENVELOPE_TYP,
    RECEIPT_TYP,
    REJECT_REASONS,
    TOKEN_TYP,
    Envelope,
    ExchangeError,
    check_times,
    envelope_view,
    parse_envelope,
    receipt_payload,
)
from chat.model import User
from chat.storage.exchange import Address, ExchangeStore, Message, Receipt

MAX_TOKEN_SECONDS = 300  # a bearer token lives at most five minutes


@dataclass(frozen=True)
class ExchangeConfig:
    issuer: str = "samtal"
    audience: str = "samtal-exchange"
    max_bytes: int = 30 * 1024 * 1024
    max_skew_seconds: int = 300
    directory_seconds: int = 24 * 3600


class EndpointKey:
    """The endpoint's Ed25519 signing key, made on first start in the data folder (0600)."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            key = jose.generate("EdDSA")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(0o600)
            path.write_text(json.dumps(key.as_dict(private=True)))
        self.key = jose.import_key(json.loads(path.read_text()))
        self.public = jose.public_jwk(self.key, use="sig", alg="EdDSA")
        self.kid = self.public["kid"]

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        return jose.sign(payload, self.key, self.kid, typ, "EdDSA")


def now_s() -> int:
    return int(time.time())


def exchange_event(action: str, outcome: str, actor: str | None, role: str, reason: str = "",
                   unit_id: str | None = None,
                   **detail: Any) -> AuditEvent:
    return AuditEvent(action=action, outcome=outcome, actor=actor, role=role, unit_id=unit_id, reason=reason,
                      detail={k: v for k, v in detail.items() if v is not None})


def refusal_event(error: ExchangeError, action: str, actor: str | None, **detail: Any) -> AuditEvent:
    return exchange_event(action, "denied", actor, "agency", error.code, status=error.status, **detail)


class ExchangeService:
    def __init__(self, store: ExchangeStore, key: EndpointKey, config: ExchangeConfig) -> None:
        self.store = store
        self.key = key
        self.config = config

    # -- directory -------------------------------------------------------------------------------
    async def directory(self) -> str:
        now = now_s()
        entries = []
        for a in await self.store.addresses():
            entry: dict[str, Any] = {"address": a.address, "kind": a.kind, "name": a.name, "keys": a.keys,
                                     "document_types": a.document_types, "max_bytes": a.max_bytes}
            if a.unit_id:
                entry["unit"] = a.unit_id
            entries.append(entry)
        return self.key.sign({"iss": self.config.issuer, "audience": self.config.audience, "issued_at": now,
                              "expires": now + self.config.directory_seconds, "endpoint_key": self.key.public,
                              "document_types": sorted(TYPES), "addresses": entries}, DIRECTORY_TYP)

    async def key_by_kid(self, kid: Any, use: str) -> tuple[Address, dict[str, Any]] | None:
        if not isinstance(kid, str):
            return None
        for a in await self.store.addresses():
            for k in a.keys:
                if k.get("kid") == kid and k.get("use") == use:
                    return a, k
        return None

    # -- agencies' bearer tokens -----------------------------------------------------------------
    async def authenticate(self, token: str) -> Address:
        """An agency's short-lived signed request token (docs/exchange.md, Authentication)."""
        try:
            found = await self.key_by_kid(jose.header_of(token).get("kid"), "sig")
            if found is None or found[0].kind != "agency":
                raise ExchangeError(401, "invalid_token", "the token's kid is not an agency's signing key")
            claims = jose.verify(token, jose.import_public(found[1]), TOKEN_TYP)
        except jose.JoseInvalid as error:
            raise ExchangeError(401, "invalid_token", str(error)) from None
        now, iat, exp, jti = now_s(), claims.get("iat"), claims.get("exp"), claims.get("jti")
        if (claims.get("iss") != found[0].address or claims.get("aud") != self.config.audience
                or type(iat) is not int or type(exp) is not int or not isinstance(jti, str) or not 8 <= len(jti) <= 128):
            raise ExchangeError(401, "invalid_token", "the token needs iss (your address), aud, iat, exp and jti")
        if exp - iat > MAX_TOKEN_SECONDS or exp <= now or iat > now + self.config.max_skew_seconds:
            raise ExchangeError(401, "invalid_token", f"the token has expired or lives longer than "
                                                      f"{MAX_TOKEN_SECONDS} seconds")
        if not await self.store.use_token(found[0].address, jti, exp):
            raise ExchangeError(401, "token_replayed", "this token (jti) was used before; make a new one per request")
        return found[0]

    # -- receiving -------------------------------------------------------------------------------
    async def receive(self, envelope: str, content: str, staff: User | None = None) -> tuple[Message, Receipt, bool]:
        """Check and store one message; returns it, its `received` receipt, and whether it is new. Agencies
        send to units; a unit's staff (`staff`) send from their unit's address to agencies."""
        try:
            found = await self.key_by_kid(jose.header_of(envelope).get("kid"), "sig")
            if found is None:
                raise jose.JoseInvalid("the envelope's kid is not a signing key in the directory")
            payload = jose.verify(envelope, jose.import_public(found[1]), ENVELOPE_TYP)
        except jose.JoseInvalid as error:
            raise ExchangeError(400, "bad_signature", str(error)) from None
        signer = found[0]
        env = parse_envelope(payload)
        if env.sender != signer.address:
            raise ExchangeError(403, "sender_mismatch", "from does not match the address of the signing key")
        if staff is None and signer.kind != "agency":
            raise ExchangeError(403, "sender_mismatch", "a unit's address sends through its staff's session")
        if staff is not None and (signer.kind != "unit" or not staff.is_staff or staff.unit_id != signer.unit_id):
            raise ExchangeError(403, "forbidden", "only staff of the address's unit send from it")
        existing = await self.store.message(env.id)
        if existing is not None:
            if existing.envelope == envelope and existing.content == content:
                return existing, (await self.store.receipts(existing))[0], False
            raise ExchangeError(409, "id_conflict", "a different message with this id was received before")
        check_times(env, now_s(), self.config.max_skew_seconds)
        recipient = await self.store.address(env.recipient)
        if recipient is None or recipient.kind == signer.kind:
            raise ExchangeError(404, "unknown_recipient", "no such address (agencies send to units and back)")
        if env.type not in recipient.document_types:
            raise ExchangeError(422, "unsupported_type", f"{env.recipient} does not accept {env.type}")
        if len(content) > recipient.max_bytes:
            raise ExchangeError(413, "too_large", f"{env.recipient} accepts at most {recipient.max_bytes} bytes")
        if jose.sha256_b64u(content) != env.content_sha256:
            raise ExchangeError(400, "content_hash_mismatch", "content_sha256 is not the SHA-256 of the content")
        enc_key = recipient.key("enc")
        reason = jose.check_jwe_for(content, enc_key) if enc_key else "the recipient has no encryption key"
        if reason:
            raise ExchangeError(422, "not_encrypted_to_recipient", reason)
        since = (now_s() - 60) * 1000
        if await self.store.count_since(signer.address, since) >= signer.rate_per_minute:
            raise ExchangeError(429, "rate_limited", "too many messages this minute", retry_after=60)
        env_hash = jose.sha256_b64u(envelope)
        unit_id = recipient.unit_id or signer.unit_id
        audit = exchange_event("exchange.receive", "allowed", staff.id if staff else signer.address,
                       staff.role.value if staff else "agency", unit_id=unit_id, message=env.id,
                       envelope_sha256=env_hash, content_sha256=env.content_sha256, type=env.type,
                       priority=env.priority, sender=env.sender, recipient=env.recipient, bytes=len(content))
        return await self.store.store_message(env, envelope, env_hash, content, audit,
                                              self._signer(env, env_hash, "received"))

    def _signer(self, env: Envelope, env_hash: str, status: str, reason: str | None = None):  # type: ignore[no-untyped-def]
        def sign(log_id: int, log_hash: str) -> str:
            return self.key.sign(receipt_payload(env, env_hash, status, now_s(), log_id, log_hash, reason,
                                                 self.config.issuer), RECEIPT_TYP)
        return sign

    # -- reading and receipts --------------------------------------------------------------------
    async def message_for(self, msg_id: str, parties: set[str]) -> Message:
        message = await self.store.message(msg_id)
        if message is None or not parties & {message.sender, message.recipient}:
            raise ExchangeError(404, "unknown_message", "no such message for you")
        return message

    async def add_receipt(self, message: Message, status: str, reason: str | None, actor: str, role: str,
                          unit_id: str | None) -> Receipt:
        if status not in ("accepted", "rejected", "read"):
            raise ExchangeError(400, "invalid_status", "status must be accepted, rejected or read")
        if status == "rejected" and reason not in REJECT_REASONS:
            raise ExchangeError(400, "invalid_status", f"a rejection needs a reason: {', '.join(REJECT_REASONS)}")
        env = parse_envelope(jose.unverified_payload(message.envelope))
        audit = exchange_event(f"exchange.{status}", "allowed", actor, role, unit_id=unit_id, message=message.msg_id,
                       envelope_sha256=message.envelope_sha256, reason_code=reason)
        return await self.store.add_receipt(message, status, audit,
                                            self._signer(env, message.envelope_sha256, status,
                                                         reason if status == "rejected" else None), actor)

    async def proof(self, message: Message) -> dict[str, Any]:
        """The envelope, its receipts and the audit rows that record them. Rows removed at the end of their
        retention period (`samtal audit prune`) are not invented: `pruned` names them, the anchor the kept
        chain starts from and the retention rule they were deleted under (the deletion register,
        docs/retention.md), and those receipts stand on the endpoint's signature alone (docs/exchange.md)."""
        receipts = await self.store.receipts(message)
        wanted = sorted({message.audit_id, *(r.audit_id for r in receipts)})
        rows = await self.store.audit_rows(wanted)
        proof: dict[str, Any] = {
            "message": message.msg_id, "envelope": message.envelope, "envelope_sha256": message.envelope_sha256,
            "receipts": [r.jws for r in receipts], "log": [log_row_view(r) for r in rows],
            "endpoint_key": self.key.public}
        gone = sorted(set(wanted) - {r.id for r in rows})
        anchor = await self.store.audit_anchor() if gone else None
        if anchor is not None:
            proof["pruned"] = {"rows": gone, "through_id": anchor[0], "anchor_hash": anchor[1].hex(),
                               "pruned_at": anchor[2] // 1000, "rule": await self.store.audit_prune_rule()}
        return proof


def message_view(m: Message, content: bool = False) -> dict[str, Any]:
    view = envelope_view(parse_envelope(jose.unverified_payload(m.envelope)))
    view.update(envelope=m.envelope, envelope_sha256=m.envelope_sha256, stored_at=m.stored_at // 1000,
                acked=m.acked_at is not None)
    if content:
        view["content"] = m.content
    return view


def log_row_view(row: AuditRow) -> dict[str, Any]:
    """An audit row as a proof needs it: the canonical bytes (what the hash covers) and the hashes, so that
    anyone can check hash = SHA-256(prev_hash || canonical)."""
    return {"id": row.id, "canonical": canonical(row.id, row.event).decode("utf-8"),
            "prev_hash": row.prev_hash.hex(), "hash": row.hash.hex()}
