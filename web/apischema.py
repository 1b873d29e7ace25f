"""The shapes of the HTTP API's bodies and answers, as JSON Schema (2020-12, the dialect of OpenAPI 3.1): a few
builders the route registry uses (`@api(..., body=obj(...), response=obj(...))`), and the one validator that
checks a request body against its route's schema and reports every field that is wrong at once, each with its
JSON Pointer (RFC 6901), for the problem+json `errors` list (docs/protocol.md §14.1, Errors)."""
from __future__ import annotations

import re
from typing import Any

from chat.errors import FieldError
from chat.json_input import SAFE_INT

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
BOOL: Schema = {"type": "boolean"}
INT: Schema = {"type": "integer", "minimum": 0, "maximum": SAFE_INT}
MS: Schema = {**INT, "description": "milliseconds since the epoch"}
ANY_OBJECT: Schema = {"type": "object"}
ID: Schema = {"type": "string", "maxLength": 64}
# 16 random bytes in canonical base64url: message, device, record and blob ids (docs/protocol.md §1).
ID16: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{21}[AQgw]$"}


EPOCH: Schema = {"type": "integer", "minimum": 1, "maximum": 2**32 - 1, "description": "a key epoch"}


def string(max_len: int = 256, min_len: int = 0, pattern: str | None = None, **more: Any) -> Schema:
    out: Schema = {"type": "string", "maxLength": max_len, **more}
    if min_len:
        out["minLength"] = min_len
    if pattern:
        out["pattern"] = pattern
    return out


def integer(low: int = 0, high: int = SAFE_INT, **more: Any) -> Schema:
    return {"type": "integer", "minimum": low, "maximum": high, **more}


def base64url(length: int | None = None, max_bytes: int = 4096) -> Schema:
    """Bytes as base64url without padding: exactly `length` bytes, or at most `max_bytes`."""
    chars = (length * 4 + 2) // 3 if length is not None else (max_bytes * 4 + 2) // 3
    return {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": chars,
            **({"minLength": chars} if length is not None else {}),
            "description": f"base64url without padding, {length} bytes" if length is not None
            else "base64url without padding"}


def nullable(schema: Schema) -> Schema:
    kind = schema.get("type")
    return {**schema, "type": [kind, "null"]} if isinstance(kind, str) else {"anyOf": [schema, {"type": "null"}]}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def array(items: Schema, max_items: int = 1000, **more: Any) -> Schema:
    return {"type": "array", "items": items, "maxItems": max_items, **more}


def obj(required: dict[str, Schema] | None = None, optional: dict[str, Schema] | None = None,
        **more: Any) -> Schema:
    """An object with these fields; other fields are allowed (and ignored), so that clients may be newer."""
    required, optional = required or {}, optional or {}
    out: Schema = {"type": "object", "properties": {**required, **optional}, **more}
    if required:
        out["required"] = list(required)
    return out


def wrap(recipient_field: str) -> Schema:
    """A key wrapped to one recipient and signed (docs/protocol.md §8)."""
    return obj({recipient_field: string(80), "enc": base64url(32), "ct": base64url(max_bytes=128), "signature": base64url(64)})


def map_of(values: Schema) -> Schema:
    return {"type": "object", "additionalProperties": values}


# -- shapes of answers that several features share -----------------------------------------------------------
USER_VIEW = obj({"id": ID, "username": STR, "display_name": STR, "role": STR, "unit_id": nullable(ID)})
DEVICE_VIEW = obj({"id": ID, "user_id": ID, "label": STR, "sign_pub": STR, "kem_pub": STR,
                   "fingerprint": string(40), "created_at": MS, "revoked_at": nullable(MS), "proof": nullable(STR)})
# A sealed record's reader (docs/protocol.md §15): the record key wrapped to a unit or case key epoch or a device.
RECORD_GRANT_VIEW = obj({"record_id": ID, "recipient": string(80), "grant": STR, "signature": base64url(64),
                         "granted_by_device": ID, "created_at": MS})
SEALED = base64url(max_bytes=10**7)  # a sealed record, as stored
UPLOADED = obj({"blob_id": ID, "size": INT})
EPOCH_VIEW = obj({"epoch": EPOCH, "public_key": STR, "created_by_device": ID, "signature": STR, "created_at": MS})


# -- the validator -----------------------------------------------------------------------------------------
_TYPES: dict[str, Any] = {"string": str, "boolean": bool, "object": dict, "array": list, "null": type(None)}
MAX_ERRORS = 20  # a body wrong everywhere is answered with the first twenty, not a list as long as the body


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return type(value) is int
    if kind == "number":
        return type(value) in (int, float)
    return type(value) is _TYPES[kind]


def _pointer(path: str, key: str | int) -> str:
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def validate(schema: Schema, value: Any, path: str = "") -> list[FieldError]:
    """Every way `value` breaks `schema` (the subset of JSON Schema the builders above make), as field errors
    with JSON Pointers; [] when it fits."""
    errors: list[FieldError] = []
    _check(schema, value, path, errors)
    return errors[:MAX_ERRORS]


def _check(schema: Schema, value: Any, path: str, errors: list[FieldError]) -> None:
    if "anyOf" in schema:
        if all(validate(option, value, path) for option in schema["anyOf"]):
            errors.append(FieldError(path, "does not have any of the allowed shapes"))
        return
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, kind) for kind in kinds):
            errors.append(FieldError(path, f"must be {' or '.join(kinds)}"))
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(FieldError(path, f"must be one of {', '.join(map(str, schema['enum']))}"))
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(FieldError(path, f"must be at most {schema['maxLength']} characters"))
        if len(value) < schema.get("minLength", 0):
            errors.append(FieldError(path, f"must be at least {schema['minLength']} characters"))
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(FieldError(path, f"must match {schema['pattern']}"))
    elif type(value) is int:
        if not schema.get("minimum", value) <= value <= schema.get("maximum", value):
            errors.append(FieldError(path, f"must be from {schema.get('minimum')} to {schema.get('maximum')}"))
    elif isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(FieldError(path, f"must have at most {schema['maxItems']} items"))
        elif "items" in schema:
            for index, item in enumerate(value):
                _check(schema["items"], item, _pointer(path, index), errors)
    elif isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(FieldError(_pointer(path, name), "is required"))
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                _check(properties[name], item, _pointer(path, name), errors)
            elif extra is False:
                errors.append(FieldError(_pointer(path, name), "is not a field of this object"))
            elif isinstance(extra, dict):
                _check(extra, item, _pointer(path, name), errors)
