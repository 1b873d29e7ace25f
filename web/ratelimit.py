"""A per-minute allowance per key (a client address for sign-ins, a person for uploads), kept in memory only:
keys are never logged or stored."""
from __future__ import annotations

import math
import time


class RateLimiter:
    """At most `per_minute` requests from one client address in any minute (a token bucket). The addresses
    live in memory only; they are never logged or stored."""

    MAX_TRACKED = 10_000

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}

    def retry_after(self, address: str, now: float | None = None) -> int:
        """0 when the request may go ahead (and is counted); otherwise whole seconds to wait."""
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
