"""The envelope an agency signs and the receipt the endpoint signs, and the checks on an envelope that need
no database: shape, times, priority. Formats are specified in docs/exchange.md; this module is the code.

Error codes are raised as ExchangeError(status, code, detail); the web layer turns them into problem+json."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chat.errors import SamtalError

ENVELOPE_TYP = "exchange-envelope+json"
RECEIPT_TYP = "exchange-receipt+json"
DIRECTORY_TYP = "exchange-directory+json"
TOKEN_TYP = "exchange-token+jwt"  # noqa: S105 (a media type, not a secret)
STATUSES = ("received", "accepted", "rejected", "read")
PRIORITIES = ("normal", "urgent")
# Why a staff client rejects a document (receipt status rejected).
REJECT_REASONS = ("undecryptable", "schema_invalid", "wrong_recipient", "content_hash_mismatch", "other")
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}", re.ASCII)
ADDRESS_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,99}", re.ASCII)
MAX_LABEL = 200


class ExchangeError(SamtalError):
    """An exchange refusal with its own HTTP status (400, 401, 403, 404, 409, 413, 422, 429, 503)."""

    def __init__(self, status: int, code: str, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail, code=code)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    conversation: str
    in_reply_to: str | None
    type: str
    priority: str
    sender: str
    recipient: str
    label: str
    created: int
    expires: int
    content_sha256: str


def _field(payload: dict[str, Any], name: str, kind: type, optional: bool = False) -> Any:
    value = payload.get(name)
    if value is None and optional:
        return None
    if type(value) is not kind:
        raise ExchangeError(400, "invalid_envelope", f"envelope field {name} must be a {kind.__name__}")
    return value


def parse_envelope(payload: dict[str, Any]) -> Envelope:
    """Check the envelope's shape (the signature is checked before, by the caller)."""
    env = Envelope(
        id=_field(payload, "id", str), conversation=_field(payload, "conversation", str),
        in_reply_to=_field(payload, "in_reply_to", str, optional=True), type=_field(payload, "type", str),
        priority=_field(payload, "priority", str), sender=_field(payload, "from", str),
        recipient=_field(payload, "to", str), label=_field(payload, "label", str),
        created=_field(payload, "created", int), expires=_field(payload, "expires", int),
        content_sha256=_field(payload, "content_sha256", str))
    for name in ("id", "conversation"):
        if not ID_RE.fullmatch(getattr(env, name)):
            raise ExchangeError(400, "invalid_envelope", f"{name} must be 8 to 128 of A-Z a-z 0-9 . _ : -")
    if env.in_reply_to is not None and not ID_RE.fullmatch(env.in_reply_to):
        raise ExchangeError(400, "invalid_envelope", "in_reply_to must be a message id")
    if env.priority not in PRIORITIES:
        raise ExchangeError(400, "invalid_envelope", "priority must be normal or urgent")
    if len(env.label) > MAX_LABEL:
        raise ExchangeError(400, "invalid_envelope", f"label must be at most {MAX_LABEL} characters")
    if len(env.content_sha256) != 43:
        raise ExchangeError(400, "invalid_envelope", "content_sha256 must be base64url SHA-256 (43 characters)")
    return env


def check_times(env: Envelope, now: int, max_skew: int) -> None:
    """created must be within max_skew seconds of now; expires after now and after created."""
    if env.expires <= env.created:
        raise ExchangeError(400, "invalid_envelope", "expires must be after created")
    if env.expires <= now:
        raise ExchangeError(400, "expired", "the envelope has expired")
    if abs(now - env.created) > max_skew:
        raise ExchangeError(400, "stale", f"created must be within {max_skew} seconds of the endpoint's clock")


def receipt_payload(env: Envelope, envelope_sha256: str, status: str, at: int, log_id: int, log_hash: str,
                    reason: str | None = None, issuer: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": issuer, "message": env.id, "from": env.sender, "to": env.recipient,
        "envelope_sha256": envelope_sha256, "status": status, "at": at, "log": {"id": log_id, "hash": log_hash}}
    if reason:
        payload["reason"] = reason
    return payload


def envelope_view(env: Envelope) -> dict[str, Any]:
    return {"id": env.id, "conversation": env.conversation, "in_reply_to": env.in_reply_to, "type": env.type,
            "priority": env.priority, "from": env.sender, "to": env.recipient, "label": env.label,
            "created": env.created, "expires": env.expires, "content_sha256": env.content_sha256}
