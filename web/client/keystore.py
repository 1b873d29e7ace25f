"""The client's key file: one device per user in the client's data folder, readable by its owner only.

The private keys are made here, on the client, and never sent anywhere."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from crypto.encoding import b64u, unb64u
from crypto.keys import DeviceKeys
from crypto.transcript import Memory


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
        # What this device remembers of each case's transcript, to notice messages that disappear later.
        self.transcripts = self.folder / "transcripts.json"

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


    # -- transcript memory (docs/protocol.md §20) ----------------------------------------------------------
    def _transcripts(self) -> dict[str, dict[str, object]]:
        if not self.transcripts.exists():
            return {}
        stored: dict[str, dict[str, object]] = json.loads(self.transcripts.read_text(encoding="utf-8"))
        return stored

    def memory(self, case_id: str) -> Memory:
        kept = self._transcripts().get(case_id)
        if not kept:
            return Memory()
        last = kept.get("last_hash")
        return Memory(last_hash=unb64u(last) if isinstance(last, str) else None,
                      own_counter=int(kept.get("own_counter", 0)))  # type: ignore[call-overload]

    def remember(self, case_id: str, memory: Memory) -> None:
        kept = self._transcripts()
        kept[case_id] = {"last_hash": b64u(memory.last_hash) if memory.last_hash else None,
                         "own_counter": memory.own_counter}
        write_private_json(self.transcripts, kept)

    def remember_sent(self, case_id: str, counter: int) -> None:
        """The server acknowledged this device's message number `counter` in the case."""
        memory = self.memory(case_id)
        if counter > memory.own_counter:
            self.remember(case_id, Memory(memory.last_hash, counter))


def write_private_json(path: Path, data: dict) -> None:  # type: ignore[type-arg]
    """Write a JSON file readable by its owner only, atomically (a key file, what the client pinned)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start, so the private keys are never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
