"""HPKE (RFC 9180) base mode for one fixed suite, written out step by step so each step is testable.

Suite: DHKEM(X25519, HKDF-SHA256) = 0x0020, HKDF-SHA256 = 0x0001, AES-256-GCM = 0x0002.
Samtal uses it to wrap unit keys to devices and case keys to devices and unit keys (see `wrap.py`).
The single-shot `seal` and `open` that the product uses go through `cryptography`'s own HPKE (its Suite,
since release 47). The step-by-step implementation below stays as the test oracle: it reproduces every
intermediate value of the RFC 9180 vectors, and it serves what `cryptography`'s API does not offer (a
fixed ephemeral key for test vectors, additional authenticated data, a context for several messages).
"""
from __future__ import annotations

import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from .aead import KEY_LEN as N_K
from .aead import NONCE_LEN as N_N
from .aead import aead_open, aead_seal
from .encoding import require_len
from .errors import CryptoError, DecryptionError, MalformedError

KEM_ID = 0x0020
KDF_ID = 0x0001
AEAD_ID = 0x0002
MODE_BASE = 0x00

N_SECRET = 32  # KEM shared secret length
N_ENC = 32  # X25519 public key = encapsulated key
N_H = 32  # SHA-256 output

_KEM_SUITE_ID = b"KEM" + KEM_ID.to_bytes(2, "big")
_HPKE_SUITE_ID = b"HPKE" + KEM_ID.to_bytes(2, "big") + KDF_ID.to_bytes(2, "big") + AEAD_ID.to_bytes(2, "big")
_VERSION_LABEL = b"HPKE-v1"
# RFC 9180 5.2: the sequence number must not wrap; 2^96 - 1 is the first value that may not be used.
_MAX_SEQ = (1 << (8 * N_N)) - 1
_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_SMALL_ORDER = "X25519 produced the all-zero shared secret (small-order public key)"


def _extract(salt: bytes, ikm: bytes) -> bytes:
    mac = crypto_hmac.HMAC(salt, hashes.SHA256())
    mac.update(ikm)
    return mac.finalize()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    """RFC 9180 LabeledExtract."""
    return _extract(salt, _VERSION_LABEL + suite_id + label + ikm)


def labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """RFC 9180 LabeledExpand."""
    if not 0 < length <= 255 * N_H:
        raise MalformedError("HKDF-SHA256 output length must be 1..8160")
    labeled_info = length.to_bytes(2, "big") + _VERSION_LABEL + suite_id + label + info
    return _expand(prk, labeled_info, length)


def dh(sk: bytes, pk: bytes) -> bytes:
    """X25519(sk, pk), refusing the all-zero output that a small-order peer key produces.

    RFC 9180 7.1.4 requires the check: with an all-zero DH output the "shared" secret is known to the
    attacker who chose the key. OpenSSL refuses it too; we check again so we never depend on that.
    """
    sk = require_len(sk, 32, "X25519 private key")
    pk = require_len(pk, N_ENC, "X25519 public key")
    try:
        shared = X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))
    except ValueError as exc:
        raise CryptoError(_SMALL_ORDER) from exc
    if hmac.compare_digest(shared, bytes(32)):
        raise CryptoError(_SMALL_ORDER)
    return shared


