"""The unit identity (docs/protocol.md §18): a unit's long-term Ed25519 key, published by the municipality,
and the certificates it signs for the unit's staff devices, their revocation, the unit key epochs and the
hand-over to a next identity key. `evaluate_chain` turns a unit's certificates, in log order, into what a
client may trust; it is the one place the rules live (the browser's `crypto/unitcert.js` mirrors it)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .encoding import b64u, is_id16, lp16, require_len, u32, u64, unb64u, unb64u_len, utf8
from .errors import CryptoError, MalformedError
from .keys import DevicePublicKeys
from .sign import ed25519_public, is_small_order_or_noncanonical, sign, verify_strict

_CERT_LABEL = b"samtal/unit-cert/v1"
_FILE_LABEL = b"samtal/unit-identity-file/v1"
_FINGERPRINT_LABEL = b"samtal/unit-fingerprint/v1"
KINDS = ("identity", "handover", "device", "revoke", "epoch")
IDENTITY_FILE_VERSION = 1


class UnitIdentityChanged(CryptoError):
    """The unit's identity key is not the one this client pinned, and no hand-over signed by the pinned
    key leads to it: someone (the server, or whoever controls it) put another key in the unit's place."""


class ChainError(CryptoError):
    """A unit's certificates do not form a valid chain (a bad signature, a certificate out of order)."""


def _key(data: bytes, what: str) -> bytes:
    data = require_len(data, 32, what)
    if is_small_order_or_noncanonical(data):
        raise MalformedError(f"{what} is of small order or not canonical")
    return data


def _ascii_id(text: str, what: str) -> bytes:
    if not is_id16(text):
        raise MalformedError(f"{what} must be a 16-byte id")
    return text.encode("ascii")


# -- subjects: what each kind of certificate says -----------------------------------------------------------
def identity_subject(identity_pub: bytes) -> bytes:
    return _key(identity_pub, "identity key")


def device_subject(device_id: str, keys: DevicePublicKeys, user_id: str) -> bytes:
    if keys.device_id != device_id:
        raise MalformedError("the device id is not the hash of the device's keys")
    return lp16(_ascii_id(device_id, "device id")) + keys.sign_pub + keys.kem_pub + lp16(utf8(user_id))


def revoke_subject(device_id: str) -> bytes:
    return lp16(_ascii_id(device_id, "device id"))


def epoch_subject(epoch: int, unit_pub: bytes) -> bytes:
    if epoch < 1:
        raise MalformedError("epochs start at 1")
    return u32(epoch) + require_len(unit_pub, 32, "unit public key")


@dataclass(frozen=True)
class DeviceCert:
    device_id: str
    keys: DevicePublicKeys
    user_id: str


def parse_subject(kind: str, subject: bytes) -> Any:
    """The subject's fields: a key (identity, handover), a DeviceCert, a device id (revoke), (epoch, pub)."""
    try:
        if kind in ("identity", "handover"):
            return identity_subject(subject)
        if kind == "epoch":
            require_len(subject, 36, "epoch subject")
            epoch = int.from_bytes(subject[:4], "big")
            if epoch < 1:
                raise MalformedError("epochs start at 1")
            return epoch, subject[4:]
        n = int.from_bytes(subject[:2], "big")
        device_id = subject[2:2 + n].decode("ascii")
        if kind == "revoke":
            if len(subject) != 2 + n:
                raise MalformedError("trailing bytes")
            _ascii_id(device_id, "device id")
            return device_id
        if kind == "device":
            rest = subject[2 + n:]
            keys = DevicePublicKeys(rest[:32], rest[32:64])
            m = int.from_bytes(rest[64:66], "big")
            if len(rest) != 66 + m:
                raise MalformedError("trailing bytes")
            user_id = rest[66:].decode("utf-8")
            if keys.device_id != device_id:
                raise MalformedError("the device id is not the hash of the device's keys")
            return DeviceCert(device_id, keys, user_id)
    except (UnicodeDecodeError, IndexError) as exc:
        raise MalformedError("malformed certificate subject") from exc
    raise MalformedError("unknown certificate kind")


