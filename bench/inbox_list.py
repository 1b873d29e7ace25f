"""Inbox-list benchmark: what `GET /api/cases` costs the server for a caseworker in a unit with many cases.

Every staff browser loads the list when the inbox opens and every five minutes (web/static/js/pages/inbox.js),
so its cost grows with the unit's cases. This seeds a SQLite file directly (one unit, --cases cases, each
with its own citizen and --messages messages alternating between the citizen and a caseworker, every third
case assigned, one in ten with its citizen waiting for an answer), then times the list's case views for
a caseworker --repeat times and counts the SQL statements of one list.

Prints one JSON line. Benchmark figures, never test thresholds."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sql_count import StatementCounter  # noqa: E402
from chat.cases.assignment import Assignments  # noqa: E402
from chat.cases.protection import Protection  # noqa: E402
from chat.messaging.inbox import ReplyTimes  # noqa: E402
from chat.model import Device, Municipality, Role, Unit, User  # noqa: E402
from chat.storage.sqlite.store import SqliteStore  # noqa: E402
from web.messaging import case_views  # noqa: E402

UNIT = Unit("bench-unit", "bench", "Bench")


async def seed(store: SqliteStore, path: Path, cases: int, messages: int) -> User:
    await store.add_municipality(Municipality("bench", "Bench"))
    await store.add_unit(UNIT)
    anna = User("anna", "anna", "Anna", Role.CASEWORKER, UNIT.id)
    await store.add_user(anna)
    await store.add_device(Device("ad", anna.id, os.urandom(32), os.urandom(32), "bench", 1))
    for i in range(cases):
        await store.add_user(User(f"c{i}", f"c{i}", f"Citizen {i}", Role.CITIZEN, None))
        await store.add_device(Device(f"c{i}d", f"c{i}", os.urandom(32), os.urandom(32), "bench", 1))
    with sqlite3.connect(path) as db:  # beside the server's writer, which is idle while seeding
        db.executemany("INSERT INTO cases (id, unit_id, citizen_id, assigned_to, title, status, created_at)"
                       " VALUES (?, ?, ?, ?, 'bench', 'open', ?)",
                       [(f"case-{i}", UNIT.id, f"c{i}", anna.id if i % 3 == 0 else None, i) for i in range(cases)])
        rows = []
        for i in range(cases):
            count = messages + (1 if i % 10 == 0 else 0)  # one in ten ends with the citizen waiting
            for seq in range(1, count + 1):
                citizen = seq % 2 == 1
                rows.append((f"case-{i}", seq, f"m{i}-{seq}", f"c{i}d" if citizen else "ad",
                             f"c{i}" if citizen else anna.id, b"x" * 200, 1_000_000 + i * 1000 + seq))
        db.executemany("INSERT INTO messages (case_id, seq, msg_id, sender_device, sender_user, envelope,"
                       " stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return anna


async def run(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samtal.sqlite3"
        store = SqliteStore(path)
        await store.open()
        try:
            anna = await seed(store, path, args.cases, args.messages)
            services = SimpleNamespace(store=store, assignments=Assignments(store), reply_times=ReplyTimes(store),
                                       protection=Protection(store.protected_identities))
            ctx = SimpleNamespace(services=services, user=anna)
            cases = await store.cases_of_unit(UNIT.id)
            await case_views(ctx, cases)  # warm: the reply-time cache and the case-epoch cache
            counter = StatementCounter(store)
            views = await case_views(ctx, cases)
            per_list = counter.count
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                await case_views(ctx, cases)
                times.append((time.perf_counter() - start) * 1000)
        finally:
            await store.close()
    return {"cases": args.cases, "messages_per_case": args.messages, "sql_statements_per_list": per_list,
            "ms_median": round(statistics.median(times), 2), "ms_max": round(max(times), 2),
            "waiting": sum(1 for v in views if v["waiting_since"]), "unread": sum(v["unread"] for v in views)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=10)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
