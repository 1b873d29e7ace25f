"""The message envelope: header, AES-256-GCM body under the case key, Ed25519 signature.

Byte layout (all integers big-endian; lp16 = uint16 length prefix), specified in docs/protocol.md §9:

    header = 0x01 || lp16(case_id) || lp16(msg_id) || lp16(sender_device) || u32(epoch) || u64(sent_at_ms)
    env    = header || nonce(12) || u32(len(ct)) || ct || sig(64)
    AAD    = header;  sig = Ed25519(sender device, "samtal/msg-sig/v1" || everything before sig)

Version 2 (messages stored in a case) adds the sender's place in the case's transcript to the header:
`|| u32(counter) || prev(32)` after sent_at_ms, with version byte 0x02 (crypto/transcript.py checks them).
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from .aead import NONCE_LEN, TAG_LEN, aead_open, aead_seal
from .encoding import b64u, epoch_bytes, is_id16, lp16, require_len, u32, u64
from .errors import MalformedError
from .keys import DeviceKeys
from .sign import SIGNATURE_LEN, verify_strict

VERSION = 1
VERSION_TRANSCRIPT = 2
PREV_LEN = 32
NO_PREV = bytes(PREV_LEN)  # "this device had seen no message of the case"
MAX_ENVELOPE_BYTES = 65536
MAX_CASE_ID_LEN = 64

_MSG_SIG_LABEL = b"samtal/msg-sig/v1"
# Case ids travel in URLs and logs; a narrow ASCII alphabet keeps one spelling per case.
_CASE_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CASE_ID_LEN}}}", re.ASCII)


@dataclass(frozen=True)
class Header:
    """The authenticated, unencrypted part of a message: what the server needs to route and check it."""

    case_id: str
    msg_id: str
    sender_device: str
    epoch: int
    sent_at_ms: int
    # Version 2 only: this device's messages in the case counting this one (1, 2, ...), and the hash of the
    # newest message of the case the device had seen (NO_PREV if none). 0 and b"" make a version 1 header.
    counter: int = 0
    prev: bytes = b""

    @property
    def version(self) -> int:
        return VERSION_TRANSCRIPT if self.counter else VERSION

    def __post_init__(self) -> None:
        # The same rules as parse_envelope, so a Header that exists can always be sealed and parsed back.
        if not isinstance(self.case_id, str) or _CASE_ID_RE.fullmatch(self.case_id) is None:
            raise MalformedError("case_id must be 1..64 characters of [A-Za-z0-9_-]")
        if not is_id16(self.msg_id):
            raise MalformedError("msg_id must be 16 bytes in canonical base64url (22 characters)")
        if not is_id16(self.sender_device):
            raise MalformedError("sender_device must be a device id (22 characters base64url)")
        epoch_bytes(self.epoch)
        u64(self.sent_at_ms)
        u32(self.counter)
        if self.counter and (not isinstance(self.prev, bytes) or len(self.prev) != PREV_LEN):
            raise MalformedError("a version 2 header names the previous message by its 32-byte hash")
        if not self.counter and self.prev != b"":
            raise MalformedError("a version 1 header has no previous message (counter 0)")

    def to_bytes(self) -> bytes:
        """The header bytes, which are also the AES-GCM additional data."""
        base = (
            bytes([self.version])
            + lp16(self.case_id.encode("ascii"))
            + lp16(self.msg_id.encode("ascii"))
            + lp16(self.sender_device.encode("ascii"))
            + u32(self.epoch)
            + u64(self.sent_at_ms)
        )
        return base + u32(self.counter) + self.prev if self.counter else base


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope; `raw` is the exact bytes it was parsed from (as stored and forwarded)."""

    header: Header
    nonce: bytes
    ciphertext: bytes
    signature: bytes
    raw: bytes

    @property
    def signed_part(self) -> bytes:
        """The envelope bytes before the signature; the signature covers "samtal/msg-sig/v1" || these."""
        return self.raw[:-SIGNATURE_LEN]


def new_msg_id() -> str:
    """A fresh message id: 16 random bytes, base64url (22 characters)."""
    return b64u(secrets.token_bytes(16))


def encode_body(body: dict[str, Any]) -> bytes:
    """Canonical UTF-8 JSON of a body: compact, keys sorted, non-ASCII kept as UTF-8, no NaN."""
    if not isinstance(body, dict):
        raise MalformedError("a message body is a JSON object")
    try:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # unserialisable values, NaN, lone surrogates
        raise MalformedError(f"body is not encodable as JSON: {exc}") from exc


