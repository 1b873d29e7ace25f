"""Passing a unit's identity key between its supervisors' devices (docs/protocol.md §18, Holders): the 32-byte
identity seed HPKE-sealed to one staff device's KEM key, and signed by the identity key itself, so that only a
holder of the identity can give it on, and a device never takes a seed the identity did not send it. The
browser's `crypto/identityseal.js` makes and opens the same bytes."""
from __future__ import annotations

import hmac

from . import hpke
from .encoding import is_id16, lp16, require_len, utf8
from .errors import CryptoError, MalformedError
from .keys import is_acceptable_x25519_public
from .sign import ed25519_public, sign, verify_strict
from .wrap import KEY_LEN, WrappedKey

_SEED_LABEL = b"samtal/unit-identity-seed/v1"
_SEAL_LABEL = b"samtal/unit-identity-seal/v1"


def identity_seed_info(unit_id: str, identity_pub: bytes) -> bytes:
    """HPKE info: binds the sealed seed to its unit and to the identity key it is the seed of."""
    return _SEED_LABEL + lp16(utf8(unit_id)) + require_len(identity_pub, KEY_LEN, "identity key")


def seal_signing_bytes(unit_id: str, identity_pub: bytes, recipient: str, wrapped: WrappedKey) -> bytes:
    if not is_id16(recipient):
        raise MalformedError("the recipient must be a device id")
    return (_SEAL_LABEL + lp16(utf8(unit_id)) + require_len(identity_pub, KEY_LEN, "identity key")
            + lp16(recipient.encode("ascii")) + lp16(wrapped.enc) + lp16(wrapped.ct))


def seal_identity(seed: bytes, unit_id: str, recipient: str, recipient_kem_pub: bytes, *,
                  ikm_e: bytes | None = None) -> tuple[WrappedKey, bytes]:
    """The seed sealed to `recipient` (a device id and its X25519 key) and the identity's signature over the
    seal. `ikm_e` is for test vectors only."""
    seed = require_len(seed, KEY_LEN, "identity seed")
    if not is_acceptable_x25519_public(recipient_kem_pub):
        raise MalformedError("the recipient's key is of small order or not canonical")
    identity_pub = ed25519_public(seed)
    enc, ct = hpke.seal(recipient_kem_pub, identity_seed_info(unit_id, identity_pub), b"", seed, ikm_e=ikm_e)
    wrapped = WrappedKey(enc, ct)
    return wrapped, sign(seed, seal_signing_bytes(unit_id, identity_pub, recipient, wrapped))


def verify_identity_seal(identity_pub: bytes, unit_id: str, recipient: str, wrapped: WrappedKey,
                         signature: bytes) -> bool:
    """Whether the identity key `identity_pub` itself sealed this seed to `recipient` (strictly, §4)."""
    try:
        return verify_strict(identity_pub, seal_signing_bytes(unit_id, identity_pub, recipient, wrapped), signature)
    except MalformedError:
        return False


def open_identity_seal(kem_priv: bytes, unit_id: str, recipient: str, identity_pub: bytes, wrapped: WrappedKey,
                       signature: bytes) -> bytes:
    """The identity seed, after checking the seal's signature and that the seed is the seed of `identity_pub`
    (the unit's current key as this device's checked chain says, never the server's word)."""
    if not verify_identity_seal(identity_pub, unit_id, recipient, wrapped, signature):
        raise CryptoError("the identity seal is not signed by the unit's identity key")
    seed = hpke.open(kem_priv, wrapped.enc, identity_seed_info(unit_id, identity_pub), b"", wrapped.ct)
    if not hmac.compare_digest(ed25519_public(seed), identity_pub):
        raise CryptoError("the sealed seed is not the seed of the unit's identity key")
    return seed
