"""The client's key file: one device per user in the client's data folder, readable by its owner only.

The private keys are made here, on the client, and never sent anywhere."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from crypto.keys import DeviceKeys


@dataclass
class StoredDevice:
    user_id: str
    keys: DeviceKeys
    registered: bool

    @property
    def device_id(self) -> str:
        return self.keys.public.device_id


class KeyStore:
    def __init__(self, data_dir: Path, username: str) -> None:
        if not username or "/" in username or username.startswith("."):
            raise ValueError("a username names a folder in the data folder; it cannot contain '/'")
        self.folder = Path(data_dir) / username
        self.path = self.folder / "device.json"

    def load(self) -> StoredDevice | None:
        if not self.path.exists():
            return None
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return StoredDevice(data["user_id"], DeviceKeys.from_private_json(data["keys"]), data.get("registered", False))

    def create(self, user_id: str) -> StoredDevice:
        stored = StoredDevice(user_id, DeviceKeys.generate(), False)
        self.save(stored)
        return stored

    def save(self, stored: StoredDevice) -> None:
        write_private_json(self.path, {"user_id": stored.user_id, "registered": stored.registered,
                                       "keys": stored.keys.to_private_json()})


def write_private_json(path: Path, data: dict) -> None:  # type: ignore[type-arg]
    """Write a JSON file readable by its owner only, atomically (a key file, what the client pinned)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start, so the private keys are never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
