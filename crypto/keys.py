"""Device keys (one Ed25519 signing key and one X25519 KEM key per browser or CLI), device ids and safety numbers."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .encoding import b64u, lp16, require_len, unb64u_len, utf8
from .errors import MalformedError
from .points import X25519_SMALL_ORDER_U, P
from .sign import ed25519_public, is_small_order_or_noncanonical, sign, verify_strict

KEY_LEN = 32

_DEVICE_ID_LABEL = b"samtal/device-id/v1"
_FINGERPRINT_LABEL = b"samtal/fingerprint/v1"
_REGISTRATION_LABEL = b"samtal/device-reg/v1"


def x25519_public(priv: bytes) -> bytes:
    """Return the X25519 public key (32 bytes) of a raw 32-byte private key."""
    key = X25519PrivateKey.from_private_bytes(require_len(priv, KEY_LEN, "X25519 private key"))
    return key.public_key().public_bytes_raw()


def generate_x25519() -> tuple[bytes, bytes]:
    """Generate a fresh X25519 key pair; returns (private, public), both raw 32 bytes."""
    priv = secrets.token_bytes(KEY_LEN)
    return priv, x25519_public(priv)


def is_acceptable_x25519_public(pub: bytes) -> bool:
    """True for a canonical X25519 public key that is not of small order.

    RFC 7748 tells DH code to accept any 32 bytes; a key *directory* can be stricter, because honest
    devices only ever publish canonical keys (u < p, top bit clear) of large order.
    """
    if not isinstance(pub, (bytes, bytearray)) or len(pub) != KEY_LEN:
        return False
    u = int.from_bytes(pub, "little")
    return u < P and u not in X25519_SMALL_ORDER_U


@dataclass(frozen=True)
class DevicePublicKeys:
    """The public half of a device: what the server stores and what peers encrypt to and verify against."""

    sign_pub: bytes
    kem_pub: bytes

    def __post_init__(self) -> None:
        # Validated on construction, so no code path can hold a directory entry that verifies anything
        # (small-order Ed25519) or that leaks what is encrypted to it (small-order X25519).
        require_len(self.sign_pub, KEY_LEN, "sign_pub")
        require_len(self.kem_pub, KEY_LEN, "kem_pub")
        if is_small_order_or_noncanonical(self.sign_pub):
            raise MalformedError("sign_pub is of small order or not canonically encoded")
        if not is_acceptable_x25519_public(self.kem_pub):
            raise MalformedError("kem_pub is of small order or not canonically encoded")

    @property
    def device_id(self) -> str:
        """The device's id: 16 bytes of a hash over both public keys, base64url (22 characters)."""
        return b64u(hashlib.sha256(_DEVICE_ID_LABEL + self.sign_pub + self.kem_pub).digest()[:16])

    def fingerprint(self) -> str:
        """The safety number people compare out of band: six groups of five digits.

        30 hash bytes in 5-byte chunks reduced mod 100000: the bias of 2^40 mod 10^5 is negligible,
        and about 100 bits of the hash end up in the 30 digits.
        """
        digest = hashlib.sha256(_FINGERPRINT_LABEL + self.sign_pub + self.kem_pub).digest()
        chunks = (int.from_bytes(digest[i : i + 5], "big") % 100000 for i in range(0, 30, 5))
        return " ".join(f"{chunk:05d}" for chunk in chunks)

    def to_json(self) -> dict[str, str]:
        """The JSON form used by the HTTP API: {"sign_pub": b64u, "kem_pub": b64u}."""
        return {"sign_pub": b64u(self.sign_pub), "kem_pub": b64u(self.kem_pub)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DevicePublicKeys:
        """Parse and validate the JSON form; raises MalformedError for anything not acceptable."""
        sign_pub, kem_pub = _json_keys(d, "sign_pub", "kem_pub")
        return cls(sign_pub=sign_pub, kem_pub=kem_pub)


class DeviceKeys:
    """A device's private keys. Kept out of repr and logs; only the client key file serialises them."""

    __slots__ = ("_sign_seed", "_kem_priv", "_public")

    def __init__(self, sign_seed: bytes, kem_priv: bytes) -> None:
        self._sign_seed = require_len(sign_seed, KEY_LEN, "sign_seed")
        self._kem_priv = require_len(kem_priv, KEY_LEN, "kem_priv")
        self._public = DevicePublicKeys(ed25519_public(self._sign_seed), x25519_public(self._kem_priv))

    @classmethod
    def generate(cls) -> DeviceKeys:
        """Create a new device with fresh random keys."""
        return cls(secrets.token_bytes(KEY_LEN), secrets.token_bytes(KEY_LEN))

    @classmethod
    def from_private(cls, sign_seed: bytes, kem_priv: bytes) -> DeviceKeys:
        """Rebuild a device from its 32-byte Ed25519 seed and 32-byte raw X25519 private key."""
        return cls(sign_seed, kem_priv)

    @property
    def sign_seed(self) -> bytes:
        return self._sign_seed

    @property
    def kem_priv(self) -> bytes:
        return self._kem_priv

    @property
    def public(self) -> DevicePublicKeys:
        return self._public

    def sign(self, msg: bytes) -> bytes:
        """Ed25519-sign `msg` with this device's key."""
        return sign(self._sign_seed, msg)

    def to_private_json(self) -> dict[str, str]:
        """The client's key-file form: {"sign_seed": b64u, "kem_priv": b64u}. Secret; never send it."""
        return {"sign_seed": b64u(self._sign_seed), "kem_priv": b64u(self._kem_priv)}

    @classmethod
    def from_private_json(cls, d: dict[str, Any]) -> DeviceKeys:
        """Inverse of to_private_json; raises MalformedError on a damaged key file."""
        return cls(*_json_keys(d, "sign_seed", "kem_priv"))

    def __repr__(self) -> str:
        # Only public information: a repr ends up in logs and tracebacks.
        return f"DeviceKeys(device_id={self._public.device_id!r})"


def _registration_bytes(user_id: str, pub: DevicePublicKeys) -> bytes:
    return _REGISTRATION_LABEL + lp16(utf8(user_id)) + pub.sign_pub + pub.kem_pub


def registration_proof(keys: DeviceKeys, user_id: str) -> bytes:
    """Sign the binding of this device's two public keys to a user, proving possession of the signing key."""
    return keys.sign(_registration_bytes(user_id, keys.public))


def verify_registration_proof(pub: DevicePublicKeys, user_id: str, proof: bytes) -> bool:
    """Check a registration proof strictly; False for any invalid or malformed input."""
    try:
        signed = _registration_bytes(user_id, pub)
    except MalformedError:
        return False
    return verify_strict(pub.sign_pub, signed, proof)


def _json_keys(d: dict[str, Any], first: str, second: str) -> tuple[bytes, bytes]:
    """Two 32-byte keys from a JSON object of b64u strings (both device key forms have this shape)."""
    if not isinstance(d, dict):
        raise MalformedError("device keys must be a JSON object")
    values = []
    for name in (first, second):
        text = d.get(name)
        if not isinstance(text, str):
            raise MalformedError(f"missing or non-string field {name!r}")
        values.append(unb64u_len(text, KEY_LEN, name))
    return values[0], values[1]
