"""Drafts shared live (Dela utkast live): which connection shares which journal draft, and the last snapshot
of each, in memory only. A snapshot is an envelope under the case key that the server relays and cannot
read; keeping the last one lets a citizen who opens the page late see the draft as it is now. Nothing here
is stored: a restart ends every share, and the writer's page shares again on the next keystroke.

With several nodes each node also mirrors the shares of the others (`Shared`, from their notices on the bus,
web/journal.py), so that a citizen whose page is served by another node than the writer's sees the draft as it
is now when she opens it, and may comment on it."""
from __future__ import annotations

from collections.abc import Callable
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

    @property
    def by_device(self) -> str:
        return self.sub.device_id

    @property
    def case_id(self) -> str:
        return self.case.id


@dataclass(eq=False)
class Shared:
    """A draft shared on another node, as its notices told: enough to show it and to let its citizen comment."""
    case_id: str
    entry_id: str
    by: str
    by_device: str
    env: str
    started_at: int
    citizen_id: str  # the case's citizen: told when the share ends with its node
    node: str


# A connection shares at most this many drafts at once: a person writes one or two at a time, and each share
# keeps a snapshot (up to 64 KiB) in memory.
MAX_PER_CONNECTION = 10


class LiveDrafts:
    def __init__(self) -> None:
        self._by_case: dict[str, dict[str, LiveDraft]] = {}  # case id -> entry id -> draft
        self._elsewhere: dict[tuple[str, str], Shared] = {}  # (case id, entry id) -> a share on another node
        # Several nodes: told of every snapshot and every end here (None: the share ended), to tell the others.
        self.told: Callable[[str, str, LiveDraft | None], None] = lambda case_id, entry_id, draft: None

    def of_case(self, case_id: str) -> list[LiveDraft | Shared]:
        here = self._by_case.get(case_id, {})
        elsewhere = [d for (case, entry), d in self._elsewhere.items() if case == case_id and entry not in here]
        return sorted([*here.values(), *elsewhere], key=lambda d: d.started_at)

    def get(self, case_id: str, entry_id: str) -> LiveDraft | None:
        return self._by_case.get(case_id, {}).get(entry_id)

    def is_shared(self, case_id: str, entry_id: str) -> bool:
        """Shared live now, on this node or another."""
        return self.get(case_id, entry_id) is not None or (case_id, entry_id) in self._elsewhere

    # -- the other nodes' shares ---------------------------------------------------------------------------
    def shared_elsewhere(self, draft: Shared) -> None:
        self._elsewhere[(draft.case_id, draft.entry_id)] = draft

    def ended_elsewhere(self, case_id: str, entry_id: str) -> Shared | None:
        return self._elsewhere.pop((case_id, entry_id), None)

    def node_shares(self, node: str, keys: set[tuple[str, str]] | None) -> list[Shared]:
        """A node's shares are now `keys` (None: the node is gone): the others it had end; those are returned."""
        gone = [d for key, d in self._elsewhere.items() if d.node == node and (keys is None or key not in keys)]
        for draft in gone:
            del self._elsewhere[(draft.case_id, draft.entry_id)]
        return gone

    def all_here(self) -> list[LiveDraft]:
        return [d for drafts in self._by_case.values() for d in drafts.values()]

    def put(self, case: Case, entry_id: str, sub: Subscriber, env: str) -> tuple[LiveDraft, LiveDraft | None]:
        """The newest snapshot. Returns (the share, the share it replaced: the same draft shared from another
        connection, e.g. a reloaded page) — a share that started now has snapshots == 1."""
        current = self._by_case.get(case.id, {}).get(entry_id)
        if current is not None and current.sub is sub:
            current.env = env
            current.snapshots += 1
            self.told(case.id, entry_id, current)
            return current, None
        if len(self.of_connection(sub)) >= MAX_PER_CONNECTION:
            raise Conflict(f"share at most {MAX_PER_CONNECTION} drafts at once", code="too_many_live_drafts")
        drafts = self._by_case.setdefault(case.id, {})
        drafts[entry_id] = LiveDraft(case, entry_id, sub, env, snapshots=1)
        self._elsewhere.pop((case.id, entry_id), None)  # the newest share is this one
        self.told(case.id, entry_id, drafts[entry_id])
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
        self.told(case_id, entry_id, None)
        return current

    def of_connection(self, sub: Subscriber) -> list[LiveDraft]:
        return [d for d in self.all_here() if d.sub is sub]
