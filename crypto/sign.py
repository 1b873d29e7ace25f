"""Ed25519 signatures with strict verification, so the server and every client accept exactly the same set.

Why strict: plain RFC 8032 leaves room for several accepted encodings of one signature (S + L), for
public keys that "verify" anything (small-order points) and for libraries that disagree with each other.
Samtal's server and clients must agree on every verdict, and a signature must not be re-spellable, because
message ids and signatures are stored and compared.
"""
from __future__ import annotations

import nacl.bindings
import nacl.exceptions
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .encoding import require_len
from .points import ED25519_SMALL_ORDER_Y, L, P

SEED_LEN = 32
PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64


def ed25519_public(seed: bytes) -> bytes:
    """Return the 32-byte Ed25519 public key for a 32-byte seed."""
    key = Ed25519PrivateKey.from_private_bytes(require_len(seed, SEED_LEN, "Ed25519 seed"))
    return key.public_key().public_bytes_raw()


def sign(seed: bytes, message: bytes) -> bytes:
    """Sign `message` with the Ed25519 key derived from the 32-byte `seed`; returns 64 bytes."""
    key = Ed25519PrivateKey.from_private_bytes(require_len(seed, SEED_LEN, "Ed25519 seed"))
    return key.sign(bytes(message))


def is_small_order_or_noncanonical(public_key: bytes) -> bool:
    """True if a 32-byte point encoding is of small order or not canonical (y >= p), or is not 32 bytes.

    Used for public keys and for the R half of signatures. A small-order public key lets anyone produce
    signatures that verify for it; a non-canonical encoding gives one key two names.
    """
    if not isinstance(public_key, (bytes, bytearray)) or len(public_key) != PUBLIC_KEY_LEN:
        return True
    y = int.from_bytes(public_key, "little") & ((1 << 255) - 1)
    return y >= P or y in ED25519_SMALL_ORDER_Y


def verify_strict(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Verify an Ed25519 signature strictly; returns False, never raises, for anything not valid.

    Rejected: wrong lengths; a public key or R that is of small order or non-canonically encoded;
    S >= L (the S + L malleability of RFC 8032 section 8.4); and of course a wrong signature.
    The equation itself is checked by libsodium (cofactorless, comparing the encoding of R), which is
    also what WebCrypto specifies, so browser and server agree. Mixed-order public keys (a prime-order
    point plus a torsion component) are not rejected here, exactly like libsodium and WebCrypto: honest
    devices never make them and a cofactorless check gives every implementation the same answer.
    """
    if not all(isinstance(x, (bytes, bytearray)) for x in (public_key, message, signature)):
        return False
    if len(public_key) != PUBLIC_KEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    # The explicit checks come first: libsodium built with ED25519_COMPAT skips some of them (and older
    # releases missed some non-canonical encodings); we want one behaviour wherever this runs.
    if is_small_order_or_noncanonical(public_key) or is_small_order_or_noncanonical(signature[:32]):
        return False
    if int.from_bytes(signature[32:], "little") >= L:
        return False
    try:
        # PyNaCl exposes no detached verify; crypto_sign_open on sig || message is the same check.
        nacl.bindings.crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
        return False
    return True
