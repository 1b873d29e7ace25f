"""Small helpers for tests that talk to a real server."""
from __future__ import annotations

import asyncio
from typing import Any

from web.client.transport import Socket

CASE_DANA = "eb-2026-0001"
CASE_ERIK = "eb-2026-0002"


async def next_frame(socket: Socket, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next pushed frame of type `kind`, skipping others (key notices, receipts)."""
    async def wait() -> dict[str, Any]:
        while True:
            frame = await socket.pushed.get()
            if frame.get("t") == kind:
                return frame
            if frame.get("t") == "closed":
                raise ConnectionError("the server closed the connection")
    return await asyncio.wait_for(wait(), timeout)


async def frames_of(socket: Socket, kind: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [await next_frame(socket, kind, timeout) for _ in range(count)]
    return await asyncio.wait_for(collect(), timeout)
