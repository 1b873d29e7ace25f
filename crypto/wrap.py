"""Key wrapping: unit keys to staff devices, case keys to citizen devices and unit keys, and the signed
records that stop a malicious server from substituting a key of its own (DESIGN.md section 3)."""
from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import hpke
from .aead import TAG_LEN
from .encoding import b64u, epoch_bytes, is_id16, lp16, require_len, unb64u, utf8
from .errors import CryptoError, MalformedError
from .keys import DeviceKeys, DevicePublicKeys, is_acceptable_x25519_public, x25519_public
from .sign import ed25519_public, verify_strict

KEY_LEN = 32
WRAPPED_CT_LEN = KEY_LEN + TAG_LEN

_UNIT_KEY_LABEL = b"samtal/unit-key/v1"
_CASE_KEY_LABEL = b"samtal/case-key/v1"
_WRAP_SIG_LABEL = b"samtal/wrap-sig/v1"
_UNIT_EPOCH_LABEL = b"samtal/unit-epoch/v1"
_ADDRESS_KEY_LABEL = b"samtal/address-key/v1"
_ADDRESS_SIGN_KEY_LABEL = b"samtal/address-sign-key/v1"
# Wrap kinds whose target is an exchange address and whose recipient is always a unit key epoch: its
# decryption key ("address") and its signing key ("address-sign").
ADDRESS_KINDS = ("address", "address-sign")

# A case key wrapped to the unit key names the unit epoch instead of a device: "unit:<epoch>", decimal
# without leading zeros so each epoch has exactly one spelling.
_UNIT_RECIPIENT_RE = re.compile(r"unit:[1-9][0-9]{0,9}", re.ASCII)


def unit_key_info(unit_id: str, epoch: int) -> bytes:
    """HPKE info for wrapping epoch `epoch` of a unit key: binds the wrap to that unit and epoch."""
    return _UNIT_KEY_LABEL + lp16(utf8(unit_id)) + epoch_bytes(epoch)


def case_key_info(case_id: str, epoch: int) -> bytes:
    """HPKE info for wrapping epoch `epoch` of a case key: binds the wrap to that case and epoch."""
    return _CASE_KEY_LABEL + lp16(utf8(case_id)) + epoch_bytes(epoch)


def address_key_info(address: str, version: int) -> bytes:
    """HPKE info for wrapping version `version` of an exchange address's X25519 private key (the functional
    address's decryption key, docs/exchange.md) to a unit key: binds the wrap to that address and version."""
    return _ADDRESS_KEY_LABEL + lp16(utf8(address)) + epoch_bytes(version)


def address_sign_key_info(address: str, version: int) -> bytes:
    """HPKE info for wrapping version `version` of an exchange address's Ed25519 signing seed to a unit key,
    so that staff browsers can sign what the unit sends from the address."""
    return _ADDRESS_SIGN_KEY_LABEL + lp16(utf8(address)) + epoch_bytes(version)


