"""Several nodes on one database and one bus (chat/messaging/bus.py): what one node tells the others.

What travels: wake-ups (a case and the seq just committed: the messages are read from the database,
chat/messaging/feeds.py), the hub's other frames (receipts, keys events, journal drafts shared live, which are
small and never stored), cuts (a sign-out on one node ends that session's sockets on every node), who is
connected where (so that the socket caps hold across nodes) and the in-memory rate limiters' hits (so that
a limit holds across nodes). Nothing carries message content, a personal number or an address in clear: rate
limiter keys are digests, users are their internal ids.

Lost notices: each node numbers what it publishes and says its number every second (a beat). A gap in a
peer's numbers, the bus reconnecting, or a bus gone quiet makes the node read from the database which messages
were stored meanwhile and hand over those its connections have not had; it logs that it caught up. A node
that stops beating for PEER_GONE_SECONDS is gone (killed): its connections no longer count."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chat.errors import StorageUnavailable
from chat.messaging.bus import Bus
from chat.messaging.feeds import Feeds
from chat.messaging.hub import FrameKey, Hub, Outbox, Subscriber, case_users
from chat.model import Case, StoredMessage, User, now_ms
from chat.storage import Storage

log = logging.getLogger("samtal.cluster")

BEAT_SECONDS = 1.0
PEER_GONE_SECONDS = 3.5
# A bus that has not brought back this node's own beat for this long is treated as a cut: the node reads the
# database itself, and does not count silent peers as gone (it cannot hear them).
QUIET_SECONDS = 2.5
# Catch-ups read the messages stored since the last moment nothing was missed, less this margin (commits
# queue for a while before they are stored, and the nodes' clocks differ a little).
CATCH_UP_MARGIN_MS = 10_000


class Relay(Outbox):
    """The outbox of a connection on another node (a video call's other side): what is offered to it goes over
    the bus to that node, which hands it to the connection of that user and device."""

    __slots__ = ("node", "user_id", "device_id")

    def __init__(self, node: Node, user_id: str, device_id: str) -> None:
        super().__init__()
        self.node, self.user_id, self.device_id = node, user_id, device_id

    def offer(self, frame: str, key: FrameKey = None) -> bool:
        self.node.tell({"k": "d", "u": self.user_id, "d": self.device_id, "f": frame})
        return True


NoticeHandler = Callable[[str, dict[str, Any]], None]  # (the sending node, the notice)


class SharedLimiter(Protocol):
    """A rate limiter whose hits count on every node (web/ratelimit.py)."""

    on_hit: Callable[[str], None] | None

    def hit_elsewhere(self, digest: str) -> None: ...


@dataclass
class Peer:
    last: int  # the last number heard from it
    seen: float  # monotonic time it was last heard
    connections: Counter[tuple[str, str]] = field(default_factory=Counter)  # (user, device) -> sockets


class SharedHub(Hub):
    """The hub, with its frames and cuts told to the other nodes and their connections counted."""

    def __init__(self) -> None:
        super().__init__()
        self.node: Node | None = None
        self._local: Counter[tuple[str, str]] = Counter()

    def join(self, sub: Subscriber) -> None:
        super().join(sub)
        self._local[(sub.user.id, sub.device_id)] += 1
        if self.node is not None:
            self.node.tell({"k": "j", "u": sub.user.id, "d": sub.device_id, "by": 1})

    def leave(self, sub: Subscriber) -> None:
        known = (sub.user.id, sub.device_id) in self._local and sub in self._by_user.get(sub.user.id, ())
        super().leave(sub)
        if known:
            self._local[(sub.user.id, sub.device_id)] -= 1
            if self._local[(sub.user.id, sub.device_id)] <= 0:
                del self._local[(sub.user.id, sub.device_id)]
            if self.node is not None:
                self.node.tell({"k": "j", "u": sub.user.id, "d": sub.device_id, "by": -1})

    def local_connections(self) -> list[list[object]]:
        return [[user, device, count] for (user, device), count in self._local.items()]

    def connections_of(self, user_id: str, device_id: str | None = None) -> int:
        here = super().connections_of(user_id, device_id)
        return here + (self.node.connections_elsewhere(user_id, device_id) if self.node is not None else 0)

    def is_online(self, user_id: str) -> bool:
        return super().is_online(user_id) or (self.node is not None and self.node.connections_elsewhere(user_id, None) > 0)

    def cut_user(self, user_id: str, device_id: str | None = None) -> int:
        if self.node is not None:
            self.node.tell({"k": "x", "u": user_id, "d": device_id})
        return super().cut_user(user_id, device_id)

    def cut_session(self, session: bytes) -> int:
        if self.node is not None:
            self.node.tell({"k": "x", "s": session.hex()})
        return super().cut_session(session)

    def publish_case(self, case: Case, frame: str, key: FrameKey = None, exclude: object = None,
                     also: Iterable[str] = ()) -> int:
        users = case_users(case, also)
        self._tell_frame("to", [case.id, users], frame)
        return super().publish_to(case.id, users, frame, key, exclude)

    def publish_watching_staff(self, case_id: str, frame: str, exclude: object = None) -> int:
        self._tell_frame("watching", [case_id], frame)
        return super().publish_watching_staff(case_id, frame, exclude)

    def publish_unit_staff(self, unit_id: str, frame: str) -> int:
        self._tell_frame("unit", [unit_id], frame)
        return super().publish_unit_staff(unit_id, frame)

    def publish_user(self, user_id: str, frame: str) -> int:
        self._tell_frame("user", [user_id], frame)
        return super().publish_user(user_id, frame)

    def _tell_frame(self, to: str, args: list[object], frame: str) -> None:
        if self.node is not None:
            self.node.tell({"k": "f", "to": to, "a": args, "f": frame})

    def offer_device(self, user_id: str, device_id: str, frame: str) -> None:
        for sub in list(self._by_user.get(user_id, ())):
            if sub.device_id == device_id:
                sub.outbox.offer(frame)

    def remote(self, notice: dict[str, Any]) -> None:
        """A frame or a cut from another node, for this node's connections only."""
        if notice["k"] == "x":
            if notice.get("s"):
                super().cut_session(bytes.fromhex(notice["s"]))
            else:
                super().cut_user(notice["u"], notice.get("d"))
            return
        to, args, frame = notice["to"], notice["a"], notice["f"]
        if to == "to":
            super().publish_to(args[0], args[1], frame)
        elif to == "watching":
            super().publish_watching_staff(args[0], frame)
        elif to == "unit":
            super().publish_unit_staff(args[0], frame)
        elif to == "user":
            super().publish_user(args[0], frame)


class Node:
    def __init__(self, bus: Bus, hub: SharedHub, feeds: Feeds, store: Storage,
                 limiters: dict[str, SharedLimiter] | None = None,
                 on_lag: Callable[[float], None] | None = None) -> None:
        self.id = secrets.token_hex(4)
        self.bus, self.hub, self.feeds, self.store = bus, hub, feeds, store
        self.limiters = limiters or {}
        self.on_lag = on_lag or (lambda seconds: None)
        self.peers: dict[str, Peer] = {}
        self.catch_ups = 0  # for /metrics and the tests
        # Notices of other kinds, by kind (the video calls' joins and leaves: web/calls.py), and what to do when
        # a node is gone.
        self.handlers: dict[str, NoticeHandler] = {}
        self.on_gone: list[Callable[[str], None]] = []
        # What a process keeps of the database to answer without I/O (substitutions, units' settings), by name:
        # each is told to forget a key another node changed (`stale`), or everything (None) when notices may have
        # been missed, so no node acts on a change it did not hear of for longer than a beat.
        self.caches: dict[str, Callable[[str | None], None]] = {}
        self.on_asked: list[Callable[[], None]] = []  # a node joined or missed notices: say again what is here
        self._number = 0
        self._heard = time.monotonic()  # the last time this node heard its own notice back from the bus
        self._synced_ms = now_ms()  # nothing was missed before this (less the margin)
        self._catch_up_reason: str | None = None
        self._again = False  # something more was missed while a catch-up ran
        self._beats: asyncio.Task[None] | None = None
        self._catching_up: asyncio.Future[None] | None = None
        self._was_up = False
        self._stopping = False
        hub.node = self
        for name, limiter in self.limiters.items():
            limiter.on_hit = self._limit_hit(name)

    async def start(self) -> None:
        await self.bus.start(self._received, self._bus_state)
        self._beats = asyncio.create_task(self._beat())

    async def stop(self) -> None:
        self._stopping = True
        if self._beats is not None:
            self._beats.cancel()
        await self.bus.stop()
        await self.feeds.stop()

    @property
    def connected(self) -> bool:
        return self.bus.connected

    # -- telling -----------------------------------------------------------------------------------------
    def tell(self, notice: dict[str, Any]) -> None:
        self._number += 1
        notice["n"], notice["i"] = self.id, self._number
        self.bus.publish(json.dumps(notice, separators=(",", ":")).encode())

    def stale(self, cache: str, key: str) -> None:
        """Tell the other nodes that what they keep in `cache` for `key` was changed here."""
        self.tell({"k": "s", "w": cache, "key": key})

    def message_stored(self, case: Case, message: StoredMessage, origin: object, also: Iterable[str]) -> None:
        users = case_users(case, also)
        self.feeds.stored_here(message, users, origin)
        self.tell({"k": "w", "c": case.id, "s": message.seq, "u": users, "at": message.stored_at})

    def _limit_hit(self, name: str) -> Callable[[str], None]:
        return lambda digest: self.tell({"k": "h", "l": name, "key": digest})

    def relay_to(self, user: User, device_id: str) -> Subscriber:
        """A stand-in for a connection on another node: frames offered to it reach that connection."""
        return Subscriber(user, device_id, Relay(self, user.id, device_id))

    def connections_elsewhere(self, user_id: str, device_id: str | None) -> int:
        return sum(count for peer in self.peers.values() for (user, device), count in peer.connections.items()
                   if user == user_id and (device_id is None or device == device_id))

    # -- hearing -----------------------------------------------------------------------------------------
    def _received(self, data: bytes) -> None:
        try:
            notice = json.loads(data)
            sender, number, kind = notice["n"], notice["i"], notice["k"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable notice on the bus")
            return
        if sender == self.id:
            self._heard = time.monotonic()  # our own notices come back: the bus carries them
            return
        peer = self.peers.get(sender)
        if peer is None:
            peer = self.peers[sender] = Peer(number if kind == "b" else number - 1, time.monotonic())
            log.info("node joined", extra={"node": sender})
            self.tell({"k": "q"})  # say who is connected here, and ask the same of everyone
        peer.seen = time.monotonic()
        if kind == "b":
            if number > peer.last:
                self._missed("lost notices", sender)
            peer.last = max(peer.last, number)
            return
        if number > peer.last + 1:
            self._missed("lost notices", sender)
        peer.last = max(peer.last, number)
        try:
            self._apply(peer, kind, notice)
        except Exception:
            log.exception("a notice from another node could not be applied", extra={"kind": kind})

    def _apply(self, peer: Peer, kind: str, notice: dict[str, Any]) -> None:
        if kind == "w":
            self.feeds.woken(notice["c"], notice["s"], notice["u"])
            self.on_lag(max(0.0, time.time() - notice["at"] / 1000))
        elif kind in ("f", "x"):
            self.hub.remote(notice)
        elif kind == "d":
            self.hub.offer_device(notice["u"], notice["d"], notice["f"])
        elif kind == "j":
            key = (notice["u"], notice["d"])
            peer.connections[key] += notice["by"]
            if peer.connections[key] <= 0:
                del peer.connections[key]
        elif kind == "h":
            limiter = self.limiters.get(notice["l"])
            if limiter is not None:
                limiter.hit_elsewhere(notice["key"])
        elif kind == "q":
            self.tell({"k": "c", "c": self.hub.local_connections()})
            for say_again in self.on_asked:
                say_again()
        elif kind == "c":
            peer.connections = Counter({(user, device): count for user, device, count in notice["c"]})
        elif kind == "s":
            forget = self.caches.get(notice["w"])
            if forget is not None:
                forget(str(notice["key"]))
        elif kind in self.handlers:
            self.handlers[kind](notice["n"], notice)

    def _bus_state(self, up: bool) -> None:
        if self._stopping:
            return
        if up:
            if self._was_up:
                self._missed("bus reconnected")
            self._was_up = True
            self.tell({"k": "q"})
        else:
            log.warning("bus lost: reading new messages from the database until it is back")

    def _missed(self, reason: str, sender: str | None = None) -> None:
        for forget in self.caches.values():  # a change may have been among what was missed
            forget(None)
        if self._catch_up_reason is None:
            self._catch_up_reason = reason
            task = asyncio.ensure_future(self._catch_up())
            self._catching_up = task  # kept: a task nobody holds may be collected before it ends
        else:
            self._again = True
        if sender is not None:
            self.tell({"k": "q"})  # its connection counts may have changed unheard too

    # -- beats and catching up ---------------------------------------------------------------------------
    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(BEAT_SECONDS)
            try:
                self.bus.publish(json.dumps({"k": "b", "n": self.id, "i": self._number}).encode())
                now = time.monotonic()
                quiet = now - self._heard > QUIET_SECONDS
                if not quiet:
                    for sender in [s for s, p in self.peers.items() if now - p.seen > PEER_GONE_SECONDS]:
                        del self.peers[sender]
                        log.info("node gone", extra={"node": sender})
                        for gone in self.on_gone:
                            gone(sender)
                if quiet or not self.bus.connected:
                    # Cut off from the bus, or it has gone quiet: the database says what was stored.
                    self._missed("bus quiet" if self.bus.connected else "bus away")
                elif self._catch_up_reason is None:
                    self._synced_ms = now_ms() - int(BEAT_SECONDS * 1000)
            except Exception:
                log.exception("the node's beat failed")

    async def _catch_up(self) -> None:
        """Hand over what the database has that this node's connections may not have had."""
        try:
            while True:
                reason, self._again = self._catch_up_reason, False
                started = now_ms()
                try:
                    stored = await self.store.messages_stored_since(self._synced_ms - CATCH_UP_MARGIN_MS)
                except StorageUnavailable:
                    return  # the database is away too; the next beat tries again
                behind = sum(1 for case_id, first, last in stored if self.feeds.missed(case_id, first, last))
                self.catch_ups += 1
                log.info("caught up after missed wake-ups" if behind else "checked for missed wake-ups",
                         extra={"reason": reason, "cases_behind": behind, "cases_read": len(stored)})
                if self.bus.connected and time.monotonic() - self._heard <= QUIET_SECONDS:
                    self._synced_ms = started
                if not self._again:
                    return
        except Exception:
            log.exception("catching up failed")
        finally:
            self._catch_up_reason = None
