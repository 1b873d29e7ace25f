"""Scheduled work claimed in the database, so that each item (a booking's reminder, a person's notification
mail, an urgent message's alert) is done by one server process only, however many run the same sweep, and is
taken over when the process that claimed it died before finishing it."""
from __future__ import annotations

import abc
from typing import Protocol, runtime_checkable


@runtime_checkable
class ScheduleStore(Protocol):
    @abc.abstractmethod
    async def claim(self, kind: str, item: str, node: str, at: int, lease_ms: int) -> bool:
        """True when `node` now holds the item: nobody held it, or the holder's claim is older than `lease_ms`
        and unfinished (that process died, or is stuck). False when it is finished, or held by another node
        within its lease. Checked and taken in one write transaction."""

    @abc.abstractmethod
    async def release(self, kind: str, item: str, node: str) -> None:
        """`node` gives the item up unfinished (its work failed and is to be tried again at the next round)."""

    @abc.abstractmethod
    async def finish(self, kind: str, item: str, at: int) -> None:
        """The item is done: never claimed again. Finished claims older than a week are forgotten."""