def derive_key_pair(ikm: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 DeriveKeyPair for X25519: (sk, pk) from input keying material (>= 32 bytes)."""
    if len(ikm) < N_SECRET:
        raise MalformedError("DeriveKeyPair needs at least 32 bytes of ikm")
    dkp_prk = labeled_extract(_KEM_SUITE_ID, b"", b"dkp_prk", bytes(ikm))
    sk = labeled_expand(_KEM_SUITE_ID, dkp_prk, b"sk", b"", 32)
    return sk, X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw()


def _extract_and_expand(dh_out: bytes, kem_context: bytes) -> bytes:
    eae_prk = labeled_extract(_KEM_SUITE_ID, b"", b"eae_prk", dh_out)
    return labeled_expand(_KEM_SUITE_ID, eae_prk, b"shared_secret", kem_context, N_SECRET)


def encap(pk_r: bytes, ikm_e: bytes | None = None) -> tuple[bytes, bytes]:
    """DHKEM Encap; returns (shared_secret, enc). `ikm_e` makes the ephemeral key deterministic (tests only)."""
    pk_r = require_len(pk_r, N_ENC, "recipient public key")
    sk_e, pk_e = derive_key_pair(ikm_e if ikm_e is not None else secrets.token_bytes(N_SECRET))
    shared_secret = _extract_and_expand(dh(sk_e, pk_r), pk_e + pk_r)
    return shared_secret, pk_e


def decap(enc: bytes, sk_r: bytes) -> bytes:
    """DHKEM Decap; returns the shared secret."""
    enc = require_len(enc, N_ENC, "enc")
    sk_r = require_len(sk_r, 32, "recipient private key")
    pk_r = X25519PrivateKey.from_private_bytes(sk_r).public_key().public_bytes_raw()
    try:
        dh_out = dh(sk_r, enc)
    except CryptoError as exc:
        # A small-order enc is just another ciphertext that cannot be opened, so report it as one.
        raise DecryptionError(str(exc)) from exc
    return _extract_and_expand(dh_out, enc + pk_r)


class Context:
    """An HPKE encryption context (RFC 9180 5.2): AEAD key, base nonce, sequence number, exporter secret."""

    __slots__ = ("key", "base_nonce", "exporter_secret", "key_schedule_context", "seq")

    def __init__(self, key: bytes, base_nonce: bytes, exporter_secret: bytes, key_schedule_context: bytes) -> None:
        self.key = key
        self.base_nonce = base_nonce
        self.exporter_secret = exporter_secret
        self.key_schedule_context = key_schedule_context
        self.seq = 0

    def _nonce(self) -> bytes:
        if self.seq >= _MAX_SEQ:
            raise CryptoError("HPKE message limit reached")
        seq_bytes = self.seq.to_bytes(N_N, "big")
        return bytes(a ^ b for a, b in zip(self.base_nonce, seq_bytes))

    def seal(self, aad: bytes, pt: bytes) -> bytes:
        """Encrypt the next message of this context."""
        ct = aead_seal(self.key, self._nonce(), aad, pt)
        self.seq += 1
        return ct

    def open(self, aad: bytes, ct: bytes) -> bytes:
        """Decrypt the next message; the sequence number advances only on success (as in the RFC)."""
        pt = aead_open(self.key, self._nonce(), aad, ct)
        self.seq += 1
        return pt

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """RFC 9180 secret export."""
        return labeled_expand(_HPKE_SUITE_ID, self.exporter_secret, b"sec", bytes(exporter_context), length)

    def __repr__(self) -> str:
        return f"hpke.Context(seq={self.seq})"


def key_schedule(shared_secret: bytes, info: bytes) -> Context:
    """RFC 9180 KeySchedule for mode_base (empty psk and psk_id)."""
    psk_id_hash = labeled_extract(_HPKE_SUITE_ID, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(_HPKE_SUITE_ID, b"", b"info_hash", bytes(info))
    ks_context = bytes([MODE_BASE]) + psk_id_hash + info_hash
    secret = labeled_extract(_HPKE_SUITE_ID, shared_secret, b"secret", b"")
    return Context(
        key=labeled_expand(_HPKE_SUITE_ID, secret, b"key", ks_context, N_K),
        base_nonce=labeled_expand(_HPKE_SUITE_ID, secret, b"base_nonce", ks_context, N_N),
        exporter_secret=labeled_expand(_HPKE_SUITE_ID, secret, b"exp", ks_context, N_H),
        key_schedule_context=ks_context,
    )


def setup_base_sender(pk_r: bytes, info: bytes, ikm_e: bytes | None = None) -> tuple[bytes, Context]:
    """SetupBaseS: returns (enc, context). Pass `ikm_e` only to reproduce test vectors."""
    shared_secret, enc = encap(pk_r, ikm_e)
    return enc, key_schedule(shared_secret, info)


def setup_base_receiver(enc: bytes, sk_r: bytes, info: bytes) -> Context:
    """SetupBaseR: the receiver's context for an encapsulated key."""
    return key_schedule(decap(enc, sk_r), info)


def seal(pk_r: bytes, info: bytes, aad: bytes, pt: bytes, *, ikm_e: bytes | None = None) -> tuple[bytes, bytes]:
    """Single-shot SealBase; returns (enc, ct). Through `cryptography`'s HPKE, except with additional data or
    a fixed ephemeral key (test vectors), which its API does not take."""
    if ikm_e is None and not aad:
        pk_r = require_len(pk_r, N_ENC, "recipient public key")
        try:
            sealed = _SUITE.encrypt(pt, X25519PublicKey.from_public_bytes(pk_r), info=bytes(info))
        except ValueError as exc:  # OpenSSL refuses the all-zero DH output (RFC 9180 7.1.4)
            raise CryptoError(_SMALL_ORDER) from exc
        return sealed[:N_ENC], sealed[N_ENC:]
    enc, ctx = setup_base_sender(pk_r, info, ikm_e)
    return enc, ctx.seal(aad, pt)


def open(sk_r: bytes, enc: bytes, info: bytes, aad: bytes, ct: bytes) -> bytes:  # noqa: A001 (RFC name)
    """Single-shot OpenBase; raises DecryptionError if the ciphertext does not authenticate (a small-order
    enc included: just another ciphertext that cannot be opened)."""
    if not aad:
        enc = require_len(enc, N_ENC, "enc")
        sk_r = require_len(sk_r, 32, "recipient private key")
        try:
            return _SUITE.decrypt(bytes(enc) + bytes(ct), X25519PrivateKey.from_private_bytes(sk_r), info=bytes(info))
        except (InvalidTag, ValueError):
            raise DecryptionError("authentication failed") from None
    return setup_base_receiver(enc, sk_r, info).open(aad, ct)
