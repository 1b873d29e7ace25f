"""The audit log (loggkontroll): append-only and hash-chained, so that a changed, removed or reordered row
is found by recomputing the chain.

Each row's hash is SHA-256 over the previous row's hash and the row's own canonical content. The first row
chains from GENESIS. Rows never carry message content or personal identity numbers: actors are user ids,
and `detail` holds only metadata (seq, device id, sizes, codes)."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENESIS = bytes(32)
OUTCOMES = frozenset({"allowed", "denied", "error"})


@dataclass(frozen=True, slots=True)
class AuditEvent:
    action: str  # e.g. case.read, message.send, login, device.register, unit.grant
    outcome: str  # allowed | denied | error
    actor: str | None = None  # user id
    role: str | None = None
    unit_id: str | None = None
    case_id: str | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    at: int = 0  # ms; set by the store when appended if 0


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    event: AuditEvent
    prev_hash: bytes
    hash: bytes


def canonical(row_id: int, event: AuditEvent) -> bytes:
    """The bytes a row's hash covers: every column but the hashes, as sorted, compact JSON."""
    return json.dumps({
        "id": row_id, "at": event.at, "action": event.action, "outcome": event.outcome, "actor": event.actor,
        "role": event.role, "unit_id": event.unit_id, "case_id": event.case_id, "reason": event.reason,
        "detail": event.detail}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: bytes, row_id: int, event: AuditEvent) -> bytes:
    return hashlib.sha256(prev_hash + canonical(row_id, event)).digest()


@dataclass(frozen=True, slots=True)
class Verdict:
    intact: bool
    rows: int
    first_broken_id: int | None = None
    reason: str = ""
    head_id: int = 0
    head_hash: bytes = GENESIS


def verify(rows: Iterable[AuditRow], expect_head: tuple[int, bytes] | None = None,
           anchor: tuple[int, bytes] = (0, GENESIS)) -> Verdict:
    """Walk the chain in id order. Ids must run on from the anchor without gaps (1, 2, 3 ... when nothing
    was pruned), each row's prev_hash must be the previous row's hash (the anchor's for the first), and each
    hash must match the row's content. `expect_head` (an id and hash noted elsewhere, e.g. from the log's
    checkpoints) also catches rows removed from the end."""
    head_id, head_hash, count = anchor[0], anchor[1], 0

    def broken(row_id: int, reason: str) -> Verdict:
        return Verdict(False, count, row_id, reason, head_id, head_hash)

    for row in rows:
        if row.id != head_id + 1:
            return broken(min(row.id, head_id + 1), f"row {head_id + 1} is missing or out of order")
        if row.prev_hash != head_hash:
            return broken(row.id, "its previous-hash does not match the row before it")
        if chain_hash(head_hash, row.id, row.event) != row.hash:
            return broken(row.id, "its content does not match its hash")
        head_id, head_hash, count = row.id, row.hash, count + 1
    if expect_head is not None and expect_head[0] > head_id:
        return broken(head_id + 1, f"rows after {head_id} are missing (expected up to {expect_head[0]})")
    return Verdict(True, count, head_id=head_id, head_hash=head_hash)
