"""Sealed records: applications, journal entries and the citizen's supplements, each under a key of its own.

A message is encrypted under the case key, which every device of the case holds. A record is not always
for all of them: an internal journal entry is for the unit's staff only, and an application is sent before
its case (and so its case key) exists. A record is therefore sealed under a fresh random key, and readers
get that key through grants (docs/protocol.md section 15):

    header = 0x01 || lp16(kind) || lp16(record_id) || lp16(unit_id) || lp16(case_id) || lp16(author_device)
             || u64(created_at_ms)
    record = header || nonce(12) || u32(len(ct)) || ct || sig(64)
    ct     = AES-256-GCM(record key, nonce, AAD = header, canonical JSON body)
    sig    = Ed25519(author device, "samtal/record-sig/v1" || everything before sig)

A grant to "unit:<epoch>" or to a device id is an HPKE seal of the record key to that X25519 key; a grant to
"case:<epoch>" is the record key under that case key epoch. Publishing a record to the citizen is adding a
case grant. Every grant is signed by the device that made it, so the server can neither forge nor swap one.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from . import hpke
from .aead import NONCE_LEN, TAG_LEN, aead_open, aead_seal
from .encoding import b64u, epoch_bytes, is_id16, lp16, require_len, u64, utf8
from .envelope import decode_body, seal_signed
from .errors import MalformedError
from .keys import DeviceKeys, DevicePublicKeys, is_acceptable_x25519_public
from .sign import SIGNATURE_LEN, verify_strict

VERSION = 1
MAX_RECORD_BYTES = 1 << 20
KEY_LEN = 32
KEY_GRANT_LEN = hpke.N_ENC + KEY_LEN + TAG_LEN  # enc || sealed key
CASE_GRANT_LEN = NONCE_LEN + KEY_LEN + TAG_LEN  # nonce || sealed key

_RECORD_SIG_LABEL = b"samtal/record-sig/v1"
_RECORD_KEY_LABEL = b"samtal/record-key/v1"
_RECORD_SHARE_LABEL = b"samtal/record-share/v1"
_GRANT_SIG_LABEL = b"samtal/record-grant/v1"

_KIND_RE = re.compile(r"[a-z0-9._-]{1,40}", re.ASCII)
_CASE_ID_RE = re.compile(r"[A-Za-z0-9_-]{0,64}", re.ASCII)  # empty: not (yet) in a case
# One spelling per epoch, as for key wraps: decimal without leading zeros.
_EPOCH_RECIPIENT_RE = re.compile(r"(unit|case):([1-9][0-9]{0,9})", re.ASCII)


@dataclass(frozen=True)
class RecordHeader:
    """The authenticated, unencrypted part of a record: what the server needs to file and route it."""

    kind: str
    record_id: str
    unit_id: str
    case_id: str
    author_device: str
    created_at_ms: int

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or _KIND_RE.fullmatch(self.kind) is None:
            raise MalformedError("kind must be 1..40 characters of [a-z0-9._-]")
        if not is_id16(self.record_id):
            raise MalformedError("record_id must be 16 bytes in canonical base64url (22 characters)")
        if not isinstance(self.unit_id, str) or not 1 <= len(utf8(self.unit_id)) <= 200:
            raise MalformedError("unit_id must be 1..200 bytes of UTF-8")
        if not isinstance(self.case_id, str) or _CASE_ID_RE.fullmatch(self.case_id) is None:
            raise MalformedError("case_id must be empty or 1..64 characters of [A-Za-z0-9_-]")
        if not is_id16(self.author_device):
            raise MalformedError("author_device must be a device id (22 characters base64url)")
        u64(self.created_at_ms)

    def to_bytes(self) -> bytes:
        """The header bytes, which are also the AES-GCM additional data."""
        return (
            bytes([VERSION])
            + lp16(self.kind.encode("ascii"))
            + lp16(self.record_id.encode("ascii"))
            + lp16(utf8(self.unit_id))
            + lp16(self.case_id.encode("ascii"))
            + lp16(self.author_device.encode("ascii"))
            + u64(self.created_at_ms)
        )


@dataclass(frozen=True)
class SealedRecord:
    """A parsed record; `raw` is the exact bytes it was parsed from (as stored and served)."""

    header: RecordHeader
    nonce: bytes
    ciphertext: bytes
    signature: bytes
    raw: bytes

    @property
    def signed_part(self) -> bytes:
        return self.raw[:-SIGNATURE_LEN]


def new_record_id() -> str:
    """A fresh record id: 16 random bytes, base64url (22 characters)."""
    return b64u(secrets.token_bytes(16))


def new_record_key() -> bytes:
    """A fresh random AES-256-GCM key for one record."""
    return secrets.token_bytes(KEY_LEN)


def seal_record(
    record_key: bytes, header: RecordHeader, body: dict[str, Any], author: DeviceKeys, *, nonce: bytes | None = None
) -> bytes:
    """Encrypt and sign a record; returns its bytes. `nonce` is for test vectors only."""
    if header.author_device != author.public.device_id:
        raise MalformedError("header.author_device is not the id of the signing device")
    require_len(record_key, KEY_LEN, "record key")
    return seal_signed(record_key, header.to_bytes(), body, author, _RECORD_SIG_LABEL, MAX_RECORD_BYTES, nonce)


def parse_record(data: bytes) -> SealedRecord:
    """Parse and check the shape of a record (no keys needed); raises MalformedError."""
    if not isinstance(data, (bytes, bytearray)):
        raise MalformedError("a record is bytes")
    data = bytes(data)
    if len(data) > MAX_RECORD_BYTES:
        raise MalformedError(f"record larger than {MAX_RECORD_BYTES} bytes")
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if n > len(data) - pos:
            raise MalformedError("record truncated")
        pos += n
        return data[pos - n : pos]

    def field() -> bytes:
        return take(int.from_bytes(take(2), "big"))

    def ascii_field() -> str:
        try:
            return field().decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedError("non-ASCII header field") from exc

    if take(1)[0] != VERSION:
        raise MalformedError(f"unsupported record version {data[0]}")
    kind, record_id = ascii_field(), ascii_field()
    try:
        unit_id = field().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError("unit_id is not UTF-8") from exc
    case_id, author = ascii_field(), ascii_field()
    header = RecordHeader(kind, record_id, unit_id, case_id, author, int.from_bytes(take(8), "big"))
    nonce = take(NONCE_LEN)
    ct_len = int.from_bytes(take(4), "big")
    if ct_len < TAG_LEN:
        raise MalformedError("ciphertext shorter than the GCM tag")
    ciphertext = take(ct_len)
    signature = take(SIGNATURE_LEN)
    if pos != len(data):
        raise MalformedError("trailing bytes after the signature")
    return SealedRecord(header=header, nonce=nonce, ciphertext=ciphertext, signature=signature, raw=data)


def verify_record(rec: SealedRecord, author_sign_pub: bytes) -> bool:
    """Strictly verify the author's signature; the caller looks the key up by rec.header.author_device."""
    return verify_strict(author_sign_pub, _RECORD_SIG_LABEL + rec.signed_part, rec.signature)


