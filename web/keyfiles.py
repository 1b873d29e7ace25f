"""Server secrets kept as files in the data folder: made on first start, readable by the server's user
only, and backed up with the database. They key hashes and names, never anything that opens content."""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def private_file(path: Path, content: Callable[[], str]) -> str:
    """The text of `path`, first written with `content()` (mode 0600, readable by this user only) if it is
    not there yet; two processes starting at once agree on one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as out:
                out.write(content())
    return path.read_text(encoding="utf-8")


def server_secret(data_dir: Path | str, name: str) -> bytes:
    """The secret in `data_dir/name`, made (64 hex digits, mode 0600) if it is not there yet."""
    path = Path(data_dir) / name
    key = private_file(path, lambda: secrets.token_hex(32)).strip()
    if len(key) < 32:
        raise SystemExit(f"{path} is damaged: it must hold a key of 64 hex digits")
    return key.encode("ascii")


# Every file of the data folder besides the database that a restore needs: without them sign-ins no longer
# find their accounts (the identity key hashes personal identity numbers), agencies' directory and receipts
# no longer verify (the exchange endpoint key), and booked video rooms change their names. Each is made on
# first start and never changes, so a copy taken once is enough (docs/operations.md, Backup and restore).
# tests/test_backup.py checks that every key file the server makes is named here.
KEEP_BESIDE_DATABASE = {
    "identity-hmac.key": "the keyed hash of personal identity numbers (unless SAMTAL_PNR_HMAC_KEY is set)",
    "exchange-endpoint-key.json": "the exchange endpoint's signing key (directory and receipts, docs/exchange.md)",
    "video-room.key": "names the video calls' rooms",
    "release-key.json": "the key that signs the browser code's release manifest when SAMTAL_RELEASE_MANIFEST is unset",
    "key-log-signing.key": "the key transparency log's signing key, which clients pin",
    "audit-witness.key": "signs the audit log heads published to SAMTAL_AUDIT_WITNESS_DIR",
    "sdk-party.key": "derives the exchange keys of the SDK organisations' addresses (docs/sdk.md)",
    "demo-eid.key": "demo mode only: the demo e-identification's signing key (docs/protocol.md §21)",
    "demo-steward": "demo mode only: the demo key steward's device keys",
    "demo-exchange": "demo mode only: the demo agencies' and unit addresses' exchange keys",
}


def secure_data_dir(data_dir: Path | str) -> None:
    """The data folder holds the database (ciphertext and metadata), the audit log and the server's secrets:
    readable by the server's user only (folders 0700, files 0600), whatever the umask, and also for a folder
    made by an older version. Files the server makes later are private through its umask (web/cli/main.py)."""
    root = Path(data_dir)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
