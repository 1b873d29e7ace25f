"""Following cases across reconnects: the last seq held per case, and the database generation those seqs
belong to (docs/protocol.md §14.3).

A seq only means something within one database. After a restore the server hands out again seq numbers a
client already holds, so a client that resumed from its old cursor got none of the new messages and no sign
of trouble. The server names its generation in `hello`; when it differs from the one the cursors were taken
under, they are dropped and each case is fetched afresh."""
from __future__ import annotations

import asyncio
from typing import Any

from web.client.session import ClientSession, ReadMessage
from web.client.transport import ClientError, Socket

HELLO_SECONDS = 15.0


class Follower:
    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.cursors: dict[str, int] = {}  # case id -> the last seq held
        self.generation: str | None = None  # the database generation the cursors belong to
        self.resynced = 0  # how many times the cursors were dropped for a new generation
        self._cases: dict[str, dict[str, Any]] = {}

    async def follow(self, case_id: str) -> None:
        self._cases[case_id] = await self.session.case(case_id)
        self.cursors.setdefault(case_id, 0)

    async def connect(self) -> tuple[Socket, list[ReadMessage]]:
        """Open a socket and catch up: everything after the cursors, or, when the server's generation is
        not the cursors', every case afresh. Returns the socket (live messages follow on it) and what was
        missed, in order."""
        socket = await self.session.transport.open_socket()
        hello = await asyncio.wait_for(self._hello(socket), HELLO_SECONDS)
        generation = hello["generation"]
        if self.generation is not None and generation != self.generation:
            self.cursors = dict.fromkeys(self.cursors, 0)  # those seqs belong to another history
            self.resynced += 1
        self.generation = generation
        missed: list[ReadMessage] = []
        asking = dict(self.cursors)
        while asking:
            answer = await socket.request({"t": "resume", "cursors": asking, "generation": generation})
            missed += await self._drain(socket)  # the replay came before the answer, in seq order
            asking = {case_id: self.cursors[case_id] for case_id in answer.get("more", [])}
        return socket, missed

    @staticmethod
    async def _hello(socket: Socket) -> dict[str, Any]:
        while True:
            frame = await socket.pushed.get()
            if frame.get("t") == "hello":
                return frame
            if frame.get("t") == "closed":
                raise ClientError("disconnected", "the connection closed before hello")

    async def _drain(self, socket: Socket) -> list[ReadMessage]:
        """Open the msg frames queued so far; other frames stay queued, in their order."""
        out: list[ReadMessage] = []
        others: list[dict[str, Any]] = []
        while not socket.pushed.empty():
            frame = socket.pushed.get_nowait()
            if frame.get("t") == "msg" and frame["case_id"] in self._cases:
                if frame["seq"] > self.cursors.get(frame["case_id"], 0):
                    out.append(await self.received(frame))
            else:
                others.append(frame)
        for frame in others:
            socket.pushed.put_nowait(frame)
        return out

    async def received(self, frame: dict[str, Any]) -> ReadMessage:
        """Open a pushed msg frame and move its case's cursor."""
        message = await self.session.open(self._cases[frame["case_id"]], frame)
        self.cursors[frame["case_id"]] = max(self.cursors.get(frame["case_id"], 0), frame["seq"])
        return message
