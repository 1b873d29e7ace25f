"""Errors of the domain, as a hierarchy a caller can reason about.

    SamtalError                  (code, a stable machine-readable string)
    ├── InvalidInput             malformed_envelope, invalid_field, too_large
    ├── NotFound                 unknown_case, unknown_device, unknown_user
    │   └── Hidden               unknown_case, ...: another person's, answered as if it did not exist
    ├── Forbidden                forbidden, device_not_owned, device_revoked
    ├── BadSignature             bad_signature
    ├── StaleEpoch               stale_epoch
    ├── Conflict                 msg_id_conflict, epoch_exists
    └── StorageUnavailable       storage_unavailable: the database cannot be written now (a full disk); retry
The web layer maps each class to one HTTP status and one WebSocket error frame.
"""
from __future__ import annotations

from typing import NamedTuple


class SamtalError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class FieldError(NamedTuple):
    """One wrong field of an input: where (a JSON Pointer into the body, RFC 6901, or `?name` for a query
    parameter) and what is wrong with it."""

    pointer: str
    detail: str


class InvalidInput(SamtalError):
    """Input refused; `errors` names each wrong field (all of them when the input's shape is declared)."""

    code = "invalid_input"

    def __init__(self, message: str, *, code: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(message, code=code)
        self.errors = errors or []


class NotFound(SamtalError):
    code = "not_found"


class Hidden(NotFound):
    """Refused as unknown (`unknown_<kind>`), whether it does not exist or is another person's: ids cannot be
    counted. `why` ("unknown" or "forbidden") is the truth, for the audit log and the security events only."""

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(f"no such {kind}", code=f"unknown_{kind}")
        self.why = why

    @property
    def audit_reason(self) -> str:
        return "forbidden" if self.why == "forbidden" else self.code


class Forbidden(SamtalError):
    code = "forbidden"


class BadSignature(SamtalError):
    code = "bad_signature"


class StaleEpoch(SamtalError):
    code = "stale_epoch"


class Conflict(SamtalError):
    code = "conflict"


class StorageUnavailable(SamtalError):
    """Storage failed (a full or failing disk, a lock held too long), not the request: nothing was stored,
    and the same request may succeed later. HTTP 503; WebSocket error frames carry `retry: true`."""

    code = "storage_unavailable"
    retry = True
