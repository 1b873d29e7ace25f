"""The message bus between the nodes of one installation: NATS (core subjects) or Redis (pub/sub).

Only wake-ups and short notices travel on it (chat/messaging/cluster.py): the database stays the source of
truth, so a notice lost on the bus costs a catch-up read, never a message. Both kinds are used the same way:
one subject (channel) that every node publishes to and subscribes to, `publish` never blocks the caller (a
sender task writes what is queued), and the bus reconnects by itself; `on_state` tells the node when it is
connected and when not, since what was published meanwhile may be lost."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("samtal.bus")

OnMessage = Callable[[bytes], None]
OnState = Callable[[bool], None]
RECONNECT_SECONDS = 0.5
# Notices queued while the bus is away beyond this many are dropped: the nodes catch up from the database.
QUEUE_LIMIT = 50_000


class Bus:
    """One subject on a broker. Subclasses connect, subscribe and write batches."""

    scheme = ""

    def __init__(self, url: str, subject: str = "samtal") -> None:
        self.url = url
        self.subject = subject
        self.connected = False
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_message: OnMessage = lambda data: None
        self._on_state: OnState = lambda up: None

    async def start(self, on_message: OnMessage, on_state: OnState) -> None:
        self._on_message, self._on_state = on_message, on_state
        self._tasks = [asyncio.create_task(self._keep_connected()), asyncio.create_task(self._send())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._close()

    def publish(self, data: bytes) -> None:
        if len(self._queue) >= QUEUE_LIMIT:
            self._queue.popleft()
        self._queue.append(data)
        self._wake.set()

    def _state(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            log.info("bus connected" if up else "bus disconnected", extra={"bus": self.scheme})
            self._on_state(up)
            if up:
                self._wake.set()

    async def _send(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and self.connected:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 512))]
                try:
                    await self._write(batch)
                except Exception as error:  # noqa: BLE001 (the broker went away: the nodes catch up)
                    log.warning("bus write failed", extra={"error": type(error).__name__, "dropped": len(batch)})
                    await asyncio.sleep(RECONNECT_SECONDS)

    async def _keep_connected(self) -> None:
        raise NotImplementedError

    async def _write(self, batch: list[bytes]) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError


class NatsBus(Bus):
    """NATS core publish/subscribe: at most once, in order from one publisher; nats-py reconnects itself."""

    scheme = "nats"

    def __init__(self, url: str, subject: str = "samtal") -> None:
        super().__init__(url, subject)
        self._nc: Any = None  # nats.aio.client.Client once connected

    async def _keep_connected(self) -> None:
        import nats

        async def disconnected() -> None:
            self._state(False)

        async def reconnected() -> None:
            self._state(True)

        async def error(exc: Exception) -> None:
            log.debug("bus error", extra={"error": type(exc).__name__})

        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    servers=[self.url], allow_reconnect=True, max_reconnect_attempts=-1,
                    reconnect_time_wait=RECONNECT_SECONDS, connect_timeout=2, ping_interval=2, max_outstanding_pings=2,
                    disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error)
            except Exception as exc:  # noqa: BLE001 (not up yet: try again, the node runs meanwhile)
                log.warning("bus not reachable", extra={"bus": self.scheme, "error": type(exc).__name__})
                await asyncio.sleep(RECONNECT_SECONDS)

        async def deliver(msg: Any) -> None:
            self._on_message(msg.data)

        await self._nc.subscribe(self.subject, cb=deliver)
        await self._nc.flush()
        self._state(True)

    async def _write(self, batch: list[bytes]) -> None:
        for data in batch:
            await self._nc.publish(self.subject, data)

    async def _close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()


class RedisBus(Bus):
    """Redis PUBLISH/SUBSCRIBE: at most once, in order from one connection; reconnected here."""

    scheme = "redis"

    def __init__(self, url: str, subject: str = "samtal") -> None:
        super().__init__(url, subject)
        self._client: Any = None  # redis.asyncio.Redis once connected

    async def _keep_connected(self) -> None:
        import redis.asyncio as redis

        while True:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_keepalive=True,
                                          health_check_interval=2)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.subject)
                self._client = client
                self._state(True)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._on_message(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (the broker went away: reconnect, the nodes catch up)
                self._state(False)
                log.debug("bus error", extra={"error": type(exc).__name__})
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _write(self, batch: list[bytes]) -> None:
        async with self._client.pipeline(transaction=False) as pipe:
            for data in batch:
                pipe.publish(self.subject, data)
            await pipe.execute()

    async def _close(self) -> None:
        pass


def open_bus(url: str, subject: str = "samtal") -> Bus:
    """The bus at `url`: nats://host:port or redis://host:port[/db]."""
    scheme = urlsplit(url).scheme
    if scheme in ("nats", "tls"):
        return NatsBus(url, subject)
    if scheme in ("redis", "rediss"):
        return RedisBus(url, subject)
    raise ValueError("the bus is nats://... or redis://...")