def decode_body(plaintext: bytes) -> dict[str, Any]:
    """Parse a decrypted body. Any JSON object is accepted (the sender's encoder need not be ours),
    but not duplicate keys or NaN/Infinity, which JSON parsers disagree about."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise MalformedError("duplicate key in body")
        return dict(pairs)

    def no_constants(name: str) -> Any:
        raise MalformedError(f"{name} is not JSON")

    try:
        body = json.loads(plaintext.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedError("body is not UTF-8 JSON") from exc
    except RecursionError:  # a crafted body nested a thousand deep fits in 64 KiB
        raise MalformedError("body is nested too deeply") from None
    if not isinstance(body, dict):
        raise MalformedError("body is not a JSON object")
    return body


def seal_message(
    case_key: bytes, header: Header, body: dict[str, Any], sender: DeviceKeys, *, nonce: bytes | None = None
) -> bytes:
    """Encrypt, authenticate and sign a message; returns the envelope bytes.

    `nonce` is for test vectors only: a random 96-bit nonce per message keeps the GCM collision risk
    negligible for far more messages than one case key epoch will ever carry.
    """
    if header.sender_device != sender.public.device_id:
        # Recipients look up the verifying key by sender_device; a mismatch makes the message unverifiable.
        raise MalformedError("header.sender_device is not the id of the signing device")
    return seal_signed(case_key, header.to_bytes(), body, sender, _MSG_SIG_LABEL, MAX_ENVELOPE_BYTES, nonce)


def seal_signed(key: bytes, header_bytes: bytes, body: dict[str, Any], signer: DeviceKeys, label: bytes,
                max_bytes: int, nonce: bytes | None = None) -> bytes:
    """header || nonce || u32(len(ct)) || ct || sig, with the header as AES-GCM additional data and the
    signature over label || everything before it: the layout of envelopes and of sealed records."""
    nonce = secrets.token_bytes(NONCE_LEN) if nonce is None else require_len(nonce, NONCE_LEN, "nonce")
    ct = aead_seal(key, nonce, header_bytes, encode_body(body))
    signed_part = header_bytes + nonce + u32(len(ct)) + ct
    if len(signed_part) + SIGNATURE_LEN > max_bytes:
        raise MalformedError(f"would exceed {max_bytes} bytes")
    return signed_part + signer.sign(label + signed_part)


class _Reader:
    """Consumes a byte string front to back; every short read is a MalformedError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise MalformedError("envelope truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def ascii16(self) -> str:
        try:
            return self.take(self.uint(2)).decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedError("non-ASCII header field") from exc


def parse_envelope(data: bytes) -> Envelope:
    """Parse and check the shape of an envelope (no keys needed); raises MalformedError."""
    if not isinstance(data, (bytes, bytearray)):
        raise MalformedError("an envelope is bytes")
    data = bytes(data)
    if len(data) > MAX_ENVELOPE_BYTES:
        raise MalformedError(f"envelope larger than {MAX_ENVELOPE_BYTES} bytes")
    r = _Reader(data)
    version = r.uint(1)
    if version not in (VERSION, VERSION_TRANSCRIPT):
        raise MalformedError(f"unsupported envelope version {version}")
    fields = {"case_id": r.ascii16(), "msg_id": r.ascii16(), "sender_device": r.ascii16(), "epoch": r.uint(4),
              "sent_at_ms": r.uint(8)}
    if version == VERSION_TRANSCRIPT:
        counter = r.uint(4)
        if counter == 0:
            raise MalformedError("a version 2 envelope counts its sender's messages from 1")
        fields.update(counter=counter, prev=r.take(PREV_LEN))
    header = Header(**fields)  # type: ignore[arg-type]
    nonce = r.take(NONCE_LEN)
    ct_len = r.uint(4)
    if ct_len < TAG_LEN:
        raise MalformedError("ciphertext shorter than the GCM tag")
    ciphertext = r.take(ct_len)
    signature = r.take(SIGNATURE_LEN)
    if r.pos != len(data):
        raise MalformedError("trailing bytes after the signature")
    return Envelope(header=header, nonce=nonce, ciphertext=ciphertext, signature=signature, raw=data)


def verify_envelope(env: Envelope, sender_sign_pub: bytes) -> bool:
    """Strictly verify the sender's signature. The caller must have looked the key up by
    env.header.sender_device (and checked that device is a participant of the case)."""
    return verify_strict(sender_sign_pub, _MSG_SIG_LABEL + env.signed_part, env.signature)


def open_message(case_key: bytes, env: Envelope) -> dict[str, Any]:
    """Decrypt and parse the body with the case key of env.header.epoch.

    Raises DecryptionError for a wrong key or any tampering with header, nonce or ciphertext, and
    MalformedError if the plaintext is not a JSON object. It does not check the signature: call
    verify_envelope as well.
    """
    return decode_body(aead_open(case_key, env.nonce, env.header.to_bytes(), env.ciphertext))
