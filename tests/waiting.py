"""Waiting for something another process or task does, without a fixed sleep: `eventually()`.

A check is called until it gives a true value (returned) or stops failing with one of the `retrying` errors
(an AssertionError by default); then it is called again soon, more slowly the longer it takes, until `within`
seconds have passed, when the last assertion (or a plain one naming `what`) is raised. The time limit is a
limit on how long to wait, never a claim about how fast the product is: a slow shared machine only waits longer.

    assert await eventually(lambda: mailbox.messages, what="the confirmation mail")
    row = eventually_blocking(lambda: server.audit_row("login"), within=10)   # in a test that is not async
"""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

FIRST_PAUSE = 0.01  # seconds; most waits in these tests end within a few hundred milliseconds
LONGEST_PAUSE = 0.1  # no later than the hand-written loops this replaced noticed


class _Attempts:
    """The schedule and the bookkeeping shared by both forms: when to try again and what to say at the end."""

    def __init__(self, within: float, what: str, retrying: tuple[type[BaseException], ...]) -> None:
        self.deadline = time.monotonic() + within
        self.within, self.what, self.retrying = within, what, retrying
        self.pause = FIRST_PAUSE
        self.last: BaseException | None = None

    def next_pause(self) -> float:
        """How long to pause before the next attempt; raises when the time is up."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            if isinstance(self.last, AssertionError):
                raise self.last
            raise AssertionError(f"{self.what or 'the condition'} did not happen within {self.within} s"
                                 + (f" (last: {self.last!r})" if self.last else "")) from self.last
        pause, self.pause = min(self.pause, left), min(self.pause * 1.5, LONGEST_PAUSE)
        return pause


async def eventually(check: Callable[[], T | Awaitable[T]], *, within: float = 30.0, what: str = "",
                     retrying: tuple[type[BaseException], ...] = (AssertionError,)) -> T:
    """The first true value of `check()` (awaited when it is a coroutine), polling without blocking the loop."""
    attempts = _Attempts(within, what, retrying)
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
        except retrying as error:
            attempts.last = error
        await asyncio.sleep(attempts.next_pause())


def eventually_blocking(check: Callable[[], T], *, within: float = 30.0, what: str = "",
                        retrying: tuple[type[BaseException], ...] = (AssertionError,)) -> T:
    """`eventually` for tests that are not coroutines (sync Playwright, subprocesses, plain HTTP)."""
    attempts = _Attempts(within, what, retrying)
    while True:
        try:
            value: Any = check()
            if value:
                return value  # type: ignore[no-any-return]
        except retrying as error:
            attempts.last = error
        time.sleep(attempts.next_pause())
