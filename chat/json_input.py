"""One parser for every JSON input that comes from outside: HTTP bodies, WebSocket frames, the exchange
endpoint's bodies and the headers and payloads of its tokens. Whatever a client sends, the answer is a value
within these limits or a typed refusal (`InvalidInput`, a 4xx), never a server error:

- size: at most `max_bytes` (413 `too_large`);
- nesting: at most MAX_DEPTH arrays and objects deep (Python's own parser fails with a RecursionError on deep
  input, which became a 500): `json_too_deep`;
- strings and keys: valid Unicode text (no unpaired surrogates such as "\\ud800": they cannot be stored,
  logged or sent on as UTF-8), no duplicate keys: `json_invalid_string`;
- numbers: integers within ±(2^63 - 1) (SQLite's 64 bits; each field then has its own range, most of them
  2^53 - 1, what a browser keeps exactly), finite floats, no NaN or Infinity: `json_number_out_of_range`;
- anything else that is not JSON (or not UTF-8): `malformed_body`."""
from __future__ import annotations

import json
import math
from typing import Any

from chat.errors import InvalidInput

MAX_DEPTH = 32
INT_LIMIT = 2**63 - 1
SAFE_INT = 2**53 - 1  # the largest integer a browser's JSON keeps exactly: the default range of fields
_INT_DIGITS = len(str(INT_LIMIT))


class JsonRefused(InvalidInput):
    """JSON input refused; `code` says which limit."""


def _int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > _INT_DIGITS or abs(value := int(text)) > INT_LIMIT:
        raise JsonRefused(f"integers are at most {INT_LIMIT} in size", code="json_number_out_of_range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused("numbers must be finite", code="json_number_out_of_range")
    return value


def _constant(text: str) -> Any:
    raise JsonRefused(f"{text} is not JSON", code="json_number_out_of_range")


def _text(value: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRefused("strings must be valid Unicode text (an unpaired surrogate is not)",
                              code="json_invalid_string") from None
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonRefused(f"the key {key[:32]!r} appears twice", code="json_invalid_string")
        out[_text(key)] = value
    return out


def _check(value: Any, max_depth: int) -> None:
    """Depth and strings, without recursion (the input decides how deep it goes)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _text(item)
        elif isinstance(item, (list, dict)):
            if depth > max_depth:
                raise JsonRefused(f"JSON may nest at most {max_depth} levels", code="json_too_deep")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def parse(raw: bytes | bytearray | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `raw`, within the limits above; raises JsonRefused."""
    if len(raw) > max_bytes:
        raise JsonRefused(f"the JSON is larger than {max_bytes} bytes", code="too_large")
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRefused("JSON is UTF-8 text", code="malformed_body") from None
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant,
                           object_pairs_hook=_object)
    except RecursionError:
        raise JsonRefused(f"JSON may nest at most {max_depth} levels", code="json_too_deep") from None
    except JsonRefused:
        raise
    except ValueError:
        raise JsonRefused("not valid JSON", code="malformed_body") from None
    _check(value, max_depth)
    return value


def parse_object(raw: bytes | bytearray | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    value = parse(raw, max_bytes=max_bytes, max_depth=max_depth)
    if not isinstance(value, dict):
        raise JsonRefused("a JSON object is expected", code="malformed_body")
    return value
