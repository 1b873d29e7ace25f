"""Backup under load: how long `samtal backup` takes while a client writes messages, next to SQLite's shell
`.backup` (100 pages a step, restarted by every write from another connection) and `VACUUM INTO`.

Starts `samtal serve --demo` in a fresh folder, fills it with --fill messages, then for each rate in --rates
keeps that many messages a second going (one client, paced) while each method copies the live database.
`.backup` gets --give-up seconds before it is counted as not finishing. Prints one JSON line per run on
stdout. Benchmark figures, never test thresholds."""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crypto.encoding import b64u  # noqa: E402
from tests.conftest import ROOT, start_server, stop_server  # noqa: E402
from web.client.session import ClientSession  # noqa: E402

CASE = "eb-2026-0001"


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="samtal-backup-bench-"))
    server = start_server(tmp, SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")
    database = server.data_dir / "samtal.sqlite3"
    anna = ClientSession(server.url, tmp / "clients", "anna")
    try:
        await anna.start()
        case = await anna.case(CASE)
        socket = await anna.transport.open_socket()
        envs = [b64u((await anna.seal(case, "x" * 200))[1]) for _ in range(200)]

        async def fill(count: int) -> None:
            for start in range(0, count, 200):
                batch = envs if count - start >= 200 else envs[:count - start]
                await asyncio.gather(*(socket.request({"t": "send", "env": e}) for e in batch))
                envs[:] = [b64u((await anna.seal(case, "x" * 200))[1]) for _ in range(200)]
        await fill(args.fill)

        for rate in args.rates:
            for method in ("samtal backup", "sqlite3 .backup", "VACUUM INTO"):
                sent = 0
                stop = asyncio.Event()

                async def load() -> None:
                    nonlocal sent
                    pool = [b64u((await anna.seal(case, "y" * 200))[1]) for _ in range(rate * (args.give_up + 30))]
                    begin = time.monotonic()
                    while not stop.is_set() and sent < len(pool):
                        await socket.request({"t": "send", "env": pool[sent]})
                        sent += 1
                        await asyncio.sleep(max(0.0, begin + sent / rate - time.monotonic()))

                loader = asyncio.create_task(load())
                await asyncio.sleep(1.0)
                target = tmp / f"copy-{rate}-{method.split()[0]}.sqlite3"
                target.unlink(missing_ok=True)
                command = {"samtal backup": [sys.executable, "-m", "web.cli", "backup", "--data-dir",
                                             str(server.data_dir), "--to", str(target)],
                           "sqlite3 .backup": ["sqlite3", str(database), ".timeout 5000", f".backup {target}"],
                           "VACUUM INTO": ["sqlite3", str(database), ".timeout 5000", f"VACUUM INTO '{target}'"]}[method]
                started = time.monotonic()
                process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=subprocess.PIPE,
                                                               stderr=subprocess.DEVNULL)
                copy_seconds = None
                try:
                    out, _ = await asyncio.wait_for(process.communicate(), args.give_up)
                    if method == "samtal backup" and process.returncode == 0:
                        copy_seconds = json.loads(out.decode().splitlines()[-1])["seconds"]  # without start-up
                    seconds, finished = time.monotonic() - started, process.returncode == 0
                except TimeoutError:
                    process.kill()
                    await process.communicate()
                    seconds, finished = time.monotonic() - started, False
                sent_during = sent
                stop.set()
                await loader
                print(json.dumps({"method": method, "rate": rate, "database_bytes": database.stat().st_size,
                                  "finished": finished, "seconds": round(seconds, 3), "copy_seconds": copy_seconds,
                                  "messages_sent_meanwhile": sent_during}), flush=True)
        await socket.close()
    finally:
        await anna.close()
        stop_server(server)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fill", type=int, default=20000, help="messages stored before measuring")
    parser.add_argument("--rates", type=int, nargs="+", default=[5, 200], help="messages/s written meanwhile")
    parser.add_argument("--give-up", type=int, default=15, help="seconds before a copy counts as not finishing")
    asyncio.run(main(parser.parse_args()))
