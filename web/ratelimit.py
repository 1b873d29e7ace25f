"""A per-minute allowance per key (a client address for sign-ins, a person for uploads), kept in memory only:
keys are never logged or stored."""
from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable


class RateLimiter:
    """At most `per_minute` requests from one client address in any minute (a token bucket). The addresses
    live in memory only; they are never logged or stored."""

    MAX_TRACKED = 10_000

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        # Several nodes: each request counted here is told to the others (chat/messaging/cluster.py), by the
        # key's digest, so that the limit holds across nodes.
        self.on_hit: Callable[[str], None] | None = None

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.blake2b(key.encode(), digest_size=12, person=b"samtal-limit").hexdigest()

    def retry_after(self, address: str, now: float | None = None) -> int:
        """0 when the request may go ahead (and is counted); otherwise whole seconds to wait."""
        wait = self._take(self.digest(address), now)
        if wait == 0 and self.on_hit is not None:
            self.on_hit(self.digest(address))
        return wait

    def hit_elsewhere(self, digest: str) -> None:
        """Another node let a request with this key go ahead: it counts here too."""
        self._take(digest, None)

    def _take(self, address: str, now: float | None) -> int:
        now = time.monotonic() if now is None else now
        tokens, since = self._buckets.get(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - since) * self.per_second)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return math.ceil((1 - tokens) / self.per_second)
        if len(self._buckets) >= self.MAX_TRACKED:
            self._buckets = {a: b for a, b in self._buckets.items() if b[0] + (now - b[1]) * self.per_second
                             < self.capacity}
        self._buckets[address] = (tokens - 1, now)
        return 0
