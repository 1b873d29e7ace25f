"""Key-task benchmark: what `GET /api/keys/pending` costs the server for a unit with many cases.

Every staff browser asks for the pending key work on each page load and on each `keys` event
(web/static/js/keywork.js), and the demo steward every five seconds, so its cost grows with the unit's
cases times its staff. This seeds a SQLite file directly (one unit, --staff staff devices holding the unit
key, --cases cases, each with a citizen who has two devices and a case key wrapped to the unit key and to
both devices; one case in fifty has a citizen device still missing its key, one in a hundred has no key),
then times KeyService.pending_tasks for a supervisor --repeat times and counts the SQL statements of one call.

Prints one JSON line. Benchmark figures, never test thresholds."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sql_count import StatementCounter  # noqa: E402
from chat.keys.service import KeyService  # noqa: E402
from chat.model import Case, CaseKeyWrap, Device, Municipality, Role, Unit, UnitKeyEpoch, UnitKeyGrant, User  # noqa: E402
from chat.storage.sqlite.store import SqliteStore  # noqa: E402

UNIT = Unit("bench-unit", "bench", "Bench")
BLOB = os.urandom(48)


def device(device_id: str, user_id: str) -> Device:
    return Device(device_id, user_id, os.urandom(32), os.urandom(32), "bench", 1)


async def seed(store: SqliteStore, cases: int, staff: int) -> User:
    await store.add_municipality(Municipality("bench", "Bench"))
    await store.add_unit(UNIT)
    boss = User("boss", "boss", "Boss", Role.SUPERVISOR, UNIT.id)
    await store.add_user(boss)
    staff_devices = []
    for i in range(staff):
        user = boss if i == 0 else User(f"s{i}", f"s{i}", f"Staff {i}", Role.CASEWORKER, UNIT.id)
        if i:
            await store.add_user(user)
        staff_devices.append(device(f"sd{i}", user.id))
        await store.add_device(staff_devices[-1])
    await store.add_unit_key_epoch(UnitKeyEpoch(UNIT.id, 1, os.urandom(32), "sd0", os.urandom(64), 1),
                                   [UnitKeyGrant(UNIT.id, 1, d.id, os.urandom(32), BLOB, "sd0", os.urandom(64), 1)
                                    for d in staff_devices])
    for i in range(cases):
        citizen = User(f"c{i}", f"c{i}", f"Citizen {i}", Role.CITIZEN, None)
        await store.add_user(citizen)
        devices = [device(f"c{i}d{k}", citizen.id) for k in range(2)]
        for d in devices:
            await store.add_device(d)
        await store.add_case(Case(f"case-{i}", UNIT.id, citizen.id, None, "bench", "open", i))
        if i % 100 == 99:
            continue  # no key yet
        holders = ["unit:1"] + [d.id for d in (devices[:1] if i % 50 == 49 else devices)]
        await store.add_case_key_epoch(f"case-{i}", 1, "sd0", [
            CaseKeyWrap(f"case-{i}", 1, r, os.urandom(32), BLOB, "sd0", os.urandom(64), 1) for r in holders], 1)
    return boss


async def run(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "samtal.sqlite3")
        await store.open()
        try:
            boss = await seed(store, args.cases, args.staff)
            keys = KeyService(store, lambda unit: None, lambda user: None)
            counter = StatementCounter(store)
            tasks = await keys.pending_tasks(boss, "sd0")
            per_call = counter.count
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                await keys.pending_tasks(boss, "sd0")
                times.append((time.perf_counter() - start) * 1000)
        finally:
            await store.close()
    return {"cases": args.cases, "staff_devices": args.staff, "sql_statements_per_call": per_call,
            "ms_median": round(statistics.median(times), 2), "ms_max": round(max(times), 2),
            "cases_without_key": len(tasks.cases_without_key),
            "citizen_devices_missing_case_key": len(tasks.citizen_devices_missing_case_key)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
