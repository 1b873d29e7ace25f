"""Several Samtal nodes for the tests: real `samtal serve` processes on loopback ports, one PostgreSQL database
(tests/engines.py: a fresh schema per cluster) and a bus of the test's own (a nats-server or redis-server
process on a free loopback port, so that a test may stop and restart it without touching the machine's)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crypto.encoding import b64u
from tests import engines
from tests.conftest import RunningServer, free_port, start_server, stop_server
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.waiting import eventually, eventually_blocking
from web.client.session import ClientSession
from web.client.transport import ClientError, Socket

# What a node's data folder holds that every node of one installation must share (the key transparency log's
# key, the audit witness's key, ...): copied from the first node's folder, as deploy/README.md says.
NOT_SHARED = {"samtal.sqlite3", "samtal.sqlite3-wal", "samtal.sqlite3-shm", ".lock", "steward"}


@dataclass
class Broker:
    kind: str  # "nats" or "redis"
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{self.kind}://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("nats-server" if self.kind == "nats" else "redis-server")
        if binary is None:
            pytest.skip(f"no {self.kind} server binary on this machine")
        args = [binary, "-a", "127.0.0.1", "-p", str(self.port)] if self.kind == "nats" else \
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT)
        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0
        try:
            eventually_blocking(listening, within=30)
        except AssertionError:
            raise RuntimeError(f"the {self.kind} server did not start") from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@dataclass
class Cluster:
    database: str
    broker: Broker
    nodes: list[RunningServer] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # every node's environment

    def restart(self, index: int) -> None:
        """Stop a node (SIGTERM: it drains) and start it again on its port, as an operator's restart does."""
        node = self.nodes[index]
        stop_server(node)
        port = int(node.url.rsplit(":", 1)[1])
        steward = {} if index == 0 else {"SAMTAL_DEMO_STEWARD": "0"}
        self.nodes[index] = start_server(node.data_dir.parent, port, **self.env, **steward)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def logs(self) -> str:
        return "\n".join(node.log_text() for node in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                stop_server(node)
        self.broker.stop()


def start_cluster(tmp: Path, count: int = 3, kind: str = "nats", database: str | None = None,
                  **env: str) -> Cluster:
    """`count` demo nodes on one PostgreSQL database (by default a fresh schema of the machine's server) and one
    bus; the first runs the demo key steward."""
    database = database or engines.postgres_url()
    broker = Broker(kind, free_port(), tmp / f"{kind}.log")
    broker.start()
    cluster = Cluster(database, broker)
    try:
        # One public address for every node, as behind a load balancer: it names the demo e-identification's
        # issuer, which a citizen's device proof from any node must carry (web/device_proof.py).
        port = free_port()
        common = {"SAMTAL_DATABASE_URL": database, "SAMTAL_BUS_URL": broker.url,
                  "SAMTAL_PUBLIC_URL": f"http://127.0.0.1:{port}", **env}
        cluster.env = common
        (tmp / "node1").mkdir(parents=True, exist_ok=True)
        cluster.nodes.append(start_server(tmp / "node1", port, **common))
        first = cluster.nodes[0].data_dir
        for index in range(2, count + 1):
            folder = tmp / f"node{index}" / "server"
            folder.mkdir(parents=True)
            for item in first.iterdir():
                if item.is_file() and item.name not in NOT_SHARED:
                    shutil.copy2(item, folder / item.name)
            cluster.nodes.append(start_server(tmp / f"node{index}", SAMTAL_DEMO_STEWARD="0", **common))
    except BaseException:
        cluster.stop()
        raise
    return cluster


class Follower:
    """One person's client on the nodes: follows some cases live, sends its part of a burst, and when its node
    closes the socket or dies, moves to the next node, resumes from the last seq it has and sends again what was
    not acknowledged (the same envelopes: the server stores each msg_id once).

    What it has is taken in seq order: a frame that comes before its turn waits for the ones before it (an ack of
    its own message, a replay); one already had is counted as `repeats` while a resume is under way and as
    `out_of_order` after (sent twice on a live socket). Nothing lost: `delivered` ends up as every stored seq."""

    def __init__(self, session: ClientSession, cases: list[str], after: dict[str, int] | None = None) -> None:
        self.session = session
        self.cursors = {case: (after or {}).get(case, 0) for case in cases}
        self.start_after = dict(self.cursors)  # followed from here on
        self.delivered: dict[str, list[int]] = {case: [] for case in cases}
        self.acked: dict[str, int] = {}  # msg_id -> seq
        self.repeats = self.out_of_order = self.reconnects = 0
        self.socket: Socket | None = None
        self.live = asyncio.Event()  # set while a resumed socket is open
        self.closing = False
        self.close_codes: list[int | None] = []
        self.refusals: dict[str, int] = {}  # error frames answering a send, by code (storage_unavailable, ...)
        self._early: dict[str, dict[int, int]] = {case: {} for case in cases}
        self._resumed = False
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._follow())
        await asyncio.wait_for(self.live.wait(), 120)

    async def _connect(self) -> Socket:
        async def attempt() -> Socket:  # a node just killed may still be counted (and refused) for a moment
            try:
                return await self.session.transport.open_socket()
            except ClientError:
                self.session.transport.next_server()
                raise
        return await eventually(attempt, within=30, retrying=(ClientError,), what="a node taking the socket")

    async def _follow(self) -> None:
        while not self.closing:
            socket = self.socket = await self._connect()
            self._resumed = False
            resume: asyncio.Task | None = asyncio.create_task(
                socket.request({"t": "resume", "cursors": dict(self.cursors)}, timeout=60))
            closed = False
            while not closed:
                pushed = asyncio.ensure_future(socket.pushed.get())
                await asyncio.wait({pushed} | ({resume} if resume is not None else set()),
                                   return_when=asyncio.FIRST_COMPLETED)
                frames = [pushed.result()] if pushed.done() else []
                pushed.cancel()
                if resume is not None and resume.done():
                    while not socket.pushed.empty():  # the replay came before the answer
                        frames.append(socket.pushed.get_nowait())
                for frame in frames:
                    if frame["t"] == "closed":
                        closed = True
                    elif frame["t"] == "msg" and frame["case_id"] in self.cursors:
                        self._take(frame["case_id"], frame["seq"])
                if resume is not None and resume.done():
                    ok = resume.exception() is None
                    resume = None
                    if ok and not closed:
                        self._resumed = True
                        self.live.set()
            self.live.clear()
            self.close_codes.append(socket.ws.close_code)
            if resume is not None:
                resume.cancel()
            if not self.closing:
                self.reconnects += 1
                self.session.transport.next_server()

    def _take(self, case_id: str, seq: int, own: bool = False) -> None:
        """A message had: pushed, or (`own`) this person's own, known from its ack (a connection is not sent
        back what it sent). Pushes and acks travel apart, so a message may come before its turn: it waits."""
        cursor = self.cursors[case_id]
        if seq <= cursor or seq in self._early[case_id]:
            if own:
                pass  # the ack of a resent message, or of one a resume already replayed
            elif self._resumed:
                self.out_of_order += 1  # sent twice on a resumed socket
            else:
                self.repeats += 1
            return
        if seq > cursor + 1:
            self._early[case_id][seq] = seq
            return
        self.delivered[case_id].append(seq)
        self.cursors[case_id] = seq
        while self.cursors[case_id] + 1 in self._early[case_id]:
            nxt = self._early[case_id].pop(self.cursors[case_id] + 1)
            self.delivered[case_id].append(nxt)
            self.cursors[case_id] = nxt

    async def send_all(self, sealed: list[tuple[str, bytes]], in_flight: int = 16) -> None:
        """Send every envelope until it is acknowledged, `in_flight` at a time."""
        gate = asyncio.Semaphore(in_flight)

        async def one(msg_id: str, env: bytes) -> None:
            async with gate:
                while msg_id not in self.acked:
                    await self.live.wait()
                    socket = self.socket
                    assert socket is not None
                    try:
                        ack = await socket.request({"t": "send", "env": b64u(env)}, timeout=30)
                    except ClientError as error:
                        # The socket closed (wait for the next one), or the node refused for now: send again.
                        self.refusals[error.code] = self.refusals.get(error.code, 0) + 1
                        await asyncio.sleep(0.05 if error.code != "storage_unavailable" else 0.5)
                        continue
                    except TimeoutError:
                        await asyncio.sleep(0.05)
                        continue
                    assert ack["msg_id"] == msg_id
                    self.acked[msg_id] = ack["seq"]
                    if ack["case_id"] in self.cursors:
                        self._take(ack["case_id"], ack["seq"], own=True)

        await asyncio.gather(*(one(msg_id, env) for msg_id, env in sealed))

    async def stop(self) -> None:
        self.closing = True
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        await self.session.close()


