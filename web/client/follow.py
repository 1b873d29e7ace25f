"""Following cases across reconnects: the last seq held per case, and the database generation those seqs
belong to (docs/protocol.md §14.3).

A seq only means something within one database. After a restore the server hands out again seq numbers a
client already holds, so a client that resumed from its old cursor got none of the new messages and no sign
of trouble. The server names its generation in `hello`; when it differs from the one the cursors were taken
under, they are dropped and each case is fetched afresh.

Each pushed message is checked against the case's transcript (docs/protocol.md §20) as `read` checks the whole
list: a replay, a reordering or a gap in what the server pushes is flagged on the message, as it arrives."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from crypto.transcript import Memory, Walk, remember
from web.client.checks import MessageRefused, reason
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
        # Per case: the transcript as pushed so far (since seq 1 of this generation), and what the device
        # remembered of the case when it began to follow it.
        self._walks: dict[str, Walk] = {}
        self._memory: dict[str, Memory] = {}
        # Problems of a case as a whole (§20 `gone`, `own_missing`), known once it was caught up from seq 1.
        self.case_problems: dict[str, list[tuple[str, str]]] = {}

    async def follow(self, case_id: str) -> None:
        self._cases[case_id] = await self.session.case(case_id)
        self.cursors.setdefault(case_id, 0)
        self._memory.setdefault(case_id, self.session.keystore.memory(case_id))

    async def connect(self) -> tuple[Socket, list[ReadMessage]]:
        """Open a socket and catch up: everything after the cursors, or, when the server's generation is
        not the cursors', every case afresh. Returns the socket (live messages follow on it) and what was
        missed, in order."""
        socket = await self.session.transport.open_socket()
        hello = await asyncio.wait_for(self._hello(socket), HELLO_SECONDS)
        generation = hello["generation"]
        if self.generation is not None and generation != self.generation:
            self.cursors = dict.fromkeys(self.cursors, 0)  # those seqs belong to another history
            self._walks.clear()  # and so does the transcript checked so far
            self.resynced += 1
        self.generation = generation
        missed: list[ReadMessage] = []
        from_start = [case_id for case_id, seq in self.cursors.items() if seq == 0]
        asking = dict(self.cursors)
        while asking:
            answer = await socket.request({"t": "resume", "cursors": asking, "generation": generation})
            missed += await self._drain(socket)  # the replay came before the answer, in seq order
            asking = {case_id: self.cursors[case_id] for case_id in answer.get("more", [])}
        for case_id in from_start:  # the whole case was shown: what this device saw before must be in it
            walk = self._walks.get(case_id, Walk())
            self.case_problems[case_id] = [(p.code, reason(p)) for p in
                                           walk.case_problems(self._memory[case_id], self.session.device_id)]
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
        """Open a pushed msg frame, check its place in the transcript, and move its case's cursor. A message
        that fails a check is returned without a body and with the reason, as `read` shows it."""
        case_id = frame["case_id"]
        try:
            message = await self.session.open(self._cases[case_id], frame)
        except MessageRefused as refused:
            message = ReadMessage(frame["seq"], frame["msg_id"], frame["sender"], frame["sender_device"], None,
                                  frame["stored_at"], frame["stored_at"], ((refused.code, refused.reason),),
                                  checked=False)
        entry = message.entry
        if entry is not None:
            problems = self._walks.setdefault(case_id, Walk()).step(entry)
            if problems:
                message = replace(message, problems=message.problems + tuple((p.code, reason(p)) for p in problems))
            keystore = self.session.keystore
            keystore.remember(case_id, remember([entry], keystore.memory(case_id), self.session.device_id))
        self.cursors[case_id] = max(self.cursors.get(case_id, 0), frame["seq"])
        return message
