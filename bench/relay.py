"""Relay benchmark: how many encrypted messages the server persists and delivers, how fast, and what an
idle connection costs it.

It seeds a fresh data folder (the demo plus N citizens, N caseworkers and N cases, case i assigned to
caseworker i), starts `samtal serve --demo` on a free loopback port, signs every bench user in through the
ordinary client (web.client.session.ClientSession: demo login, device registration, keys from the demo key
steward), and then runs three phases:

  idle        server RSS before and after opening M idle authenticated WebSockets (one device, M times);
  throughput  every citizen sends as fast as the server acknowledges, at most --in-flight unacknowledged
              per pair, for --duration seconds;
  latency     --rate messages/s in total, paced evenly over the pairs, for --duration seconds.

A message counts as persisted and delivered once its sender has the ack (sent after the commit) and the
assigned caseworker's socket has the msg frame. Latency is the msg frame's arrival minus the moment the
send frame was written, on one clock (time.perf_counter) in this process. Envelopes are sealed before
the timed phases so that the client's crypto is not measured; the server still parses and verifies every
Ed25519 signature and commits every message (synchronous=FULL unless --synchronous says otherwise).

This process shares the machine with the server: its CPU seconds are reported next to the server's.
Prints one JSON line on stdout; progress goes to stderr. Benchmark figures, never test thresholds."""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
if __package__ in (None, "") and str(REPO) not in sys.path:  # run as `python bench/relay.py`
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import psutil  # noqa: E402

from chat import demo  # noqa: E402
from chat.model import Case, Role, User  # noqa: E402
from chat.storage import engines  # noqa: E402
from crypto.encoding import b64u  # noqa: E402
from web.client.session import ClientSession  # noqa: E402
from web.client.transport import ClientError, Socket  # noqa: E402

T = TypeVar("T")

# The targets for this 2-core machine, reported beside the figures (never asserted anywhere).
TARGETS = {"msgs_per_s_min": 3000, "p99_ms_max_at_1000_per_s": 50, "server_kb_per_idle_connection_max": 40}
UNLIMITED = "100000"  # SAMTAL_SEND_RATE / SAMTAL_SEND_BURST: the per-connection limit must not throttle us
SETUP_CONCURRENCY = 20  # pairs signing in at once; the steward hands out keys one device at a time
SOCKET_BATCH = 100  # WebSockets opened at once
# Envelopes sealed ahead for the throughput phase, as if the server could take this many per second;
# if it takes more, the rest are sealed during the phase (counted as sealed_in_phase).
PRESEAL_RATE = 5000
SIGN_IN_TRIES = 5
STARTUP_SECONDS = 120.0  # on a loaded machine a server has taken more than 30 s to start
PAIR_SETUP_SECONDS = 180.0  # a loaded machine: the demo steward grants keys to every device in turn
DRAIN_SECONDS = 15.0
IDLE_SETTLE_SECONDS = 2.0
TEXT = "Hej! Jag har skickat in kontoutdragen för mars och hyresavin. Hälsningar, meddelande nr {}"

_quiet = False


def progress(text: str) -> None:
    if not _quiet:
        print(f"[relay] {text}", file=sys.stderr, flush=True)


# -- small helpers -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit(wanted: int) -> int:
    """Thousands of sockets, on both ends; the server inherits the raised limit from this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(max(soft, wanted), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                      if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


def percentiles_ms(seconds: list[float]) -> dict[str, float | None]:
    ordered = sorted(seconds)

    def at(q: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else None
    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


async def bounded_gather(items: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await at most `limit` of `items` at a time, keeping their order. If one fails, the others are
    cancelled (a task group), so nothing keeps writing into a data folder that is being removed."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Awaitable[T]) -> T:
        async with gate:
            return await item
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(i)) for i in items]
    return [task.result() for task in tasks]


# -- the server --------------------------------------------------------------------------------------
def bench_ids(i: int) -> tuple[str, str, str]:
    """(citizen, caseworker, case) ids of pair i."""
    return f"bench-citizen-{i}", f"bench-cw-{i}", f"bench-case-{i}"


async def seed(database: Path | str, pairs: int) -> None:
    """The demo, and the bench's users and cases, written before the server opens the database."""
    store = engines.make_store(database)
    await store.open()
    try:
        await demo.seed(store)
        for i in range(pairs):
            citizen, caseworker, case_id = bench_ids(i)
            await store.add_user(User(citizen, citizen, f"Bench invånare {i}", Role.CITIZEN, None))
            await store.add_user(User(caseworker, caseworker, f"Bench handläggare {i}", Role.CASEWORKER,
                                      demo.UNIT.id))
            await store.add_case(Case(case_id, demo.UNIT.id, citizen, caseworker, "Bench-ärende", "open",
                                      int(time.time() * 1000)))
    finally:
        await store.close()


