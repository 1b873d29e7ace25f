"""Draining on SIGTERM (one node): stop taking new sockets, let every connection finish what it has in
flight (the commits of the sends it read, and their acks), then close it with 1012 ("service restart") so
that its client reconnects, to this node once it is back or to another one.

Why not leave it to uvicorn: its shutdown closes every WebSocket with 1012 at once, before the acks of
commits still in flight are written, so a restart could store a message whose ack never left (210 of 211
in one run; only the client's resend saved it). Here the connections are told first and close themselves."""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

log = logging.getLogger("samtal.drain")

# How long a connection may take to finish its in-flight sends and flush their acks. A commit takes
# milliseconds; what is not done by then is not acknowledged, and the client resends it (same msg_id).
DRAIN_SECONDS = 1.5


class Drains(Protocol):
    async def drain(self) -> None: ...


class Draining:
    """The node's drain state: /readyz says 503 once it is set, and the live connections to drain."""

    def __init__(self) -> None:
        self.active = False
        self.connections: set[Drains] = set()

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        self.active = True
        connections = list(self.connections)
        log.info("draining", extra={"connections": len(connections)})
        if not connections:
            return
        tasks = [asyncio.create_task(c.drain()) for c in connections]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        log.info("drained", extra={"connections": len(done), "unfinished": len(pending)})
