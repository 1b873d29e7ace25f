"""The data folder's lock: one server process per SQLite data folder.

A second `samtal serve` on the same folder used to start, take seq numbers from its own cache and collide
with the first (`UNIQUE constraint failed: messages.case_id, messages.seq`), and each process delivered
only to its own sockets. The lock is an OS lock (flock) on `samtal.lock`, so the kernel releases it when
the holder dies in any way, kill -9 included: there is never a stale lock to clean up by hand."""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "samtal.lock"


class FolderInUse(Exception):
    """Another process holds the data folder."""

    def __init__(self, folder: Path, holder: str) -> None:
        who = f"process {holder}" if holder else "another process"
        super().__init__(f"the data folder {folder} is in use by {who} (another samtal serve or a restore); "
                         f"stop it first, or give this server its own --data-dir")
        self.folder = folder
        self.holder = holder


class FolderLock:
    """Held from `acquire()` until `release()` or the end of the process."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._file: IO[str] | None = None

    def acquire(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        file = open(self.folder / LOCK_FILE, "a+", encoding="ascii")  # noqa: SIM115 (held open while locked)
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip()
            file.close()
            raise FolderInUse(self.folder, holder) from None
        # The holder's pid, for the message the next one gets; the lock itself is the flock, not this text.
        file.seek(0)
        file.truncate()
        file.write(str(os.getpid()))
        file.flush()
        self._file = file
        return self

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
            self._file.close()  # closing the descriptor releases the flock
            self._file = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
