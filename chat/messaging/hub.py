"""The delivery hub: who is online, and fan-out of already-serialised frames to their connections.

Each connection has a bounded Outbox. A client that falls OUTBOX_LIMIT frames behind is cut off rather
than allowed to grow the server's memory; it resumes from its last seq when it reconnects, so nothing
acknowledged is lost by cutting it off. One process holds the connections; the database stays the
source of truth, so a cross-process bus only has to wake other nodes up."""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

from chat.model import Case, User

# A frame is ~0.3-1 KB, so 1,000 frames bound one slow connection to about a megabyte while leaving room
# for a reconnecting client's burst of missed messages being replayed at the same time as live traffic.
OUTBOX_LIMIT = 1000


FrameKey = tuple[str, int] | None  # (case id, seq) for message frames, None for everything else


class Outbox:
    """A bounded queue of frames for one connection; the connection's writer drains it.

    While a reconnecting client is being resumed, the outbox is held: live frames queue behind it, and
    `release` puts the replayed frames first and drops live frames the replay already covered, so the
    client sees each case's messages once and in seq order."""

    __slots__ = ("_frames", "_limit", "_ready", "_drained", "_held", "_lagging", "_covered", "overflowed",
                 "closed", "on_overflow")

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        self._frames: deque[tuple[FrameKey, str]] = deque()
        self._limit = limit
        self._ready = asyncio.Event()
        self._drained: asyncio.Event | None = None  # made only when a reader waits for room
        self._held = False
        # Cases whose replay was cut short: their live frames are dropped until the client asks again,
        # since delivering them now would skip the messages still to be replayed.
        self._lagging: set[str] = set()
        # The highest seq per case a replay has delivered: a live frame published after the replay read
        # the database may carry a seq the replay already had, and must not be delivered twice.
        self._covered: dict[str, int] = {}
        self.overflowed = False
        self.closed = False
        # Called once on overflow: the connection's writer may be blocked on a full socket, so waiting for
        # it to notice would keep the stalled connection (and its memory) forever.
        self.on_overflow: Callable[[], None] | None = None

    def offer(self, frame: str, key: FrameKey = None) -> bool:
        if self.closed:
            return False
        if key is not None and (key[0] in self._lagging or key[1] <= self._covered.get(key[0], 0)):
            return True
        if len(self._frames) >= self._limit:
            self.overflowed = self.closed = True
            self._frames.clear()
            self._ready.set()
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        self._frames.append((key, frame))
        if not self._held:
            self._ready.set()
        return True

    def hold(self) -> None:
        self._held = True

    def release(self, replay: list[tuple[FrameKey, str]], lagging: set[str], resumed: Iterable[str] = ()) -> None:
        """Queue `replay` ahead of the held live frames, minus the live frames the replay covers.

        `resumed` names every case the client asked about: those are no longer lagging unless listed in
        `lagging` again, even when there was nothing left to replay."""
        covered = dict(self._covered)
        for key, _ in replay:
            if key is not None:
                covered[key[0]] = max(covered.get(key[0], 0), key[1])
        self._covered = covered
        self._lagging = (self._lagging - covered.keys() - set(resumed)) | lagging
        live = [(key, frame) for key, frame in self._frames
                if key is None or (key[0] not in self._lagging and key[1] > covered.get(key[0], 0))]
        self._frames = deque(replay + live)
        self._held = False
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
        if self._drained is not None:
            self._drained.set()

    def cut(self) -> None:
        """End the connection now, as an overflow does (the connection closes itself)."""
        self.overflowed = self.closed = True
        self._frames.clear()
        self._ready.set()
        if self.on_overflow is not None:
            self.on_overflow()

    async def take(self) -> list[str] | None:
        """Wait for frames and return all that are queued; None once the outbox is closed."""
        while not self._frames or self._held:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            return None
        frames = [frame for _, frame in self._frames]
        self._frames.clear()
        if self._drained is not None:
            self._drained.set()
        return frames

    async def room(self) -> None:
        """Wait until at most half the outbox is used. The connection's reader calls this before taking
        the client's next frame: a client that sends faster than it reads its answers is slowed down, not
        cut off, because those answers are its own doing."""
        while len(self._frames) > self._limit // 2 and not self.closed:
            if self._drained is None:
                self._drained = asyncio.Event()
            self._drained.clear()
            await self._drained.wait()

    def __len__(self) -> int:
        return len(self._frames)


class Subscriber:
    """One live connection of one device, and the cases it watches beyond its own."""

    __slots__ = ("user", "device_id", "outbox", "watching", "session", "ended")

    def __init__(self, user: User, device_id: str, outbox: Outbox | None = None, session: bytes | None = None) -> None:
        self.user = user
        self.device_id = device_id
        self.outbox = outbox if outbox is not None else Outbox()
        self.watching: set[str] = set()
        self.session = session  # the sign-in it was opened with: it ends with it
        self.ended = False  # cut because the person's sign-in or access ended (not because it fell behind)