def open_record(record_key: bytes, rec: SealedRecord) -> dict[str, Any]:
    """Decrypt and parse the body. Raises DecryptionError for a wrong key or tampering; does not check the
    signature (call verify_record as well)."""
    return decode_body(aead_open(record_key, rec.nonce, rec.header.to_bytes(), rec.ciphertext))


# -- grants ----------------------------------------------------------------------------------------------
def _record_key_info(record_id: str) -> bytes:
    return _RECORD_KEY_LABEL + lp16(utf8(record_id))


def _share_aad(record_id: str, case_id: str, epoch: int) -> bytes:
    return _RECORD_SHARE_LABEL + lp16(utf8(record_id)) + lp16(utf8(case_id)) + epoch_bytes(epoch)


def grant_to_key(record_key: bytes, record_id: str, recipient_kem_pub: bytes, *, ikm_e: bytes | None = None) -> bytes:
    """A grant for "unit:<epoch>" (the unit epoch's public key) or a device id (its KEM key)."""
    require_len(record_key, KEY_LEN, "record key")
    if not is_acceptable_x25519_public(recipient_kem_pub):
        raise MalformedError("recipient public key is of small order or not canonical")
    enc, ct = hpke.seal(recipient_kem_pub, _record_key_info(record_id), b"", record_key, ikm_e=ikm_e)
    return enc + ct


