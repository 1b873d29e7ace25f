"""Which PostgreSQL driver for the storage engine: asyncpg or psycopg 3, measured on the two operations that
decide Samtal's speed on PostgreSQL (docs/architecture.md, "Storage").

1. A batch commit: under the write lock (pg_advisory_xact_lock), read the cases' last seqs, insert 256
   messages (600-byte envelopes) and 256 audit rows, commit (synchronous_commit as the server has it).
2. A point read: one row by primary key, 2,000 times, as the send path reads a device or a case.

psycopg runs as the engine would run it (its sync API on a worker thread, statements prepared after
five uses); asyncpg on the event loop. Usage: bench/pg_drivers.py postgresql://127.0.0.1:5432/postgres"""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid

import asyncpg
import psycopg

BATCH, BATCHES, READS = 256, 40, 2000
DDL = """
DROP TABLE IF EXISTS bench_messages, bench_audit;
CREATE TABLE bench_messages (case_id TEXT, seq BIGINT, msg_id TEXT, envelope BYTEA, stored_at BIGINT,
                             PRIMARY KEY (case_id, seq), UNIQUE (case_id, msg_id));
CREATE TABLE bench_audit (id BIGINT PRIMARY KEY, detail TEXT, prev_hash BYTEA, hash BYTEA);
"""


def rows(batch: int) -> tuple[list[tuple], list[tuple]]:
    msgs = [(f"case-{i % 50}", batch * BATCH + i + 1, uuid.uuid4().hex, os.urandom(600), 0) for i in range(BATCH)]
    audit = [(batch * BATCH + i + 1, '{"seq": 1}', os.urandom(32), os.urandom(32)) for i in range(BATCH)]
    return msgs, audit


def psycopg_batches(url: str, multirow: bool = False) -> list[float]:
    """multirow: each table's rows in one INSERT ... VALUES (...), (...) instead of executemany."""
    times = []
    with psycopg.connect(url) as conn:
        conn.execute(DDL)
        conn.commit()
        for b in range(BATCHES):
            msgs, audit = rows(b)
            start = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(1)")
                conn.execute("SELECT case_id, max(seq) FROM bench_messages WHERE case_id = ANY(%s) GROUP BY case_id",
                             ([f"case-{i}" for i in range(50)],)).fetchall()
                if multirow:
                    conn.execute("INSERT INTO bench_messages VALUES " + ",".join(["(%s, %s, %s, %s, %s)"] * len(msgs)),
                                 [x for row in msgs for x in row])
                    conn.execute("INSERT INTO bench_audit VALUES " + ",".join(["(%s, %s, %s, %s)"] * len(audit)),
                                 [x for row in audit for x in row])
                else:
                    with conn.cursor() as cur:
                        cur.executemany("INSERT INTO bench_messages VALUES (%s, %s, %s, %s, %s)", msgs)
                        cur.executemany("INSERT INTO bench_audit VALUES (%s, %s, %s, %s)", audit)
            times.append(time.perf_counter() - start)
    return times


async def psycopg_reads(url: str) -> list[float]:
    conn = await asyncio.to_thread(psycopg.connect, url, autocommit=True)
    times = []
    for i in range(READS):
        start = time.perf_counter()
        await asyncio.to_thread(lambda: conn.execute("SELECT seq, msg_id FROM bench_messages WHERE case_id = %s"
                                                     " AND seq = %s", (f"case-{i % 50}", i + 1)).fetchone())
        times.append(time.perf_counter() - start)
    conn.close()
    return times


async def psycopg_async_reads(url: str) -> list[float]:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    times = []
    for i in range(READS):
        start = time.perf_counter()
        await (await conn.execute("SELECT seq, msg_id FROM bench_messages WHERE case_id = %s AND seq = %s",
                                  (f"case-{i % 50}", i + 1))).fetchone()
        times.append(time.perf_counter() - start)
    await conn.close()
    return times


async def asyncpg_batches(url: str) -> list[float]:
    conn = await asyncpg.connect(url)
    await conn.execute(DDL)
    times = []
    for b in range(BATCHES):
        msgs, audit = rows(b)
        start = time.perf_counter()
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(1)")
            await conn.fetch("SELECT case_id, max(seq) FROM bench_messages WHERE case_id = ANY($1) GROUP BY case_id",
                             [f"case-{i}" for i in range(50)])
            await conn.executemany("INSERT INTO bench_messages VALUES ($1, $2, $3, $4, $5)", msgs)
            await conn.executemany("INSERT INTO bench_audit VALUES ($1, $2, $3, $4)", audit)
        times.append(time.perf_counter() - start)
    await conn.close()
    return times


async def asyncpg_reads(url: str) -> list[float]:
    conn = await asyncpg.connect(url)
    times = []
    for i in range(READS):
        start = time.perf_counter()
        await conn.fetchrow("SELECT seq, msg_id FROM bench_messages WHERE case_id = $1 AND seq = $2",
                            f"case-{i % 50}", i + 1)
        times.append(time.perf_counter() - start)
    await conn.close()
    return times


def report(name: str, batches: list[float], reads: list[float]) -> None:
    per_s = BATCH * len(batches) / sum(batches)
    print(f"{name:34} batch of {BATCH}: median {statistics.median(batches) * 1000:6.1f} ms ({per_s:7.0f} messages/s)"
          f"   point read: median {statistics.median(reads) * 1e6:5.0f} us, p99 "
          f"{sorted(reads)[int(len(reads) * 0.99)] * 1e6:5.0f} us")


async def main(url: str) -> None:
    batches = await asyncio.to_thread(psycopg_batches, url)
    reads = await psycopg_reads(url)
    report("psycopg", batches, reads)
    report("psycopg, one INSERT of many rows", await asyncio.to_thread(psycopg_batches, url, True), reads)
    report("psycopg, reads with its async API", batches, await psycopg_async_reads(url))
    report("asyncpg", await asyncpg_batches(url), await asyncpg_reads(url))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("DROP TABLE bench_messages, bench_audit")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"))
