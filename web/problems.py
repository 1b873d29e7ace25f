"""HTTP errors as RFC 9457 problem+json, one mapping from the domain's error classes to statuses."""
from __future__ import annotations

from starlette.responses import JSONResponse

from chat.errors import (
    BadSignature,
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    SamtalError,
    StaleEpoch,
    StorageUnavailable,
)

STATUS = {
    StorageUnavailable: 503,
    InvalidInput: 400,
    BadSignature: 400,
    StaleEpoch: 409,
    Conflict: 409,
    Forbidden: 403,
    NotFound: 404,
}
TITLES = {503: "Service unavailable", 400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found", 409: "Conflict",
          413: "Too large", 429: "Too many requests"}


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
            errors: list[FieldError] | None = None) -> JSONResponse:
    """A problem+json answer. `type` is the address of the page that explains the code (/problems/<code>, in
    Swedish and English); `errors` lists every wrong field with its place (RFC 9457 §3's extension)."""
    body: dict[str, object] = {"type": f"/problems/{code}", "title": TITLES.get(status, "Error"), "status": status,
                               "code": code, "detail": detail}
    if errors:
        body["errors"] = [error_view(e) for e in errors]
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def error_view(error: FieldError) -> dict[str, str]:
    """A body field by its JSON Pointer; a query parameter (`?name`) by its name."""
    if error.pointer.startswith("?"):
        return {"parameter": error.pointer[1:], "detail": error.detail}
    return {"pointer": error.pointer, "detail": error.detail}


# Codes with a status of their own, whatever their class.
CODE_STATUS = {"too_large": 413, "quota_exceeded": 413, "rate_limited": 429}


def status_of(error: SamtalError) -> int:
    if error.code in CODE_STATUS:
        return CODE_STATUS[error.code]
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


# A storage failure passes in seconds to minutes (space freed, a disk back); clients back off from here.
STORAGE_RETRY_AFTER = "5"


def from_error(error: SamtalError) -> JSONResponse:
    headers = {"Retry-After": STORAGE_RETRY_AFTER} if isinstance(error, StorageUnavailable) else None
    return problem(status_of(error), error.code, error.message, headers,
                   error.errors if isinstance(error, InvalidInput) else None)