# -- certificates -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitCert:
    """One signed statement of a unit identity key. `signer` is the identity key that signed it (for kind
    "identity", the key itself; for "handover", the outgoing key)."""

    unit_id: str
    kind: str
    subject: bytes
    issued_at: int
    signer: bytes
    signature: bytes

    def signed_bytes(self) -> bytes:
        return cert_signing_bytes(self.unit_id, self.kind, self.subject, self.issued_at)

    def verifies(self) -> bool:
        try:
            return verify_strict(self.signer, self.signed_bytes(), self.signature)
        except MalformedError:
            return False

    def to_json(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "kind": self.kind, "subject": b64u(self.subject),
                "issued_at": self.issued_at, "signer": b64u(self.signer), "signature": b64u(self.signature)}

    @classmethod
    def from_json(cls, d: object) -> UnitCert:  # checked here: it comes from the network
        if not isinstance(d, dict) or d.get("kind") not in KINDS:
            raise MalformedError("a certificate must be an object with a known kind")
        issued_at = d.get("issued_at")
        if not isinstance(issued_at, int) or isinstance(issued_at, bool) or not 0 <= issued_at < 1 << 63:
            raise MalformedError("issued_at must be a whole number of milliseconds")
        if not isinstance(d.get("unit_id"), str) or not all(isinstance(d.get(k), str)
                                                            for k in ("subject", "signer", "signature")):
            raise MalformedError("unit_id, subject, signer and signature must be strings")
        return cls(d["unit_id"], d["kind"], unb64u(d["subject"]), issued_at, unb64u_len(d["signer"], 32, "signer"),
                   unb64u_len(d["signature"], 64, "signature"))


def cert_signing_bytes(unit_id: str, kind: str, subject: bytes, issued_at: int) -> bytes:
    if kind not in KINDS:
        raise MalformedError("unknown certificate kind")
    return _CERT_LABEL + lp16(utf8(unit_id)) + lp16(kind.encode("ascii")) + lp16(subject) + u64(issued_at)


def sign_cert(identity_seed: bytes, unit_id: str, kind: str, subject: bytes, issued_at: int) -> UnitCert:
    parse_subject(kind, subject)  # a holder never signs a malformed statement
    signer = ed25519_public(identity_seed)
    signature = sign(identity_seed, cert_signing_bytes(unit_id, kind, subject, issued_at))
    return UnitCert(unit_id, kind, subject, issued_at, signer, signature)


