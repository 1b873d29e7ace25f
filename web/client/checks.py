"""What a client shows of a message that fails a check, and of a case's transcript (docs/protocol.md §20):
each problem has a stable code and a reason a person can read, and one bad message never hides the rest."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from crypto.errors import CryptoError
from crypto.transcript import (
    GONE,
    MISSING_BEFORE,
    NOT_SEEN,
    OUT_OF_ORDER,
    OWN_MISSING,
    REPLAYED,
    Memory,
    Problem,
    check,
    remember,
)

if TYPE_CHECKING:
    from web.client.session import ReadMessage


class MessageRefused(CryptoError):
    """A message failed a check: `code` is stable (malformed, mislabelled, unknown_device, bad_signature,
    wrong_sender, no_key, undecryptable, bad_body), `reason` says it in words."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def reason(problem: Problem) -> str:
    """The words for a transcript problem."""
    if problem.code == REPLAYED:
        return f"the same message was already shown at seq {problem.seq}: this copy is a replay"
    if problem.code == MISSING_BEFORE:
        return (f"{problem.count} earlier message(s) from the same device are not shown: withheld by the "
                "server, or shown out of order")
    if problem.code == OUT_OF_ORDER:
        return "shown out of order: it was written after a message that is shown later"
    if problem.code == NOT_SEEN:
        return "it answers a message that is not shown: the server withholds a message"
    if problem.code == GONE:
        return "a message this device showed before is no longer in the case: the server removed it"
    if problem.code == OWN_MISSING:
        return f"{problem.count} message(s) this device sent and the server stored are not shown"
    return problem.code


@dataclass(frozen=True)
class TranscriptRead:
    """A case as read: its messages (each with its own problems) and the problems of the case as a whole."""

    messages: list[ReadMessage]
    case_problems: list[tuple[str, str]]

    @property
    def clean(self) -> bool:
        return not self.case_problems and not any(m.problems for m in self.messages)


@dataclass(frozen=True)
class _Checked:
    messages: list[ReadMessage]
    case_problems: list[tuple[str, str]]
    memory: Memory


def check_transcript(messages: list[ReadMessage], memory: Memory, own_device: str) -> _Checked:
    """Add the transcript's problems to the messages that opened (those that did not are not part of it)."""
    opened = [m for m in messages if m.entry is not None]
    entries = [m.entry for m in opened if m.entry is not None]
    verdict = check(entries, memory, own_device)
    found = {id(m): problems for m, problems in zip(opened, verdict.problems)}
    out = []
    for message in messages:
        problems = found.get(id(message), [])
        if problems:
            message = replace(message, problems=message.problems + tuple((p.code, reason(p)) for p in problems))
        out.append(message)
    return _Checked(out, [(p.code, reason(p)) for p in verdict.case], remember(entries, memory, own_device))
