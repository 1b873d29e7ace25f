"""Samtal's end-to-end cryptography: device keys, HPKE key wrapping, signed envelopes (docs/protocol.md).

Pure functions over bytes: no files, no network, no clock. One idea per module:
`encoding` (b64u, length prefixes), `sign` (strict Ed25519), `keys` (devices), `hpke` (RFC 9180),
`aead` (AES-256-GCM), `points` (curve constants), `wrap` (unit and case keys), `envelope` (messages),
`errors`.
"""
from .errors import CryptoError, DecryptionError, InvalidSignature, MalformedError

__all__ = ["CryptoError", "DecryptionError", "InvalidSignature", "MalformedError"]