# -- fingerprints and the municipality's published file ---------------------------------------------------------
def unit_fingerprint(unit_id: str, identity_pub: bytes) -> str:
    """The unit's safety number, printed on letters and at the office: six groups of five digits, made as
    the device safety number is (§3), over the unit id and its identity key."""
    digest = hashlib.sha256(_FINGERPRINT_LABEL + lp16(utf8(unit_id)) + identity_subject(identity_pub)).digest()
    return " ".join(f"{int.from_bytes(digest[i:i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))


def qr_payload(unit_id: str, identity_pub: bytes) -> str:
    """What the office's QR code says: the unit and its identity key, for a client to compare."""
    return f"samtal-unit:1:{unit_id}:{b64u(identity_subject(identity_pub))}"


def identity_file(unit_id: str, identity_seed: bytes, name: str = "") -> dict[str, Any]:
    """The JSON file the municipality hosts on its own web site, signed by the unit identity key."""
    pub = ed25519_public(identity_seed)
    signature = sign(identity_seed, _FILE_LABEL + lp16(utf8(unit_id)) + pub)
    return {"samtal_unit_identity": IDENTITY_FILE_VERSION, "unit_id": unit_id, "name": name,
            "identity_key": b64u(pub), "fingerprint": unit_fingerprint(unit_id, pub), "signature": b64u(signature)}


def verify_identity_file(data: Any, unit_id: str) -> bytes:
    """The identity key a municipality's file names for `unit_id`; MalformedError or CryptoError otherwise."""
    if not isinstance(data, dict) or data.get("samtal_unit_identity") != IDENTITY_FILE_VERSION:
        raise MalformedError("not a Samtal unit identity file of version 1")
    if data.get("unit_id") != unit_id:
        raise CryptoError("the identity file is for another unit")
    if not isinstance(data.get("identity_key"), str) or not isinstance(data.get("signature"), str):
        raise MalformedError("identity_key and signature must be strings")
    pub = identity_subject(unb64u_len(data["identity_key"], 32, "identity_key"))
    if not verify_strict(pub, _FILE_LABEL + lp16(utf8(unit_id)) + pub, unb64u_len(data["signature"], 64, "signature")):
        raise CryptoError("the identity file's signature does not verify")
    return pub


def load_identity_file(text: str, unit_id: str) -> bytes:
    try:
        return verify_identity_file(json.loads(text), unit_id)
    except json.JSONDecodeError as exc:
        raise MalformedError("the identity file is not JSON") from exc


# -- the chain: what a client may trust ---------------------------------------------------------------------------
@dataclass
class UnitTrust:
    """A unit's certificates, checked: its identity keys in order (the first, the genesis, then each hand-over),
    the staff devices certified (and those revoked since) and the unit key epochs certified."""

    unit_id: str
    keys: list[bytes] = field(default_factory=list)
    devices: dict[str, DeviceCert] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    epochs: dict[int, bytes] = field(default_factory=dict)

    @property
    def current_key(self) -> bytes:
        return self.keys[-1]

    def fingerprint(self) -> str:
        return unit_fingerprint(self.unit_id, self.current_key)

    def device(self, device_id: str, *, allow_revoked: bool = False) -> DeviceCert | None:
        """The device's certificate when it is a certified staff device of the unit (and, unless
        `allow_revoked`, not revoked since); None otherwise."""
        if device_id in self.revoked and not allow_revoked:
            return None
        return self.devices.get(device_id)

    def newest_epoch(self) -> tuple[int, bytes] | None:
        if not self.epochs:
            return None
        epoch = max(self.epochs)
        return epoch, self.epochs[epoch]


def evaluate_chain(unit_id: str, certs: list[UnitCert], pinned: bytes | None = None) -> UnitTrust:
    """Check a unit's certificates in log order. The first is the genesis `identity`, self-signed; each
    later certificate must be signed by the identity key current at its place in the order, so a key that
    was handed over signs nothing after its hand-over. With `pinned` (the key this client trusted before),
    the pinned key must be in the chain (the current key, or one that handed over to it through valid
    hand-overs): otherwise UnitIdentityChanged."""
    trust = UnitTrust(unit_id)
    for position, cert in enumerate(certs):
        if cert.unit_id != unit_id:
            raise ChainError("a certificate of another unit")
        subject = parse_subject(cert.kind, cert.subject)
        if position == 0:
            if cert.kind != "identity" or subject != cert.signer:
                raise ChainError("the first certificate must be the self-signed identity")
            if not cert.verifies():
                raise ChainError("the unit identity's self-signature does not verify")
            trust.keys.append(cert.signer)
            continue
        if cert.kind == "identity":
            raise ChainError("a second genesis: an identity may change only by a hand-over")
        if cert.signer != trust.current_key or not cert.verifies():
            raise ChainError(f"a {cert.kind} certificate not signed by the unit's current identity key")
        if cert.kind == "handover":
            trust.keys.append(subject)
        elif cert.kind == "device":
            trust.devices[subject.device_id] = subject
            trust.revoked.discard(subject.device_id)
        elif cert.kind == "revoke":
            trust.revoked.add(subject)
        elif cert.kind == "epoch":
            epoch, unit_pub = subject
            if trust.epochs.get(epoch, unit_pub) != unit_pub:
                raise ChainError("two different keys certified for one unit key epoch")
            trust.epochs[epoch] = unit_pub
    if not trust.keys:
        raise ChainError("the unit has no identity")
    if pinned is not None and pinned not in trust.keys:
        raise UnitIdentityChanged("the unit's identity key changed without a hand-over from the pinned key")
    return trust