class Hub:
    """Live delivery goes to the case's citizen, its assigned caseworker, and staff connections that watch
    the case (have it open). Other staff of the unit may read the case but are not sent every message
    live: with a unit's whole staff online that would multiply each message by the size of the unit."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[Subscriber]] = {}
        self._by_session: dict[bytes, set[Subscriber]] = {}
        self._watchers: dict[str, set[Subscriber]] = {}
        self._staff_by_unit: dict[str, set[Subscriber]] = {}

    def join(self, sub: Subscriber) -> None:
        self._by_user.setdefault(sub.user.id, set()).add(sub)
        if sub.session is not None:
            self._by_session.setdefault(sub.session, set()).add(sub)
        if sub.user.is_staff and sub.user.unit_id:
            self._staff_by_unit.setdefault(sub.user.unit_id, set()).add(sub)

    def leave(self, sub: Subscriber) -> None:
        _discard(self._by_user, sub.user.id, sub)
        if sub.session is not None:
            _discard(self._by_session, sub.session, sub)
        if sub.user.unit_id:
            _discard(self._staff_by_unit, sub.user.unit_id, sub)
        for case_id in sub.watching:
            _discard(self._watchers, case_id, sub)
        sub.watching.clear()

    def watch(self, sub: Subscriber, case_id: str) -> None:
        """The caller has checked that the subscriber may read the case."""
        sub.watching.add(case_id)
        self._watchers.setdefault(case_id, set()).add(sub)

    def unwatch(self, sub: Subscriber, case_id: str) -> None:
        sub.watching.discard(case_id)
        _discard(self._watchers, case_id, sub)

    def cut_user(self, user_id: str, device_id: str | None = None) -> int:
        """End the live connections of a user (signed out everywhere, access changed, removed from the
        unit), or of one device (revoked)."""
        return _end([s for s in self._by_user.get(user_id, ()) if device_id is None or s.device_id == device_id])

    def cut_session(self, session: bytes) -> int:
        """End the live connections opened with one sign-in (signed out, expired)."""
        return _end(list(self._by_session.get(session, ())))

    def connections_of(self, user_id: str, device_id: str | None = None) -> int:
        return sum(1 for s in self._by_user.get(user_id, ()) if device_id is None or s.device_id == device_id)

    def is_online(self, user_id: str) -> bool:
        return user_id in self._by_user

    def connection_count(self) -> int:
        return sum(len(subs) for subs in self._by_user.values())

    def _offer_all(self, subs: Iterable[Subscriber], frame: str, key: FrameKey = None,
                   exclude: object = None) -> int:
        delivered = 0
        for sub in list(subs):
            if sub is not exclude and sub.outbox.offer(frame, key):
                delivered += 1
        return delivered

    def publish_case(self, case: Case, frame: str, key: FrameKey = None, exclude: object = None,
                     also: Iterable[str] = ()) -> int:
        """Everyone on a case: the citizen, the assigned caseworker, the users in `also` (their
        substitutes), and watchers (but `exclude`)."""
        return self.publish_to(case.id, case_users(case, also), frame, key, exclude)

    def publish_to(self, case_id: str, users: Iterable[str], frame: str, key: FrameKey = None,
                   exclude: object = None) -> int:
        """The connections of `users` (a case's people, see case_users) and the case's watchers."""
        subs = set(self._watchers.get(case_id, ()))
        for user_id in users:
            subs.update(self._by_user.get(user_id, ()))
        return self._offer_all(subs, frame, key, exclude)

    def interested(self, case_id: str, users: Iterable[str]) -> bool:
        """Whether a frame for these users or the case's watchers would reach any connection here."""
        return case_id in self._watchers or any(user_id in self._by_user for user_id in users)

    def publish_watching_staff(self, case_id: str, frame: str, exclude: object = None) -> int:
        """The staff connections that have the case open (watch it); not the citizen's, who may watch too."""
        return self._offer_all((s for s in self._watchers.get(case_id, ()) if s.user.is_staff), frame,
                               exclude=exclude)

    def publish_unit_staff(self, unit_id: str, frame: str) -> int:
        return self._offer_all(self._staff_by_unit.get(unit_id, ()), frame)

    def publish_user(self, user_id: str, frame: str) -> int:
        return self._offer_all(self._by_user.get(user_id, ()), frame)


def case_users(case: Case, also: Iterable[str] = ()) -> list[str]:
    """Who a case's messages go to live: its citizen, its assigned caseworker and `also` (their substitutes)."""
    return [user_id for user_id in (case.citizen_id, case.assigned_to, *also) if user_id]


_Key = TypeVar("_Key", str, bytes)  # users and units by id, sign-ins by session hash


def _discard(index: dict[_Key, set[Subscriber]], key: _Key, sub: Subscriber) -> None:
    subs = index.get(key)
    if subs is not None:
        subs.discard(sub)
        if not subs:
            del index[key]


def _end(subs: list[Subscriber]) -> int:
    for sub in subs:
        sub.ended = True
        sub.outbox.cut()
    return len(subs)
