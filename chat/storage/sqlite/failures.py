"""Storage failures told apart from bugs, and logged once per burst.

A full disk used to answer every send `internal_error` (which the browser's outbox marks failed for good)
and log a traceback per refused message, twice: 5 MB of log in 12 s, on the very disk that was full. Here
the SQLite errors that mean "the storage cannot take this now" become StorageUnavailable (retryable, HTTP
503, `storage_unavailable` frames with `retry: true`), and the log says once that storage is failing, and
once that it has recovered, with how many writes failed between."""
from __future__ import annotations

import logging
import sqlite3

from chat.errors import StorageUnavailable

log = logging.getLogger("samtal.storage")

# Primary result codes (the low byte of the extended code) that say the storage, not the statement, failed.
_TRANSIENT = {
    5: "busy",  # SQLITE_BUSY: a lock held longer than the busy timeout
    6: "locked",  # SQLITE_LOCKED
    7: "no_memory",  # SQLITE_NOMEM
    8: "read_only",  # SQLITE_READONLY: e.g. the file's permissions or a read-only mount
    10: "io_error",  # SQLITE_IOERR: a failing disk, a file size limit
    13: "disk_full",  # SQLITE_FULL
    14: "cannot_open",  # SQLITE_CANTOPEN
    15: "protocol",  # SQLITE_PROTOCOL: WAL lock contention
}


def storage_failure(exc: BaseException) -> StorageUnavailable | None:
    """The retryable error for a storage failure; None for anything else (a constraint, a bug)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    kind = _TRANSIENT.get(code & 0xFF) if isinstance(code, int) else None
    if kind is None and isinstance(exc, sqlite3.OperationalError) and "disk" in str(exc):
        kind = "disk"  # older Pythons carry no error code
    if kind is None:
        return None
    error = StorageUnavailable("the database cannot be written now; try again shortly")
    error.kind = kind  # type: ignore[attr-defined]
    return error


class FailureBurst:
    """Logs the first failure of a burst and the recovery after it, never each failure."""

    def __init__(self) -> None:
        self.failed = 0

    def failure(self, error: StorageUnavailable) -> None:
        if self.failed == 0:
            log.error("storage failing: writes are refused as storage_unavailable until it recovers",
                      extra={"kind": getattr(error, "kind", "unknown")})
        self.failed += 1

    def success(self) -> None:
        if self.failed:
            log.warning("storage recovered", extra={"failed_writes": self.failed})
            self.failed = 0
