"""Audit heads published outside the database (#19 item 5): signed chain heads written at intervals to a
witness folder the operator keeps elsewhere, so that rewriting or cutting the audit log is caught.

A hash chain alone proves only that the rows agree with each other: whoever can write the database can edit a
row and recompute every later hash, or cut rows from the end. Every SAMTAL_AUDIT_WITNESS_SECONDS the server
appends the newest head (row id and hash), signed with its witness key, as one line of `audit-heads.jsonl` in
SAMTAL_AUDIT_WITNESS_DIR (a mount of another machine, an append-only bucket, a folder a backup job copies
off the host). `samtal audit verify` then checks the database against every head published: docs/operations.md.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crypto.encoding import b64u, u64, unb64u
from crypto.errors import MalformedError
from crypto.sign import ed25519_public, sign, verify_strict

HEADS_FILE = "audit-heads.jsonl"
_LABEL = b"samtal/audit-head/v1"


def head_signing_bytes(head_id: int, head_hash: bytes, at: int) -> bytes:
    if len(head_hash) != 32:
        raise MalformedError("an audit head's hash is 32 bytes")
    return _LABEL + u64(head_id) + head_hash + u64(at)


@dataclass(frozen=True)
class PublishedHead:
    id: int
    hash: bytes
    at: int  # ms, when it was published
    key: bytes  # the witness key's public half


class WitnessError(Exception):
    """The witness folder cannot be trusted as it is: a line that does not verify, or another key."""


class Witness:
    """The witness folder: append signed heads, read them back verified."""

    def __init__(self, folder: Path, seed: bytes | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / HEADS_FILE
        self.seed = seed

    def publish(self, head_id: int, head_hash: bytes, at: int) -> PublishedHead:
        """Append one signed head and flush it to the disk before returning."""
        assert self.seed is not None, "only the server, which holds the witness key, publishes"
        signature = sign(self.seed, head_signing_bytes(head_id, head_hash, at))
        key = ed25519_public(self.seed)
        line = json.dumps({"v": 1, "id": head_id, "hash": head_hash.hex(), "at": at, "key": b64u(key),
                           "sig": b64u(signature)}, separators=(",", ":"))
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (line + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return PublishedHead(head_id, head_hash, at, key)

    def heads(self) -> list[PublishedHead]:
        """Every head published, each signature checked, all by the key of the first (the witness key is
        pinned by its first use); raises WitnessError on a line that is not a valid head."""
        if not self.path.exists():
            return []
        out: list[PublishedHead] = []
        for number, line in enumerate(self.path.read_text(encoding="ascii", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            head = _parse(line, number)
            if out and head.key != out[0].key:
                raise WitnessError(f"line {number} is signed by another key than the first head")
            out.append(head)
        return out

    def newest(self) -> PublishedHead | None:
        heads = self.heads()
        return max(heads, key=lambda h: h.id) if heads else None


def _parse(line: str, number: int) -> PublishedHead:
    try:
        doc = json.loads(line)
        head = PublishedHead(int(doc["id"]), bytes.fromhex(doc["hash"]), int(doc["at"]), unb64u(doc["key"]))
        signature = unb64u(doc["sig"])
        valid = doc.get("v") == 1 and verify_strict(head.key, head_signing_bytes(head.id, head.hash, head.at),
                                                    signature)
    except (ValueError, KeyError, TypeError, MalformedError):
        raise WitnessError(f"line {number} is not an audit head") from None
    if not valid:
        raise WitnessError(f"line {number}'s signature does not verify")
    return head


def check_against(heads: Iterable[PublishedHead], hashes: dict[int, bytes], db_head_id: int,
                  pruned_up_to: int = 0) -> tuple[int, str] | None:
    """The first published head the database contradicts, as (row id, reason), or None. `hashes` maps the
    database's row ids to their hashes (rows pruned up to `pruned_up_to` are no longer there to compare)."""
    for head in sorted(heads, key=lambda h: h.id):
        if head.id <= pruned_up_to:
            continue
        if head.id > db_head_id:
            return db_head_id + 1, f"rows after {db_head_id} are missing: a head up to {head.id} was published"
        if hashes.get(head.id) != head.hash:
            return head.id, f"row {head.id} differs from the head published for it: the log was rewritten"
    return None