@dataclass(frozen=True)
class WrappedKey:
    """An HPKE-sealed 32-byte key: `enc` (the ephemeral X25519 key) and `ct` (32-byte key + 16-byte tag)."""

    enc: bytes
    ct: bytes

    def __post_init__(self) -> None:
        require_len(self.enc, hpke.N_ENC, "enc")
        require_len(self.ct, WRAPPED_CT_LEN, "wrapped key ciphertext")

    def to_json(self) -> dict[str, str]:
        return {"enc": b64u(self.enc), "ct": b64u(self.ct)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WrappedKey:
        """Parse {"enc": b64u, "ct": b64u}; raises MalformedError on any other shape."""
        if not isinstance(d, dict) or not isinstance(d.get("enc"), str) or not isinstance(d.get("ct"), str):
            raise MalformedError("wrapped key must be {'enc': b64u, 'ct': b64u}")
        return cls(enc=unb64u(d["enc"]), ct=unb64u(d["ct"]))


def new_case_key() -> bytes:
    """A fresh random 32-byte case key (AES-256-GCM key for one case epoch)."""
    return secrets.token_bytes(KEY_LEN)


def _wrap(key: bytes, info: bytes, recipient_pub: bytes, ikm_e: bytes | None) -> WrappedKey:
    key = require_len(key, KEY_LEN, "key to wrap")
    if not is_acceptable_x25519_public(recipient_pub):
        raise MalformedError("recipient public key is of small order or not canonical")
    enc, ct = hpke.seal(recipient_pub, info, b"", key, ikm_e=ikm_e)
    return WrappedKey(enc, ct)


def _unwrap(priv: bytes, info: bytes, wrapped: WrappedKey) -> bytes:
    # The length is fixed by WrappedKey, so a successful open always yields 32 bytes.
    return hpke.open(priv, wrapped.enc, info, b"", wrapped.ct)


def wrap_unit_key(
    unit_priv: bytes, unit_id: str, epoch: int, device_kem_pub: bytes, *, ikm_e: bytes | None = None
) -> WrappedKey:
    """Wrap a unit's X25519 private key of one epoch to a staff device. `ikm_e` is for test vectors only."""
    return _wrap(unit_priv, unit_key_info(unit_id, epoch), device_kem_pub, ikm_e)


def unwrap_unit_key(
    device_kem_priv: bytes, unit_id: str, epoch: int, wrapped: WrappedKey, expected_unit_pub: bytes
) -> bytes:
    """Unwrap a unit private key and check it matches the unit's published (signed) public key.

    The check matters because anyone can HPKE-seal to a device: without it a server could hand a device
    a unit key of its own choosing, and the device would then wrap case keys to the server.
    """
    unit_priv = _unwrap(device_kem_priv, unit_key_info(unit_id, epoch), wrapped)
    expected = require_len(expected_unit_pub, KEY_LEN, "expected unit public key")
    if not hmac.compare_digest(x25519_public(unit_priv), expected):
        raise CryptoError("unwrapped unit key does not match the expected unit public key")
    return unit_priv


def wrap_case_key(
    case_key: bytes, case_id: str, epoch: int, recipient_kem_pub: bytes, *, ikm_e: bytes | None = None
) -> WrappedKey:
    """Wrap a case key to a citizen device's KEM key or to a unit key. `ikm_e` is for test vectors only."""
    return _wrap(case_key, case_key_info(case_id, epoch), recipient_kem_pub, ikm_e)


def unwrap_case_key(recipient_kem_priv: bytes, case_id: str, epoch: int, wrapped: WrappedKey) -> bytes:
    """Unwrap a 32-byte case key; raises DecryptionError for a wrong key, case or epoch."""
    return _unwrap(recipient_kem_priv, case_key_info(case_id, epoch), wrapped)


def wrap_address_key(
    address_priv: bytes, address: str, version: int, unit_pub: bytes, *, ikm_e: bytes | None = None
) -> WrappedKey:
    """Wrap an exchange address's raw X25519 private key to a unit key epoch's public key, so that every
    approved staff device of the unit can open documents sent to the address. `ikm_e` is for test vectors only."""
    return _wrap(address_priv, address_key_info(address, version), unit_pub, ikm_e)


def _unwrap_checked(unit_priv: bytes, info: bytes, wrapped: WrappedKey, expected_pub: bytes,
                    public_of: Callable[[bytes], bytes], what: str) -> bytes:
    key = _unwrap(unit_priv, info, wrapped)
    expected = require_len(expected_pub, KEY_LEN, f"expected {what} public key")
    if not hmac.compare_digest(public_of(key), expected):
        raise CryptoError(f"unwrapped {what} does not match the address's public key")
    return key


def unwrap_address_key(
    unit_priv: bytes, address: str, version: int, wrapped: WrappedKey, expected_pub: bytes
) -> bytes:
    """Unwrap an address private key and check it matches the address's published X25519 key."""
    return _unwrap_checked(unit_priv, address_key_info(address, version), wrapped, expected_pub, x25519_public,
                           "address key")


def wrap_address_sign_key(
    seed: bytes, address: str, version: int, unit_pub: bytes, *, ikm_e: bytes | None = None
) -> WrappedKey:
    """Wrap an exchange address's 32-byte Ed25519 signing seed to a unit key epoch's public key, so that every
    approved staff device of the unit can sign envelopes from the address. `ikm_e` is for test vectors only."""
    return _wrap(seed, address_sign_key_info(address, version), unit_pub, ikm_e)


def unwrap_address_sign_key(
    unit_priv: bytes, address: str, version: int, wrapped: WrappedKey, expected_pub: bytes
) -> bytes:
    """Unwrap an address signing seed and check it is the seed of the address's published Ed25519 key."""
    return _unwrap_checked(unit_priv, address_sign_key_info(address, version), wrapped, expected_pub,
                           ed25519_public, "address signing key")


def open_address_key_wrap(
    unit_priv: bytes, kind: str, address: str, version: int, wrapped: WrappedKey, expected_pub: bytes
) -> bytes:
    """Either kind of address key wrap ("address" or "address-sign"), opened and checked against the
    address's public key: to wrap it again to a newer unit key epoch after a rotation."""
    if kind == "address-sign":
        return unwrap_address_sign_key(unit_priv, address, version, wrapped, expected_pub)
    if kind == "address":
        return unwrap_address_key(unit_priv, address, version, wrapped, expected_pub)
    raise MalformedError("kind must be 'address' or 'address-sign'")


def _check_recipient(kind: str, recipient_id: str) -> None:
    if is_id16(recipient_id) and kind not in ADDRESS_KINDS:
        return
    if (kind in ("case", *ADDRESS_KINDS) and isinstance(recipient_id, str)
            and _UNIT_RECIPIENT_RE.fullmatch(recipient_id)):
        epoch_bytes(int(recipient_id[5:]))  # range check: a unit epoch fits in u32
        return
    raise MalformedError("recipient must be a device id, or 'unit:<epoch>' for a case or address key")


def wrap_signing_bytes(kind: str, target_id: str, epoch: int, recipient_id: str, wrapped: WrappedKey) -> bytes:
    """The bytes a wrapping device signs: which key (kind, target, epoch), for whom, and the exact wrap.
    For the kinds "address" (its decryption key) and "address-sign" (its signing key) the target is the
    exchange address, the epoch the key's version, and the recipient always "unit:<epoch>"."""
    if kind not in ("unit", "case", *ADDRESS_KINDS):
        raise MalformedError("wrap kind must be 'unit', 'case', 'address' or 'address-sign'")
    _check_recipient(kind, recipient_id)
    return (
        _WRAP_SIG_LABEL
        + lp16(utf8(kind))
        + lp16(utf8(target_id))
        + epoch_bytes(epoch)
        + lp16(utf8(recipient_id))
        + lp16(wrapped.enc)
        + lp16(wrapped.ct)
    )


def sign_wrap(
    keys: DeviceKeys, kind: str, target_id: str, epoch: int, recipient_id: str, wrapped: WrappedKey
) -> bytes:
    """Sign a wrap record with the wrapping device's key."""
    return keys.sign(wrap_signing_bytes(kind, target_id, epoch, recipient_id, wrapped))


def verify_wrap(
    signer: DevicePublicKeys,
    signature: bytes,
    kind: str,
    target_id: str,
    epoch: int,
    recipient_id: str,
    wrapped: WrappedKey,
) -> bool:
    """Verify a wrap record strictly; False (never an exception) for malformed fields too."""
    try:
        signed = wrap_signing_bytes(kind, target_id, epoch, recipient_id, wrapped)
    except MalformedError:
        return False
    return verify_strict(signer.sign_pub, signed, signature)


def unit_epoch_signing_bytes(unit_id: str, epoch: int, unit_pub: bytes) -> bytes:
    """The bytes signed to publish a unit key epoch: unit, epoch and the unit's X25519 public key."""
    return _UNIT_EPOCH_LABEL + lp16(utf8(unit_id)) + epoch_bytes(epoch) + require_len(unit_pub, KEY_LEN, "unit_pub")


def sign_unit_epoch(keys: DeviceKeys, unit_id: str, epoch: int, unit_pub: bytes) -> bytes:
    """Sign the publication of a unit key epoch (done by the device that created the epoch)."""
    return keys.sign(unit_epoch_signing_bytes(unit_id, epoch, unit_pub))


def verify_unit_epoch(signer: DevicePublicKeys, sig: bytes, unit_id: str, epoch: int, unit_pub: bytes) -> bool:
    """Verify a unit epoch publication strictly; False for malformed fields too."""
    try:
        signed = unit_epoch_signing_bytes(unit_id, epoch, unit_pub)
    except MalformedError:
        return False
    return verify_strict(signer.sign_pub, signed, sig)
