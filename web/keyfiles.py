"""Server secrets kept as files in the data folder: made on first start, readable by the server's user
only, and backed up with the database. They key hashes and names, never anything that opens content."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def server_secret(data_dir: Path | str, name: str) -> bytes:
    """The secret in `data_dir/name`, made (64 hex digits, mode 0600) if it is not there yet."""
    path = Path(data_dir) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise SystemExit(f"{path} is damaged: it must hold a key of 64 hex digits")
    return key.encode("ascii")
