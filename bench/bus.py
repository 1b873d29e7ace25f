"""NATS against Redis as Samtal's bus, through chat/messaging/bus.py as the server uses it: three nodes on one
subject, one publishing wake-ups the size of Samtal's (about 150 bytes of JSON), the other two receiving.

    .venv/bin/python -m bench.bus [--count 20000] [--rate 1000]

Throughput: how fast both receivers have all of a burst of --count wake-ups. Latency: publish to receipt at a
steady --rate, p50/p99/max over 3 s. Both brokers run on this machine (127.0.0.1:4222 and 127.0.0.1:6379)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

from chat.messaging.bus import open_bus

URLS = {"nats": "nats://127.0.0.1:4222", "redis": "redis://127.0.0.1:6379"}


def wake(i: int) -> bytes:
    return json.dumps({"k": "msg", "n": "a1b2c3d4", "i": i, "c": "eb-2026-000123", "s": i,
                       "u": ["u-3f1c2a9e7b", "u-9a8b7c6d5e"], "at": time.perf_counter()}).encode()


async def run(kind: str, count: int, rate: int) -> dict[str, float]:
    subject = f"bench.{os.getpid()}"
    nodes = [open_bus(URLS[kind], subject) for _ in range(3)]
    received = [0, 0]
    latencies: list[float] = []
    done = asyncio.Event()
    target = [count]

    def receiver(index: int):  # type: ignore[no-untyped-def]
        def on_message(data: bytes) -> None:
            received[index] += 1
            if index == 0 and latencies is not None:
                latencies.append(time.perf_counter() - json.loads(data)["at"])
            if min(received) >= target[0]:
                done.set()
        return on_message

    await nodes[0].start(lambda data: None, lambda up: None)
    for index, node in enumerate(nodes[1:]):
        await node.start(receiver(index), lambda up: None)
    while not all(n.connected for n in nodes):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)

    started = time.perf_counter()
    for i in range(count):
        nodes[0].publish(wake(i))
        if i % 500 == 0:
            await asyncio.sleep(0)
    await asyncio.wait_for(done.wait(), 60)
    burst_seconds = time.perf_counter() - started

    received[:] = [0, 0]
    latencies.clear()
    done.clear()
    steady = rate * 3
    target[0] = steady
    for i in range(steady):
        nodes[0].publish(wake(i))
        await asyncio.sleep(1 / rate)
    await asyncio.wait_for(done.wait(), 30)
    for node in nodes:
        await node.stop()
    ms = sorted(x * 1000 for x in latencies)
    return {"burst_per_s": count / burst_seconds, "p50_ms": statistics.median(ms),
            "p99_ms": ms[int(len(ms) * 0.99) - 1], "max_ms": ms[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    for kind in ("nats", "redis"):
        figures = asyncio.run(run(kind, args.count, args.rate))
        print(f"{kind:6} burst {figures['burst_per_s']:9.0f} wake-ups/s to 2 nodes;"
              f" at {args.rate}/s: p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms,"
              f" max {figures['max_ms']:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
