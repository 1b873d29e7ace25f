"""Byte encodings shared by every Samtal format: strict base64url and length-prefixed big-endian fields."""
from __future__ import annotations

import base64
import re

from .errors import MalformedError

# Only the URL-safe alphabet, and no padding: every b64u string in the protocol has exactly one spelling.
_B64U_RE = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)


def b64u(data: bytes) -> str:
    """Encode bytes as base64url without '=' padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    """Decode base64url strictly: no padding, no other characters, no non-canonical trailing bits.

    Strictness matters because ids and keys are compared as strings: two spellings of the same bytes
    would let one key or message appear under two names.
    """
    if not isinstance(text, str) or _B64U_RE.fullmatch(text) is None:
        raise MalformedError("not base64url (alphabet A-Z a-z 0-9 - _, no padding)")
    if len(text) % 4 == 1:
        raise MalformedError("impossible base64url length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # The decoder ignores the unused low bits of the last character; re-encoding exposes them.
    if b64u(data) != text:
        raise MalformedError("non-canonical base64url (unused trailing bits are set)")
    return data


def unb64u_len(text: str, length: int, what: str) -> bytes:
    """Decode strict base64url and require an exact byte length (for keys, nonces and ids)."""
    data = unb64u(text)
    if len(data) != length:
        raise MalformedError(f"{what} must be {length} bytes, got {len(data)}")
    return data


def utf8(text: str) -> bytes:
    """Encode an identifier as UTF-8, turning lone surrogates into MalformedError instead of a crash."""
    if not isinstance(text, str):
        raise MalformedError("expected a string")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError("string is not encodable as UTF-8") from exc


def lp16(data: bytes) -> bytes:
    """Prefix bytes with their length as uint16 big-endian, so concatenated fields cannot be re-split."""
    if not isinstance(data, (bytes, bytearray)):
        raise MalformedError("lp16 takes bytes")
    if len(data) > 0xFFFF:
        raise MalformedError("field longer than 65535 bytes")
    return len(data).to_bytes(2, "big") + bytes(data)


def _uint(n: int, size: int) -> bytes:
    # bool is an int subclass; a True where a number was meant is a bug, not the number 1.
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 1 << (8 * size):
        raise MalformedError(f"expected an integer in 0..2^{8 * size}-1")
    return n.to_bytes(size, "big")


def u32(n: int) -> bytes:
    """Encode 0 <= n < 2^32 as 4 bytes big-endian."""
    return _uint(n, 4)


def u64(n: int) -> bytes:
    """Encode 0 <= n < 2^64 as 8 bytes big-endian."""
    return _uint(n, 8)


def require_len(data: bytes, length: int, what: str) -> bytes:
    """Check that a binary argument is bytes of exactly `length`; returns it as immutable bytes."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != length:
        raise MalformedError(f"{what} must be {length} bytes")
    return bytes(data)


# 16 bytes in canonical base64url: 21 free characters, then one whose low 4 bits are zero.
_ID16_RE = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]", re.ASCII)


def is_id16(text: str) -> bool:
    """True if `text` is the canonical base64url spelling of 16 bytes (device ids, message ids)."""
    return isinstance(text, str) and _ID16_RE.fullmatch(text) is not None


def epoch_bytes(epoch: int) -> bytes:
    """Encode a key epoch as u32. Epochs are numbered from 1, so 0 never names a real key."""
    if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch < 1:
        raise MalformedError("epochs start at 1")
    return u32(epoch)
