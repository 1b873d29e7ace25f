"""What `samtal serve` checks before it listens: the data folder is its own (an OS lock, held until the
process ends) and the database is not from a newer Samtal. Each refusal has its own exit code, so that a
service manager or script can tell them apart (docs/operations.md, Exit codes of samtal serve)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from chat.storage.engines import (
    FolderInUse,
    FolderLock,
    SchemaTooNew,
    lock_data_folder,
    refuse_newer_database,
)

EXIT_FOLDER_IN_USE = 4
EXIT_DATABASE_TOO_NEW = 5


class Refused(Exception):
    def __init__(self, exit_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.code = code
        self.message = message

    def report(self) -> int:
        """Print the refusal as the CLI's JSON error on stderr; the exit code to return."""
        print(json.dumps({"error": self.code, "message": self.message}), file=sys.stderr, flush=True)
        return self.exit_code


def claim_data_folder(data_dir: Path, database: Path | str) -> FolderLock:
    """Lock the folder, then check the database; the lock is released again if the check refuses."""
    try:
        lock = lock_data_folder(data_dir)
    except FolderInUse as error:
        raise Refused(EXIT_FOLDER_IN_USE, "data_folder_in_use", str(error)) from None
    try:
        refuse_newer_database(database)
    except SchemaTooNew as error:
        lock.release()
        raise Refused(EXIT_DATABASE_TOO_NEW, "database_too_new", str(error)) from None
    return lock