class Server:
    """`samtal serve --demo` as a child process; its demo key steward is its own child."""

    def __init__(self, data_dir: Path, synchronous: str, database: Path | str, bus: str = "",
                 steward: bool = True, public_url: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Several nodes are one installation with one public address (behind a proxy): it names the demo
        # e-identification's issuer, which the citizen devices' proofs from every node must carry.
        self.public_url = public_url or self.url
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "server.log"
        env = {**os.environ, "SAMTAL_SEND_RATE": UNLIMITED, "SAMTAL_SEND_BURST": UNLIMITED,
               "SAMTAL_MAX_SOCKETS_PER_DEVICE": UNLIMITED, "SAMTAL_MAX_SOCKETS_PER_ACCOUNT": UNLIMITED,
               "SAMTAL_SQLITE_SYNCHRONOUS": synchronous, "SAMTAL_BUS_URL": bus,
               "SAMTAL_DEMO_STEWARD": "1" if steward else "0", "SAMTAL_PUBLIC_URL": self.public_url,
               "SAMTAL_DATABASE_URL": database if isinstance(database, str) else ""}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "serve", "--demo", "--data-dir", str(data_dir),
                 "--port", str(self.port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.process = psutil.Process(self.proc.pid)
        self.steward: psutil.Process | None = None

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}: {self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        self.steward = next(iter(self.process.children()), None)
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz in {STARTUP_SECONDS:.0f} s: {self.log_tail()}")

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM to the server, which stops its steward; SIGKILL to whichever of them is still running."""
        procs = [p for p in (self.process, self.steward) if p is not None]
        with contextlib.suppress(psutil.Error):
            self.process.terminate()
        _, alive = psutil.wait_procs(procs, timeout=15)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        self.proc.poll()  # the Popen learns that its process is gone


class CpuMeter:
    """CPU seconds (user + system, all threads) of the server, its steward and this process, and of
    everything else on the machine: other load there makes the figures worse and must be visible."""

    def __init__(self, server: Server, others: list[Server] | None = None) -> None:
        self.procs = {"server": server.process, "bench_client": psutil.Process()}
        for i, other in enumerate(others or [], start=2):  # --nodes: each node apart
            self.procs[f"server_node{i}"] = other.process
        if server.steward is not None:
            self.procs["steward"] = server.steward

    def snapshot(self) -> dict[str, float]:
        out = {}
        for name, proc in self.procs.items():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                out[name] = times.user + times.system
        machine = psutil.cpu_times()
        out["machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return out

    def since(self, before: dict[str, float], wall: float) -> dict[str, dict[str, float]]:
        now = self.snapshot()
        used = {name: now[name] - before[name] for name in now if name in before}
        used["other_processes"] = max(0.0, used.pop("machine") - sum(used.values()))
        return {name: {"cpu_s": round(cpu, 2), "cores": round(cpu / wall, 2)} for name, cpu in used.items()}


# -- messages in flight --------------------------------------------------------------------------------
@dataclass
class Tracker:
    """One phase's messages: when each was sent, acknowledged and delivered."""

    sent: dict[str, float] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)  # seconds, send -> msg frame
    completed_at: list[float] = field(default_factory=list)  # both ack and delivery are in
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    sealed_in_phase: int = 0

    def on_send(self, msg_id: str) -> None:
        self.sent[msg_id] = time.perf_counter()

    def on_ack(self, msg_id: str) -> bool:
        if msg_id not in self.sent:
            return False  # a straggler from an earlier phase
        self.acked.add(msg_id)
        if msg_id in self.delivered:
            self.completed_at.append(time.perf_counter())
        return True

    def on_deliver(self, msg_id: str) -> None:
        now = time.perf_counter()
        sent = self.sent.get(msg_id)
        if sent is None:
            return
        self.delivered.add(msg_id)
        self.latencies.append(now - sent)
        if msg_id in self.acked:
            self.completed_at.append(now)

    def on_error(self, frame: dict[str, Any]) -> bool:
        self.errors[str(frame.get("code"))] += 1
        return frame.get("ref") in self.sent

    def settled(self) -> bool:
        return len(self.completed_at) + sum(self.errors.values()) >= len(self.sent)

    async def drain(self) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while not self.settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def summary(self, start: float, end: float) -> dict[str, Any]:
        in_window = sum(1 for t in self.completed_at if start <= t <= end)
        return {"sent": len(self.sent), "persisted_and_delivered": len(self.completed_at),
                "msgs_per_s": round(in_window / (end - start), 1), "latency_ms": percentiles_ms(self.latencies),
                "errors": dict(self.errors), "unsettled": len(self.sent) - len(self.completed_at)
                - sum(self.errors.values()), "sealed_in_phase": self.sealed_in_phase}


# -- the pairs ---------------------------------------------------------------------------------------------
@dataclass
class Pair:
    """A citizen who sends and the assigned caseworker who receives, on one case."""

    citizen: ClientSession
    caseworker: ClientSession
    case: dict[str, Any]
    sealed: collections.deque[tuple[str, str]] = field(default_factory=collections.deque)
    sender: Socket | None = None
    receiver: Socket | None = None
    window: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    count: int = 0
    sign_in_retries: int = 0

    async def seal(self, n: int) -> None:
        for _ in range(n):
            self.count += 1
            msg_id, env = await self.citizen.seal(self.case, TEXT.format(self.count))
            frame = json.dumps({"t": "send", "ref": msg_id, "env": b64u(env)}, separators=(",", ":"))
            self.sealed.append((msg_id, frame))

    async def send(self, tracker: Tracker) -> None:
        if not self.sealed:
            tracker.sealed_in_phase += 1
            await self.seal(1)
        msg_id, frame = self.sealed.popleft()
        tracker.on_send(msg_id)
        assert self.sender is not None
        await self.sender.ws.send(frame)


async def sign_in(session: ClientSession) -> int:
    """Demo login and device registration; returns how many tries were refused as not signed in.

    Why retry: under concurrent reads the server can answer 401 just after a successful login (its
    shared SQLite reader connection still reads an older snapshot; see docs/benchmarks.md)."""
    for attempt in range(SIGN_IN_TRIES):
        try:
            await session.start()
            return attempt
        except ClientError as error:
            if error.code != "not_signed_in" or attempt == SIGN_IN_TRIES - 1:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


async def join_pair(urls: list[str], keys_dir: Path, i: int) -> Pair:
    """Sign both users in, register their devices and wait until each holds the case key. With several nodes,
    pair i's citizen is on node i and its caseworker on the next one, so every message crosses the bus."""
    citizen_name, caseworker_name, case_id = bench_ids(i)
    sessions = [ClientSession(urls[(i + side) % len(urls)], keys_dir, name)
                for side, name in enumerate((citizen_name, caseworker_name))]
    retries = 0
    try:
        async with asyncio.timeout(PAIR_SETUP_SECONDS):
            cases = []
            for session in sessions:
                retries += await sign_in(session)
                cases.append(await session.case(case_id))
                while True:  # the client waits 20 s at a time; a loaded machine's steward can take longer
                    try:
                        await session.case_key(cases[-1])
                        break
                    except ClientError as error:
                        if error.code != "no_key":
                            raise
    except BaseException:
        for session in sessions:
            await session.close()
        raise
    return Pair(sessions[0], sessions[1], cases[0], sign_in_retries=retries)


class Bench:
    """The pairs' sockets and the tracker that their frames are counted in."""

    def __init__(self, pairs: list[Pair], data_dir: Path, database: Path | str) -> None:
        self.database = database
        self.pairs = pairs
        self.data_dir = data_dir
        self.tracker = Tracker()
        self.readers: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        async def connect_pair(pair: Pair) -> None:
            pair.sender = await pair.citizen.transport.open_socket()
            pair.receiver = await pair.caseworker.transport.open_socket()
            self.readers.append(asyncio.create_task(self._read(pair.sender, lambda f: self._on_sender(pair, f))))
            self.readers.append(asyncio.create_task(self._read(pair.receiver, self._on_receiver)))
        await bounded_gather((connect_pair(p) for p in self.pairs), SOCKET_BATCH // 2)

    @staticmethod
    async def _read(sock: Socket, handle: Callable[[dict[str, Any]], None]) -> None:
        while (frame := await sock.pushed.get()).get("t") != "closed":
            handle(frame)

    def _on_sender(self, pair: Pair, frame: dict[str, Any]) -> None:
        kind = frame.get("t")
        answered = self.tracker.on_ack(frame["msg_id"]) if kind == "ack" else (
            self.tracker.on_error(frame) if kind == "error" else False)
        if answered:  # only this phase's sends hold a place in the window
            pair.window.release()

    def _on_receiver(self, frame: dict[str, Any]) -> None:
        if frame.get("t") == "msg":
            self.tracker.on_deliver(frame["msg_id"])

    def new_phase(self, in_flight: int) -> Tracker:
        self.tracker = Tracker()
        for pair in self.pairs:
            pair.window = asyncio.Semaphore(in_flight)
        return self.tracker

    async def close(self) -> None:
        socks = [s for p in self.pairs for s in (p.sender, p.receiver) if s is not None]
        await close_sockets(socks)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


async def close_sockets(socks: list[Socket]) -> None:
    async def close(sock: Socket) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sock.close(), 5)
    await bounded_gather((close(s) for s in socks), SOCKET_BATCH)


# -- phases ------------------------------------------------------------------------------------------------
async def timed(meter: CpuMeter, tracker: Tracker, run: Callable[[], Awaitable[None]],
                database: Path | str) -> dict[str, Any]:
    """Run a sending phase, wait for its stragglers, and summarise it with the CPU each process used
    and the sizes of the server's commit batches. The server's append costs grow with the messages
    table (see docs/benchmarks.md), so the table's size at the start is part of the result."""
    rows = read_db(database, "SELECT count(*) FROM messages")[0][0]
    before = meter.snapshot()
    start, start_ms = time.perf_counter(), int(time.time() * 1000)
    await run()
    end = time.perf_counter()
    await tracker.drain()
    result = tracker.summary(start, end)
    result["window_s"] = round(end - start, 2)
    result["cpu"] = meter.since(before, time.perf_counter() - start)
    result["commits"] = commit_batches(database, start_ms)
    result["stored_messages_at_start"] = rows
    return result


async def throughput_phase(bench: Bench, meter: CpuMeter, duration: float, in_flight: int) -> dict[str, Any]:
    tracker = bench.new_phase(in_flight)
    deadline = asyncio.get_running_loop().time() + duration

    async def pump(pair: Pair) -> None:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    await pair.window.acquire()
            except TimeoutError:
                return
            await pair.send(tracker)

    async def run() -> None:
        await asyncio.gather(*(pump(p) for p in bench.pairs))
    return await timed(meter, tracker, run, bench.database)


async def latency_phase(bench: Bench, meter: CpuMeter, duration: float, rate: float) -> dict[str, Any]:
    """Open loop: message k goes out at k / rate seconds, to pair k mod N, whether or not earlier ones
    were answered. How late the sends left is reported as pacing_lag_ms (this process keeping up)."""
    tracker = bench.new_phase(1)
    total = int(duration * rate)
    lags: list[float] = []

    async def run() -> None:
        start = time.perf_counter()
        for k in range(total):
            due = start + k / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            lags.append(max(0.0, time.perf_counter() - due))
            await bench.pairs[k % len(bench.pairs)].send(tracker)
    result = await timed(meter, tracker, run, bench.database)
    result["target_rate"] = rate
    result["pacing_lag_ms"] = percentiles_ms(lags)
    return result


async def idle_phase(server: Server, meter: CpuMeter, idle: ClientSession,
                     count: int) -> tuple[dict[str, Any], list[Socket]]:
    """Server RSS before and after `count` authenticated, idle WebSockets of one device; the sockets
    stay open (and idle) through the later phases."""
    before_cpu = meter.snapshot()
    start = time.perf_counter()
    rss_before = server.rss()

    async def open_one() -> Socket | None:
        with contextlib.suppress(Exception):
            return await idle.transport.open_socket()
        return None
    opened = await bounded_gather((open_one() for _ in range(count)), SOCKET_BATCH)
    socks = [s for s in opened if s is not None]
    open_s = time.perf_counter() - start
    await asyncio.sleep(IDLE_SETTLE_SECONDS)
    rss_after = server.rss()
    per = (rss_after - rss_before) / len(socks) if socks else None
    return {"connections": len(socks), "refused": count - len(socks), "open_s": round(open_s, 2),
            "server_rss_before_mb": round(rss_before / 2**20, 1), "server_rss_after_mb": round(rss_after / 2**20, 1),
            "server_bytes_per_connection": None if per is None else round(per),
            "server_kb_per_connection": None if per is None else round(per / 1000, 1),
            "cpu": meter.since(before_cpu, time.perf_counter() - start)}, socks


# -- the run ---------------------------------------------------------------------------------------------------
def read_db(database: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Read the server's database beside it (read-only; WAL lets us read while it writes)."""
    if isinstance(database, str):
        import psycopg

        with psycopg.connect(database, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def commit_batches(database: Path | str, since_ms: int) -> dict[str, Any]:
    """One append batch is one commit, and its messages share one stored_at (two batches in the same
    millisecond count as one, so this slightly overstates the batch size)."""
    sizes = [n for (n,) in read_db(database, "SELECT count(*) FROM messages WHERE stored_at >= ? GROUP BY stored_at",
                                   (since_ms,))]
    return {"batches": len(sizes), "mean_batch": round(sum(sizes) / len(sizes), 1) if sizes else None,
            "max_batch": max(sizes, default=None)}


async def setup_pairs(servers: list[Server], keys_dir: Path, count: int) -> tuple[list[Pair], dict[str, Any]]:
    progress(f"signing in {count} citizen/caseworker pairs and waiting for their keys")
    start = time.perf_counter()
    pairs = await bounded_gather((join_pair([s.url for s in servers], keys_dir, i) for i in range(count)),
                                 SETUP_CONCURRENCY)
    elapsed = time.perf_counter() - start
    progress(f"pairs ready in {elapsed:.1f} s")
    return pairs, {"pairs_ready_s": round(elapsed, 1), "sign_in_retries": sum(p.sign_in_retries for p in pairs)}


async def preseal(pairs: list[Pair], args: argparse.Namespace) -> float:
    start = time.perf_counter()
    per_pair = int((PRESEAL_RATE + args.rate) * args.duration / len(pairs)) + 1
    progress(f"sealing {per_pair * len(pairs)} envelopes ahead of the timed phases")
    for pair in pairs:
        await pair.seal(per_pair)
        await asyncio.sleep(0)  # let sockets answer pings
    return time.perf_counter() - start


def fresh_postgres(server: str) -> tuple[str, Callable[[], None]]:
    """A database of the bench's own on the PostgreSQL server (made now, dropped by the returned function)."""
    import secrets
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"samtal_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(urlsplit(server)._replace(path=f"/{name}")), drop


async def run(args: argparse.Namespace, data_dir: Path, result: dict[str, Any]) -> None:
    database: Path | str = data_dir / "samtal.sqlite3"
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if args.database:
        database, drop = fresh_postgres(args.database)
    try:
        await run_on(args, data_dir, database, result)
    finally:
        drop()


async def run_on(args: argparse.Namespace, data_dir: Path, database: Path | str, result: dict[str, Any]) -> None:
    await seed(database, args.pairs)
    bus = args.bus if args.nodes > 1 else ""
    server = Server(data_dir / "node1" if args.nodes > 1 else data_dir, args.synchronous, database, bus)
    servers = [server]
    sessions: list[ClientSession] = []
    bench: Bench | None = None
    idle_socks: list[Socket] = []
    try:
        await server.wait_ready()
        progress(f"server pid {server.process.pid} on {server.url}")
        for i in range(2, args.nodes + 1):  # the others with the first node's key files (docs/operations.md)
            folder = data_dir / f"node{i}"
            folder.mkdir()
            for item in (data_dir / "node1").iterdir():
                if item.is_file() and item.suffix in (".key", ".json"):
                    shutil.copy2(item, folder / item.name)
            servers.append(Server(folder, args.synchronous, database, bus, steward=False,
                                  public_url=server.public_url))
            await servers[-1].wait_ready()
            progress(f"node {i} pid {servers[-1].process.pid} on {servers[-1].url}")
        pairs, result["setup"] = await setup_pairs(servers, data_dir / "clients", args.pairs)
        sessions += [s for p in pairs for s in (p.citizen, p.caseworker)]
        idle = ClientSession(server.url, data_dir / "clients", "dana")
        sessions.append(idle)
        await sign_in(idle)
        result["setup"]["preseal_s"] = round(await preseal(pairs, args), 1)
        meter = CpuMeter(server, servers[1:])
        bench = Bench(pairs, data_dir, database)
        await bench.connect()
        progress(f"opening {args.idle} idle connections")
        result["idle"], idle_socks = await idle_phase(server, meter, idle, args.idle)
        progress(f"throughput: {args.duration:.0f} s, at most {args.in_flight} in flight per pair")
        result["throughput"] = await throughput_phase(bench, meter, args.duration, args.in_flight)
        progress(f"latency: {args.rate:.0f} msg/s for {args.duration:.0f} s")
        result["latency"] = await latency_phase(bench, meter, args.duration, args.rate)
        result["stored_messages"] = read_db(database, "SELECT count(*) FROM messages")[0][0]
        result["server_rss_end_mb"] = round(server.rss() / 2**20, 1)
    except BaseException:
        progress(f"failed; the server's log ends with:\n{server.log_tail()}")
        raise
    finally:
        if bench is not None:
            await bench.close()
        await close_sockets(idle_socks)
        for each in servers:
            each.stop()
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's three figures, and whether each target is met."""
    rate = result["throughput"]["msgs_per_s"]
    p99 = result["latency"]["latency_ms"]["p99"]
    kb = result["idle"]["server_kb_per_connection"]
    met = {"msgs_per_s": rate >= TARGETS["msgs_per_s_min"],
           "p99_ms": p99 is not None and p99 < TARGETS["p99_ms_max_at_1000_per_s"],
           "kb_per_idle_connection": kb is not None and kb < TARGETS["server_kb_per_idle_connection_max"]}
    return {"msgs_per_s": rate, **{k: result["latency"]["latency_ms"][k] for k in ("p50", "p95", "p99")},
            "server_kb_per_idle_connection": kb, "targets_met": met, "targets": TARGETS}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Prints one JSON line on "
                                     "stdout; progress on stderr. See docs/benchmarks.md.")
    parser.add_argument("--pairs", type=int, default=100, help="citizen/caseworker pairs (default 100)")
    parser.add_argument("--idle", type=int, default=2000, help="idle connections (default 2000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed phase (default 10)")
    parser.add_argument("--rate", type=float, default=1000.0, help="messages/s in the latency phase (default 1000)")
    parser.add_argument("--in-flight", type=int, default=32, help="unacknowledged sends per pair in the "
                        "throughput phase (default 32)")
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL", "EXTRA"],
                        help="SQLite synchronous setting for the server (default FULL, the server's default)")
    parser.add_argument("--database", help="a PostgreSQL server (postgresql://USER@HOST:5432/postgres): the bench "
                        "makes a database of its own there and drops it afterwards (default: SQLite in a "
                        "temporary data folder)")
    parser.add_argument("--nodes", type=int, default=1, help="server processes (nodes) on the one database, woken "
                        "through --bus; each pair's citizen and caseworker on different nodes (needs --database)")
    parser.add_argument("--bus", default="nats://127.0.0.1:4222", help="the bus for --nodes above 1 (default "
                        "nats://127.0.0.1:4222)")
    parser.add_argument("--json-only", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.idle < 0 or args.duration <= 0 or args.rate <= 0 or args.in_flight < 1:
        parser.error("--pairs and --in-flight must be at least 1, --duration and --rate positive, --idle >= 0")
    if args.nodes < 1 or (args.nodes > 1 and not args.database):
        parser.error("--nodes is at least 1; several nodes share one PostgreSQL database (--database)")
    return args


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    fd_limit = raise_fd_limit(2 * (args.idle + 2 * args.pairs) + 1024)
    result: dict[str, Any] = {"bench": "relay", "git": git_commit(), "machine": machine(), "fd_limit": fd_limit,
                              "params": {k: getattr(args, k) for k in ("pairs", "idle", "duration", "rate",
                                                                         "in_flight", "synchronous", "nodes")},
                              "engine": "postgresql" if args.database else "sqlite",
                              "note": "the bench client runs on the same machine and shares its cores with "
                                      "the server; see the cpu figures of each phase"}
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="samtal-bench-"))
    try:
        await run(args, data_dir, result)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - started, 1)
    return {**headline(result), **result}


def main(argv: list[str] | None = None) -> int:
    global _quiet
    args = parse_args(argv)
    _quiet = args.json_only
    try:
        import uvloop
    except ImportError:  # the server uses it too when it is there; without it both run slower
        result = asyncio.run(amain(args))
    else:
        result = uvloop.run(amain(args))
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
