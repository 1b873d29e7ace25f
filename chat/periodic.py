"""Background work in rounds: `work` every `pause_seconds` until stopped. One failed round is logged (its kind of
error, never its data) and the next round runs; the work of a round must itself be safe to repeat."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class Rounds:
    def __init__(self, name: str, pause_seconds: float, work: Callable[[], Awaitable[object]],
                 log: logging.Logger, failed: str) -> None:
        self.name, self.pause_seconds, self.work, self.log, self.failed = name, pause_seconds, work, log, failed
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.pause_seconds)
            try:
                await self.work()
            except Exception as error:  # noqa: BLE001 (one failed round must not end the next ones)
                self.log.error(self.failed, extra={"error": type(error).__name__})
