"""Drafts shared live (Dela utkast live): which connection shares which journal draft, and the last snapshot
of each, in memory only. A snapshot is an envelope under the case key that the server relays and cannot
read; keeping the last one lets a citizen who opens the page late see the draft as it is now. Nothing here
is stored: a restart ends every share, and the writer's page shares again on the next keystroke."""
from __future__ import annotations

from dataclasses import dataclass, field

from chat.errors import Conflict
from chat.messaging.hub import Subscriber
from chat.model import Case, now_ms


@dataclass(eq=False)
class LiveDraft:
    case: Case
    entry_id: str
    sub: Subscriber  # the sharing connection
    env: str  # base64url of the last snapshot's envelope
    started_at: int = field(default_factory=now_ms)
    snapshots: int = 0  # relayed since the share started, for the audit row when it ends

    @property
    def by(self) -> str:
        return self.sub.user.id


# A connection shares at most this many drafts at once: a person writes one or two at a time, and each share
# keeps a snapshot (up to 64 KiB) in memory.
MAX_PER_CONNECTION = 10


class LiveDrafts:
    def __init__(self) -> None:
        self._by_case: dict[str, dict[str, LiveDraft]] = {}  # case id -> entry id -> draft

    def of_case(self, case_id: str) -> list[LiveDraft]:
        return sorted(self._by_case.get(case_id, {}).values(), key=lambda d: d.started_at)

    def get(self, case_id: str, entry_id: str) -> LiveDraft | None:
        return self._by_case.get(case_id, {}).get(entry_id)

    def put(self, case: Case, entry_id: str, sub: Subscriber, env: str) -> tuple[LiveDraft, LiveDraft | None]:
        """The newest snapshot. Returns (the share, the share it replaced: the same draft shared from another
        connection, e.g. a reloaded page) — a share that started now has snapshots == 1."""
        current = self._by_case.get(case.id, {}).get(entry_id)
        if current is not None and current.sub is sub:
            current.env = env
            current.snapshots += 1
            return current, None
        if len(self.of_connection(sub)) >= MAX_PER_CONNECTION:
            raise Conflict(f"share at most {MAX_PER_CONNECTION} drafts at once", code="too_many_live_drafts")
        drafts = self._by_case.setdefault(case.id, {})
        drafts[entry_id] = LiveDraft(case, entry_id, sub, env, snapshots=1)
        return drafts[entry_id], current

    def end(self, case_id: str, entry_id: str, sub: Subscriber | None = None) -> LiveDraft | None:
        """Stop a share (only `sub`'s, when given); the share that ended, or None."""
        drafts = self._by_case.get(case_id, {})
        current = drafts.get(entry_id)
        if current is None or (sub is not None and current.sub is not sub):
            return None
        del drafts[entry_id]
        if not drafts:
            del self._by_case[case_id]
        return current

    def of_connection(self, sub: Subscriber) -> list[LiveDraft]:
        return [d for drafts in self._by_case.values() for d in drafts.values() if d.sub is sub]
