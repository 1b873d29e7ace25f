"""AES-256-GCM with a 96-bit nonce and 128-bit tag: the one AEAD used by HPKE and by message envelopes."""
from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import require_len
from .errors import DecryptionError

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16


def aead_seal(key: bytes, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
    """Encrypt and authenticate; returns ciphertext || 16-byte tag."""
    aes = AESGCM(require_len(key, KEY_LEN, "AES-256-GCM key"))
    return aes.encrypt(require_len(nonce, NONCE_LEN, "AES-GCM nonce"), bytes(pt), bytes(aad))


def aead_open(key: bytes, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
    """Verify and decrypt ciphertext || tag; raises DecryptionError without revealing any plaintext."""
    aes = AESGCM(require_len(key, KEY_LEN, "AES-256-GCM key"))
    nonce = require_len(nonce, NONCE_LEN, "AES-GCM nonce")
    if len(ct) < TAG_LEN:
        raise DecryptionError("ciphertext shorter than the GCM tag")
    try:
        return aes.decrypt(nonce, bytes(ct), bytes(aad))
    except InvalidTag as exc:
        raise DecryptionError("authentication failed") from exc
