"""PostgreSQL's storage failures told apart from bugs, as SQLite's are (chat/storage/sqlite/failures.py): a full
disk, no memory or connections to spare, a server shutting down or restarting, a lost connection. They become
StorageUnavailable (retryable: `storage_unavailable` with `retry: true`, HTTP 503), logged once per burst;
a constraint or a bug stays what it is."""
from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from chat.errors import StorageUnavailable

# SQLSTATE classes and codes (PostgreSQL's appendix A) that say the database, not the statement, failed.
_CLASSES = {
    "08": "connection",  # connection exception
    "53": "resources",  # insufficient resources: disk full (53100), out of memory, too many connections
    "58": "io_error",  # system error: an I/O error, a file that cannot be read
}
_CODES = {
    "53100": "disk_full",
    "57P01": "shutdown",  # admin_shutdown: the server is stopping
    "57P02": "shutdown",  # crash_shutdown
    "57P03": "starting",  # cannot_connect_now: the server is starting or in recovery
    "25006": "read_only",  # read_only_sql_transaction: a standby, or default_transaction_read_only
    "40001": "serialization",  # serialization_failure
    "40P01": "deadlock",  # deadlock_detected
    "55P03": "lock_timeout",  # lock_not_available
}


def storage_failure(exc: BaseException) -> StorageUnavailable | None:
    """The retryable error for a storage failure; None for anything else (a constraint, a bug)."""
    if isinstance(exc, PoolTimeout):  # no connection could be had in time: the server is down or unreachable
        kind = "connection"
    elif isinstance(exc, psycopg.Error):
        state = exc.sqlstate or ""
        kind = _CODES.get(state) or _CLASSES.get(state[:2]) or ""
        if not kind and state == "" and isinstance(exc, psycopg.OperationalError):
            kind = "connection"  # no answer from the server at all: the connection broke
        if not kind:
            return None
    else:
        return None
    error = StorageUnavailable("the database cannot be written now; try again shortly")
    error.kind = kind  # type: ignore[attr-defined]
    return error