def open_key_grant(kem_priv: bytes, record_id: str, grant: bytes) -> bytes:
    """The record key from a unit or device grant; DecryptionError for a wrong key or record."""
    require_len(grant, KEY_GRANT_LEN, "key grant")
    return hpke.open(kem_priv, grant[: hpke.N_ENC], _record_key_info(record_id), b"", grant[hpke.N_ENC :])


def grant_to_case(
    record_key: bytes, record_id: str, case_id: str, epoch: int, case_key: bytes, *, nonce: bytes | None = None
) -> bytes:
    """A grant for "case:<epoch>": the record key under that case key epoch (publishing to the citizen)."""
    require_len(record_key, KEY_LEN, "record key")
    nonce = secrets.token_bytes(NONCE_LEN) if nonce is None else require_len(nonce, NONCE_LEN, "nonce")
    return nonce + aead_seal(case_key, nonce, _share_aad(record_id, case_id, epoch), record_key)


def open_case_grant(case_key: bytes, record_id: str, case_id: str, epoch: int, grant: bytes) -> bytes:
    """The record key from a case grant; DecryptionError for a wrong case key, case, epoch or record."""
    require_len(grant, CASE_GRANT_LEN, "case grant")
    return aead_open(case_key, grant[:NONCE_LEN], _share_aad(record_id, case_id, epoch), grant[NONCE_LEN:])


def recipient_kind(recipient: str) -> str:
    """"unit", "case" or "device" for a well-formed grant recipient; MalformedError otherwise."""
    if is_id16(recipient):
        return "device"
    match = _EPOCH_RECIPIENT_RE.fullmatch(recipient) if isinstance(recipient, str) else None
    if match is None:
        raise MalformedError("grant recipient must be a device id, 'unit:<epoch>' or 'case:<epoch>'")
    epoch_bytes(int(match.group(2)))  # range check: an epoch fits in u32
    return match.group(1)


def recipient_epoch(recipient: str) -> int | None:
    """The epoch named by "unit:<epoch>" or "case:<epoch>"; None for a device."""
    return None if recipient_kind(recipient) == "device" else int(recipient.split(":", 1)[1])


def check_grant_shape(recipient: str, grant: bytes) -> None:
    """The length a grant for this recipient must have; raises MalformedError."""
    expected = CASE_GRANT_LEN if recipient_kind(recipient) == "case" else KEY_GRANT_LEN
    require_len(grant, expected, "grant")


def grant_signing_bytes(record_id: str, recipient: str, grant: bytes) -> bytes:
    """What the granting device signs: which record, for whom, and the exact grant bytes."""
    if not is_id16(record_id):
        raise MalformedError("record_id must be a 22-character id")
    check_grant_shape(recipient, grant)
    return _GRANT_SIG_LABEL + lp16(utf8(record_id)) + lp16(utf8(recipient)) + lp16(grant)


def sign_grant(keys: DeviceKeys, record_id: str, recipient: str, grant: bytes) -> bytes:
    return keys.sign(grant_signing_bytes(record_id, recipient, grant))


def verify_grant(signer: DevicePublicKeys | Any, signature: bytes, record_id: str, recipient: str, grant: bytes) -> bool:
    """Verify a grant's signature strictly; False (never an exception) for malformed fields too. `signer` is
    anything with the device's `sign_pub` (DevicePublicKeys, or the server's stored Device)."""
    try:
        signed = grant_signing_bytes(record_id, recipient, grant)
    except MalformedError:
        return False
    return verify_strict(signer.sign_pub, signed, signature)
