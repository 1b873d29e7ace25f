"""The errors raised by `crypto/`, as one hierarchy a caller can catch at the level it cares about.

    CryptoError                      anything this package refuses to do
     ├── InvalidSignature            a signature that does not verify (for callers that prefer raising)
     ├── DecryptionError             an AEAD tag that does not verify: wrong key, wrong AAD, tampering
     └── MalformedError (ValueError) bytes or text that do not have the specified shape
"""
from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised on purpose by `crypto/`."""


class InvalidSignature(CryptoError):
    """A signature did not verify. The `verify_*` functions return False instead of raising this."""


class DecryptionError(CryptoError):
    """Authenticated decryption failed; no plaintext is ever returned in this case."""


class MalformedError(CryptoError, ValueError):
    """Input has the wrong length, encoding or format (it is a ValueError too, for generic handlers)."""
