"""The client's I/O: HTTP calls that turn problem+json into ClientError, and the WebSocket."""
from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence
from typing import Any

import httpx
import websockets

from web.sessions import COOKIE


class ClientError(Exception):
    """A refusal from the server (or a failure to reach it), with the server's code."""

    def __init__(self, code: str, message: str, status: int | None = None, retry: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry = retry  # the server said the same request may succeed later (storage_unavailable)


# Backoff for what the server says to retry (a full disk being cleared): doubling from the first wait up to
# the longest, for at most RETRY_FOR seconds in all; then the error is the caller's.
RETRY_FIRST = 0.2
RETRY_LONGEST = 5.0
RETRY_FOR = 300.0


async def retrying(attempt: Any) -> Any:
    """`await attempt()` again, with backoff, while it fails with an error the server marked retryable."""
    wait, waited = RETRY_FIRST, 0.0
    while True:
        try:
            return await attempt()
        except ClientError as error:
            if not error.retry or waited >= RETRY_FOR:
                raise
        await asyncio.sleep(wait)
        waited += wait
        wait = min(wait * 2, RETRY_LONGEST)


def server_list(servers: str | Sequence[str]) -> list[str]:
    """One address, several separated by commas, or a list of them (the nodes of one installation)."""
    names = servers.split(",") if isinstance(servers, str) else list(servers)
    return [name.strip().rstrip("/") for name in names if name.strip()]


class Transport:
    """HTTP and WebSockets to one server, or to the first reachable of several nodes of one installation: a
    node that cannot be reached (stopped, killed) is left for the next one, which serves the same data."""

    def __init__(self, server: str | Sequence[str], timeout: float = 30.0) -> None:
        self.servers = server_list(server)
        if not self.servers:
            raise ValueError("no server address")
        self.server = self.servers[0]
        self.http = httpx.AsyncClient(base_url=self.server, timeout=timeout)
        self.device_id: str | None = None

    def next_server(self) -> str:
        """Move on to the next node (after the current one failed), and return it."""
        self.server = self.servers[(self.servers.index(self.server) + 1) % len(self.servers)]
        self.http.base_url = httpx.URL(self.server)
        return self.server

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None) -> Any:
        """One request; again with backoff while the server answers 503 storage_unavailable."""
        return await retrying(lambda: self._call(method, path, body, params))

    async def _call(self, method: str, path: str, body: dict[str, Any] | None,
                    params: dict[str, Any] | None) -> Any:
        headers = {"x-samtal-device": self.device_id} if self.device_id else {}
        for attempt in range(len(self.servers)):
            try:
                response = await self.http.request(method, path, json=body, params=params,
                                                   headers=headers)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached it: another node may serve
                if attempt + 1 == len(self.servers):
                    raise ClientError("unreachable", f"could not reach {self.server}: {type(exc).__name__}") from None
                self.next_server()
            except httpx.HTTPError as exc:
                raise ClientError("unreachable", f"could not reach {self.server}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                problem = response.json()
                raise ClientError(problem.get("code", "error"), problem.get("detail", ""), response.status_code,
                                  retry=response.status_code == 503 and problem.get("code") == "storage_unavailable")
            except ValueError:
                raise ClientError("http_error", f"HTTP {response.status_code}", response.status_code) from None
        return response.json() if response.content else None

    async def upload(self, path: str, data: bytes) -> Any:
        """An encrypted attachment, as application/octet-stream; the server's JSON answer."""
        headers = {"content-type": "application/octet-stream",
                   **({"x-samtal-device": self.device_id} if self.device_id else {})}
        try:
            response = await self.http.post(path, content=data, headers=headers)
        except httpx.HTTPError as exc:
            raise ClientError("unreachable", f"could not reach {self.server}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                raise ClientError("http_error", f"HTTP {response.status_code}", response.status_code) from None
            raise ClientError(problem.get("code", "error"), problem.get("detail", ""), response.status_code)
        return response.json()

    async def open_socket(self) -> Socket:
        """A WebSocket to the current node, or to the next one that takes it."""
        cookie = self.http.cookies.get(COOKIE)
        for attempt in range(len(self.servers)):
            url = self.server.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
            try:
                ws = await websockets.connect(f"{url}/ws?device={self.device_id}",
                                              additional_headers={"Cookie": f"{COOKIE}={cookie}"},
                                              max_size=4 * 1024 * 1024, open_timeout=15)
                return Socket(ws)
            except (TimeoutError, OSError, websockets.InvalidHandshake) as exc:
                refused = isinstance(exc, websockets.InvalidHandshake)  # the node answered: it said no
                if refused or attempt + 1 == len(self.servers):
                    raise ClientError("ws_refused", f"the WebSocket was refused: {exc}") from None
                self.next_server()
        raise AssertionError("unreachable")


class Socket:
    """A WebSocket with request/answer matching by "ref" and a queue of everything else the server pushes."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self._refs = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.pushed: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                frame = json.loads(text)
                ref = frame.get("ref")
                waiter = self._waiting.pop(ref, None) if ref is not None else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
                else:
                    self.pushed.put_nowait(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_exception(ClientError("disconnected", "the connection closed"))
            self.pushed.put_nowait({"t": "closed"})

    async def request(self, frame: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        ref = f"r{next(self._refs)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        await self.ws.send(json.dumps({**frame, "ref": ref}))
        answer = await asyncio.wait_for(future, timeout)
        if answer.get("t") == "error":
            raise ClientError(answer.get("code", "error"), answer.get("message", ""), retry=bool(answer.get("retry")))
        return answer

    async def close(self) -> None:
        await self.ws.close()
        await self._reader