async def wait_for(predicate, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it holds or the bound passes (a bound on a hang, not a timing threshold); False
    then, so that the caller's own check can say what is missing."""
    try:
        return bool(await eventually(predicate, within=seconds))
    except AssertionError:
        return False


async def wait_for_async(request, status: int, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    """Poll an HTTP request until it answers `status` or the bound passes."""
    async def answered() -> bool:
        return bool((await request()).status_code == status)
    return await wait_for(answered, seconds)


def stored_messages(database: str, cases: list[str]) -> dict[str, list[tuple[int, str]]]:
    """(seq, msg_id) of every stored message of the cases, in seq order."""
    with engines.connect(database) as db:
        return {case: [(int(seq), msg_id) for seq, msg_id in db.execute(
            "SELECT seq, msg_id FROM messages WHERE case_id = ? ORDER BY seq", (case,)).fetchall()]
            for case in cases}


def audit_intact(cluster: Cluster) -> dict:  # type: ignore[type-arg]
    """`samtal audit verify` on the shared database, as an operator runs it."""
    done = subprocess.run([sys.executable, "-m", "web.cli", "audit", "verify", "--data-dir",
                           str(cluster.nodes[0].data_dir)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SAMTAL_DATABASE_URL": cluster.database})
    return json.loads(done.stdout)


async def with_case_keys(session: ClientSession, case_ids: list[str], seconds: float = 180.0) -> None:
    """Wait until the session's device holds each case's key. The client waits 20 s at a time; the demo key
    steward, granting every new device in turn on a busy machine, has taken longer."""
    deadline = time.monotonic() + seconds
    for case_id in case_ids:
        case = await session.case(case_id)
        while True:
            try:
                await session.case_key(case)
                break
            except ClientError as error:
                if error.code != "no_key" or time.monotonic() > deadline:
                    raise


# -- a burst through the nodes, counted ---------------------------------------------------------------------------
BURST = 120  # messages per sender
CASES = [CASE_DANA, CASE_ERIK]
FAST = {"SAMTAL_SEND_RATE": "100000", "SAMTAL_SEND_BURST": "100000"}


async def people(cluster, tmp_path, placement: dict[str, int]) -> dict[str, Follower]:
    """Each person signed in on their node (by index), following their cases from seq 0."""
    followers = {}
    last = {case: seqs[-1][0] if seqs else 0 for case, seqs in stored_messages(cluster.database, CASES).items()}
    for name, index in placement.items():
        index %= len(cluster.urls)  # with fewer nodes, people share them
        urls = cluster.urls[index:] + cluster.urls[:index]  # their own node first, then the others
        session = ClientSession(urls, tmp_path / "clients", name)
        await session.start()
        cases = {"dana": [CASE_DANA], "erik": [CASE_ERIK]}.get(name, CASES)
        await with_case_keys(session, cases)
        followers[name] = Follower(session, cases, last)
    for follower in followers.values():
        await follower.start()
    return followers


async def sealed_burst(followers: dict[str, Follower]) -> dict[str, list[tuple[str, bytes]]]:
    """Each person's share of the burst, sealed beforehand: the citizens in their case, anna in both."""
    burst = {}
    for name, cases in (("dana", [CASE_DANA]), ("erik", [CASE_ERIK]), ("anna", CASES)):
        session = followers[name].session
        burst[name] = [await session.seal(await session.case(case), f"{name} {i}")
                       for case in cases for i in range(BURST // len(cases))]
    return burst


def count_and_check(cluster, followers: dict[str, Follower], burst, label: str) -> None:
    stored = stored_messages(cluster.database, CASES)
    stored_ids = [msg_id for case in CASES for _, msg_id in stored[case]]
    acked = {msg_id for f in followers.values() for msg_id in f.acked}
    sent = {msg_id for share in burst.values() for msg_id, _ in share}
    lost = acked - set(stored_ids)
    twice = len(stored_ids) - len(set(stored_ids))
    print(f"\n{label}: sent {len(sent)}, acknowledged {len(acked)}, stored {len(set(stored_ids) & sent)}"
          f" (lost {len(lost)}, stored twice {twice})")
    for name, follower in followers.items():
        for case, seqs in follower.delivered.items():
            expected = [seq for seq, _ in stored[case] if seq > follower.start_after[case]]
            print(f"  {name:5} {case}: delivered {len(seqs)} of {len(expected)} in order, repeats before a resume"
                  f" {follower.repeats}, twice on a resumed socket {follower.out_of_order}, reconnects"
                  f" {follower.reconnects}")
            missing = sorted(set(expected) - set(seqs))
            assert seqs == expected, f"{name} got {case} {len(seqs)} of {len(expected)}; missing {missing[:20]}"
        assert follower.out_of_order == 0
    assert acked == sent and not lost and twice == 0
    verdict = audit_intact(cluster)
    print(f"  audit chain: intact {verdict['intact']}, rows {verdict['rows']}")
    assert verdict["intact"] is True


async def burst_through(cluster, tmp_path, disturb, label: str) -> dict[str, Follower]:
    """dana on node 1, erik and bo (who follows both cases) on node 2, anna on node 3 send their burst; once a
    quarter of erik's is acknowledged, `disturb` runs; then everything sent is counted and checked."""
    followers = await people(cluster, tmp_path, {"dana": 0, "erik": 1, "bo": 1, "anna": 2})
    try:
        burst = await sealed_burst(followers)
        sending = asyncio.gather(*(followers[name].send_all(share) for name, share in burst.items()))
        assert await wait_for(lambda: len(followers["erik"].acked) >= BURST // 4)
        await disturb()
        await asyncio.wait_for(sending, 180)
        stored = stored_messages(cluster.database, CASES)
        await wait_for(lambda: all(f.cursors[case] == len(stored[case]) for f in followers.values()
                                   for case in f.cursors))
        count_and_check(cluster, followers, burst, label)
    finally:
        for follower in followers.values():
            await follower.stop()
    return followers


@contextlib.asynccontextmanager
async def on_nodes(cluster: Cluster, tmp_path: Path, case_id: str, **placement: int) -> AsyncIterator[list[ClientSession]]:
    """People signed in on the nodes given by index (`anna=0, dana=2`), in that order, each holding the case's
    key; signed out after."""
    sessions = [ClientSession(cluster.urls[index], tmp_path / "clients", name) for name, index in placement.items()]
    try:
        for session in sessions:
            await session.start()
            await with_case_keys(session, [case_id])
        yield sessions
    finally:
        for session in sessions:
            await session.close()
