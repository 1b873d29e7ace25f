"""A case's transcript, checked by each reader: the order, completeness and uniqueness of its messages.

Every version 2 envelope (crypto/envelope.py) carries the sending device's counter in the case and the hash
of the newest message of the case that device had seen. A reader who lists the case's messages in the
server's order checks them here, and so notices what the server cannot hide: a message shown twice (a
replay under a new seq), a message shown before one it answers (reordering), a message that its sender or a
later sender had seen but that is not shown (withheld in the middle), and, with what the reading device
remembers from before, messages that it showed or sent earlier and that are gone (withheld at the end).
docs/protocol.md §20 specifies it; web/static/js/crypto/transcript.js is the browser's copy.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .envelope import NO_PREV

_HASH_LABEL = b"samtal/msg-hash/v2"

# Problem codes, in the order they are reported for one message (the vectors depend on this order).
REPLAYED = "replayed"  # the same msg_id was shown before: only the first is the message
MISSING_BEFORE = "missing_before"  # the sender's counter skips: its earlier messages are not shown
OUT_OF_ORDER = "out_of_order"  # shown before a message it answers, or after a later one of its sender
NOT_SEEN = "not_seen"  # it answers a message that is not in the case at all
# Problems of the case as a whole, found with the reading device's memory.
GONE = "gone"  # the newest message this device showed before is no longer in the case
OWN_MISSING = "own_missing"  # messages this device sent (and the server acknowledged) are not shown


def message_hash(raw: bytes) -> bytes:
    """The hash a later message uses to name this one: SHA-256 over the label and the whole envelope."""
    return hashlib.sha256(_HASH_LABEL + bytes(raw)).digest()


@dataclass(frozen=True)
class Entry:
    """One message whose signature verified, as the server ordered it. counter 0: a version 1 envelope."""

    seq: int
    msg_id: str
    device: str
    counter: int
    prev: bytes
    hash: bytes


@dataclass
class Memory:
    """What the reading device remembers of the case from before (kept on the device, never on the server)."""

    last_hash: bytes | None = None  # the newest message it showed or answered
    own_counter: int = 0  # the highest counter of its own messages the server acknowledged


@dataclass(frozen=True)
class Problem:
    code: str
    count: int = 0  # MISSING_BEFORE, OWN_MISSING: how many messages
    seq: int = 0  # REPLAYED: the seq shown first

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code}
        if self.count:
            out["count"] = self.count
        if self.seq:
            out["seq"] = self.seq
        return out


@dataclass
class Verdict:
    """problems[i] for entries[i]; `unchecked[i]` for a version 1 message (nothing to check it by)."""

    problems: list[list[Problem]] = field(default_factory=list)
    unchecked: list[bool] = field(default_factory=list)
    case: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.case and not any(self.problems)


class Walk:
    """The rules of §20 applied one message at a time, in the server's order. `check` runs it over a whole
    list; a live reader (web/client/follow.py) feeds it each pushed message as it comes, where nothing is
    known yet of what comes later (so a message that answers one not shown yet is `not_seen` at that moment)."""

    def __init__(self) -> None:
        self.first_seq: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.shown: set[bytes] = set()

    def step(self, entry: Entry, later: set[bytes] | frozenset[bytes] = frozenset()) -> list[Problem]:
        """The problems of `entry`, shown after those stepped before; `later`: hashes of messages shown after it."""
        found: list[Problem] = []
        if entry.msg_id in self.first_seq:
            found.append(Problem(REPLAYED, seq=self.first_seq[entry.msg_id]))
            return found  # a copy adds nothing: it is neither checked further nor counted
        self.first_seq[entry.msg_id] = entry.seq
        self.shown.add(entry.hash)
        if entry.counter == 0:
            return found
        last = self.counters.get(entry.device, 0)
        if entry.counter > last + 1:
            found.append(Problem(MISSING_BEFORE, count=entry.counter - last - 1))
        if entry.counter <= last:
            found.append(Problem(OUT_OF_ORDER))
        self.counters[entry.device] = max(last, entry.counter)
        if entry.prev != NO_PREV and entry.prev not in self.shown:
            if entry.prev in later:
                if not any(p.code == OUT_OF_ORDER for p in found):
                    found.append(Problem(OUT_OF_ORDER))
            else:
                found.append(Problem(NOT_SEEN))
        return found

    def case_problems(self, memory: Memory, own_device: str | None) -> list[Problem]:
        """With what the reading device remembers from before: its newest message gone, its own missing."""
        out: list[Problem] = []
        if memory.last_hash is not None and memory.last_hash not in self.shown:
            out.append(Problem(GONE))
        mine = self.counters.get(own_device, 0) if own_device else 0
        if memory.own_counter > mine:
            out.append(Problem(OWN_MISSING, count=memory.own_counter - mine))
        return out


def check(entries: list[Entry], memory: Memory | None = None, own_device: str | None = None) -> Verdict:
    """Check the verified messages of one case, all of them, in the server's order (seq ascending)."""
    verdict = Verdict()
    walk = Walk()
    later = {e.hash for e in entries}
    for entry in entries:
        verdict.problems.append(walk.step(entry, later))
        verdict.unchecked.append(entry.counter == 0)
    if memory is not None:
        verdict.case.extend(walk.case_problems(memory, own_device))
    return verdict


def remember(entries: list[Entry], memory: Memory, own_device: str | None) -> Memory:
    """The memory to keep after showing `entries`: the newest message shown, and its own highest counter."""
    newest = entries[-1].hash if entries else memory.last_hash
    own = max([memory.own_counter] + [e.counter for e in entries if e.device == own_device])
    return Memory(last_hash=newest, own_counter=own)
