"""Each case's messages handed to this node's connections once each and in seq order, wherever they were stored.

A message committed here is handed over at once when it is the next of its case (the common case, and the only
one of a single node). A wake-up from another node (chat/messaging/cluster.py) names only the case and the seq;
the messages themselves are read from the database after the last seq this node handed over, so a wake-up that
comes late, twice, or after a later one changes nothing, and one read covers every wake-up that came meanwhile.
A catch-up (wake-ups lost on the bus) goes the same way, from the seqs the database says were stored."""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from chat.errors import StorageUnavailable
from chat.messaging.hub import Hub
from chat.model import StoredMessage
from chat.storage import Storage

log = logging.getLogger("samtal.feeds")

# Cases whose last handed-over seq is remembered; the oldest are forgotten beyond this (a forgotten case starts
# again from the next wake-up, and connections that resumed it drop what they already have: hub.Outbox).
KNOWN_CASES = 200_000
READ_PAGE = 500
RETRY_SECONDS = 1.0

FrameOf = Callable[[StoredMessage], str]
TargetsOf = Callable[[str], Awaitable[Iterable[str]]]  # case id -> the users a message of it goes to
Delivered = Callable[[StoredMessage, int], None]  # a message, and how many connections it was handed to


class _Pump:
    __slots__ = ("target", "users", "resolve", "origins")

    def __init__(self) -> None:
        self.target = 0
        self.users: set[str] = set()
        self.resolve = False  # the users are not known (a catch-up): read them from the case
        self.origins: dict[int, object] = {}  # seq -> the local connection it came from (not echoed back)


class Feeds:
    def __init__(self, hub: Hub, store: Storage, frame_of: FrameOf, targets_of: TargetsOf,
                 delivered: Delivered) -> None:
        self.hub, self.store = hub, store
        self._frame_of, self._targets_of, self._delivered = frame_of, targets_of, delivered
        self._known: OrderedDict[str, int] = OrderedDict()
        self._pumps: dict[str, _Pump] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # The local connection a message in the middle of being stored came from (MessageService.sending).
        self.origin_of: Callable[[str, str], object | None] = lambda case_id, msg_id: None

    def known(self, case_id: str) -> int | None:
        return self._known.get(case_id)

    def _remember(self, case_id: str, seq: int) -> None:
        self._known[case_id] = seq
        self._known.move_to_end(case_id)
        if len(self._known) > KNOWN_CASES:
            self._known.popitem(last=False)

    def stored_here(self, message: StoredMessage, users: Iterable[str], origin: object) -> None:
        """A message this node committed."""
        case_id, seq = message.case_id, message.seq
        known = self._known.get(case_id)
        if case_id not in self._pumps and (known is None or known == seq - 1):
            self._remember(case_id, seq)
            handed = self.hub.publish_to(case_id, users, self._frame_of(message), (case_id, seq), exclude=origin)
            self._delivered(message, handed)
            return
        if known is not None and seq <= known:
            return
        pump = self._pump(case_id, seq, users)
        pump.origins[seq] = origin

    def woken(self, case_id: str, seq: int, users: Iterable[str]) -> None:
        """Another node committed message `seq` of the case, for `users` (and whoever watches the case)."""
        known = self._known.get(case_id)
        if known is not None and seq <= known:
            return
        users = list(users)
        if case_id not in self._pumps and not self.hub.interested(case_id, users):
            if known is not None:
                self._remember(case_id, seq)  # nobody here to tell; later ones follow on from this seq
            return
        if known is None and case_id not in self._pumps:
            self._remember(case_id, seq - 1)
        self._pump(case_id, seq, users)

    def missed(self, case_id: str, first_seq: int, last_seq: int) -> bool:
        """The database has messages first_seq..last_seq of the case that wake-ups may not have announced.
        True when some of them were not handed over yet."""
        known = self._known.get(case_id)
        if known is not None and last_seq <= known:
            return False
        if known is None and case_id not in self._pumps:
            self._remember(case_id, first_seq - 1)
        self._pump(case_id, last_seq, ()).resolve = True
        return True

    def _pump(self, case_id: str, seq: int, users: Iterable[str]) -> _Pump:
        pump = self._pumps.get(case_id)
        if pump is None:
            pump = self._pumps[case_id] = _Pump()
            task = asyncio.create_task(self._run(case_id, pump))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        pump.target = max(pump.target, seq)
        pump.users.update(users)
        return pump

    async def _run(self, case_id: str, pump: _Pump) -> None:
        """Read and hand over the case's messages after the last one handed over, up to the pump's target."""
        try:
            while self._known.get(case_id, 0) < pump.target:
                try:
                    if pump.resolve:
                        pump.users.update(await self._targets_of(case_id))
                        pump.resolve = False
                    batch = await self.store.messages_after(case_id, self._known.get(case_id, 0), READ_PAGE)
                except StorageUnavailable:
                    await asyncio.sleep(RETRY_SECONDS)  # the database is away: its messages wait there
                    continue
                if not batch:
                    break
                for message in batch:
                    origin = pump.origins.pop(message.seq, None) or self.origin_of(case_id, message.msg_id)
                    handed = self.hub.publish_to(case_id, pump.users, self._frame_of(message),
                                                 (case_id, message.seq), exclude=origin)
                    self._delivered(message, handed)
                    self._remember(case_id, message.seq)
        except Exception:
            log.exception("handing over a case's messages failed")
        finally:
            del self._pumps[case_id]

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
