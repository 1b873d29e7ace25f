"""What the inbox shows besides the messages: waiting times, and the unit's usual answer time that the
citizen is shown ("svarar oftast inom ..."). Computed from metadata only."""
from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from chat.model import MessageMeta
from chat.storage import Storage

# Recent enough to reflect how the unit answers now; few enough to compute on a page load.
RECENT_PER_CASE = 50
CACHE_SECONDS = 60.0
# A usual time needs a few answers behind it: one quick reply made it "usually within less than a minute".
MIN_REPLIES = 5


def reply_times(messages: Sequence[MessageMeta]) -> list[int]:
    """Milliseconds from the first citizen message of each waiting stretch to the staff reply ending it."""
    times: list[int] = []
    waiting_since: int | None = None
    for m in messages:
        if m.sender_is_citizen:
            if waiting_since is None:
                waiting_since = m.stored_at
        elif waiting_since is not None:
            times.append(m.stored_at - waiting_since)
            waiting_since = None
    return times


class ReplyTimes:
    def __init__(self, store: Storage) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, int | None]] = {}

    async def usual_seconds(self, unit_id: str) -> int | None:
        """The median reply time of the unit's recent conversations, in seconds; None without data."""
        cached = self._cache.get(unit_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        samples: list[int] = []
        for case in await self.store.cases_of_unit(unit_id):
            samples += reply_times(await self.store.recent_message_meta(case.id, RECENT_PER_CASE))
        if len(samples) < MIN_REPLIES:
            return None  # not cached: the usual time should show as soon as there are enough replies
        value = int(statistics.median(samples) // 1000)
        self._cache[unit_id] = (time.monotonic(), value)
        return value
