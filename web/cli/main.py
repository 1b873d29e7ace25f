"""The `samtal` command: run the server, act as a client, or run the demo key steward.

Exit codes: 0 done; 1 the server refused (the JSON error on stderr says why); 2 bad usage; 3 the server
could not be reached; 4 (client read) printed, but a message or the case failed a check (its line says why)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from web.cli import run
from web.cli.admin import add_parser as add_unit_parser
from web.cli.backup import add_parser as add_backup_parser
from web.cli.db import add_parser as add_db_parser
from web.cli.exchange import add_parser as add_exchange_parser
from web.cli.keys import add_parser as add_keys_parser
from web.cli.preflight import Refused, claim_data_folder
from web.cli.release import add_parser as add_web_parser
from web.cli.retention import add_parser as add_retention_parser
from web.cli.sdk import add_parser as add_sdk_parser

if TYPE_CHECKING:
    from chat.audit.chain import AuditRow

log = logging.getLogger("samtal.cli")

# A WebSocket frame carries at most one envelope (64 KiB) as base64url plus a little JSON; anything larger
# is refused by the server with close code 1009 before it is parsed.
WS_MAX_FRAME = 128 * 1024


# `client read` printed everything, but at least one message (or the case's transcript) failed a check.
CHECK_FAILED = 4


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


# -- serve ---------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import build_app
    from web.config import Settings
    from web.keyfiles import secure_data_dir
    from web.logs import configure

    settings = Settings()
    if args.data_dir:
        settings.data_dir = Path(args.data_dir)
    if args.database:
        settings.database_url = args.database
    if args.bus:
        settings.bus_url = args.bus
    settings.host = args.host or settings.host
    settings.port = args.port or settings.port
    settings.demo = settings.demo or args.demo
    configure(args.log_level or settings.log_level)
    os.umask(0o077)  # what the server (and its demo steward) makes is its user's only, whatever the umask
    secure_data_dir(settings.data_dir)
    try:
        folder_lock = claim_data_folder(settings.data_dir, settings.database)
    except Refused as refusal:
        return refusal.report()
    app, services = build_app(settings)
    steward = _start_steward(settings) if settings.demo and settings.demo_steward else None
    print(f"Samtal is running at http://{settings.host}:{settings.port}"
          + (" (demo mode: demo login, demo data, demo key steward)" if settings.demo else ""), flush=True)
    if settings.demo and settings.host == "127.0.0.1":
        # A browser keeps one sign-in per host name: a second name lets one browser be both sides.
        print(f"  citizen:    http://127.0.0.1:{settings.port}/\n"
              f"  caseworker: http://localhost:{settings.port}/  (the same browser, signed in separately)", flush=True)
    server = _server_class()(uvicorn.Config(
        app, host=settings.host, port=settings.port, ws="websockets-sansio", ws_max_size=WS_MAX_FRAME,
        # Frames are base64 ciphertext, which does not compress; deflate cost CPU and ~35 kB per connection.
        ws_per_message_deflate=False,
        ws_ping_interval=20, ws_ping_timeout=20, log_config=None, lifespan="on", timeout_graceful_shutdown=5,
        # Forwarded headers only from the configured proxies (uvicorn by default believes any from 127.0.0.1,
        # so anyone on the host, or any proxy in front that passes the header on, chose their own address).
        proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=list(settings.trusted_proxies)),
        steward, services.draining)
    try:
        server.run()
    finally:
        server.stop_steward()
        folder_lock.release()
    return 0



def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """Stops the demo steward first when asked to exit, so that it does not hold connections open
        (and reconnect) while the server is draining them."""

        def __init__(self, config: uvicorn.Config, steward: subprocess.Popen[bytes] | None,
                     draining: Any) -> None:
            super().__init__(config)
            self.steward = steward
            self.draining = draining

        def stop_steward(self) -> None:
            if self.steward is not None and self.steward.poll() is None:
                self.steward.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.steward.wait(5)

        def handle_exit(self, sig: int, frame: Any) -> None:
            # Told, not waited for: waiting here blocked the event loop, so the steward's own goodbye (closing
            # its socket) could not be answered and every SIGTERM took the whole five seconds.
            if self.steward is not None and self.steward.poll() is None:
                self.steward.terminate()
            super().handle_exit(sig, frame)

        async def shutdown(self, sockets: Any = None) -> None:
            """Drain before uvicorn's own shutdown (web/drain.py): no new sockets, the connections finish
            their in-flight sends and acks and close themselves with 1012."""
            for server in self.servers:
                server.close()
            await self.draining.drain()
            await super().shutdown(sockets)

    return Server


def _start_steward(settings: Any) -> subprocess.Popen[bytes]:
    """The steward is a separate client process: the server process never makes or holds a private key."""
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host  # noqa: S104 (not a bind)
    host = f"[{host}]" if ":" in host else host
    return subprocess.Popen([sys.executable, "-m", "web.cli", "demo-steward", "--server",
                             f"http://{host}:{settings.port}", "--data-dir",
                             str(Path(settings.data_dir) / "demo-steward"), "--parent-pid", str(os.getpid())]
                            + (["--exchange-keys", str(Path(settings.data_dir) / "demo-exchange")]
                               if settings.demo_exchange else []))


# -- demo steward --------------------------------------------------------------------------------------
def cmd_demo_steward(args: argparse.Namespace) -> int:
    from web.client.steward import run_steward
    from web.logs import configure

    configure(args.log_level or "INFO")

    _die_with_parent()
    # The server names itself: a server killed while this process was still starting was never its
    # parent as far as getppid() can tell, and the steward outlived it, reconnecting twice a second.
    parent_pid = args.parent_pid or os.getppid()
    if os.getppid() != parent_pid:
        return 0

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # Kept referenced: the loop holds tasks weakly, and a collected task would stop seeding midway.
        seeding: asyncio.Task[None] | None = None
        if args.exchange_keys:
            from web.cli.exchange import seed_demo_exchange
            seeding = loop.create_task(seed_demo_exchange(args.server, Path(args.data_dir).parent,
                                                          Path(args.exchange_keys), stop))
        try:
            await run_steward(args.server, Path(args.data_dir), args.as_user, stop, parent_pid=parent_pid)
        finally:
            if seeding is not None:
                seeding.cancel()

    asyncio.run(main())
    return 0


def _die_with_parent() -> None:
    """On Linux, have the kernel stop the steward when the server that started it dies, even by SIGKILL
    (the server's own cleanup does not run then). Elsewhere the steward notices its parent is gone."""
    if sys.platform.startswith("linux"):
        import ctypes
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# -- client ----------------------------------------------------------------------------------------------
async def _client(args: argparse.Namespace) -> int:
    from web.client.session import ClientSession

    async with ClientSession(args.server, Path(args.data_dir), args.as_user) as session:
        await session.start()
        if args.action == "cases":
            for case in await session.cases():
                _print({k: case[k] for k in ("id", "title", "unit", "unit_name", "citizen", "citizen_name",
                                             "assigned_to", "status", "last_seq")})
        elif args.action == "send":
            case = await session.case(args.case_id)
            socket = await session.transport.open_socket()
            try:
                ack = await session.send(socket, case, args.text)
            finally:
                await socket.close()
            _print({"msg_id": ack["msg_id"], "seq": ack["seq"], "case_id": ack["case_id"],
                    "duplicate": ack["duplicate"]})
        elif args.action == "read":
            case = await session.case(args.case_id)
            read = await session.read(case, after=args.after)
            for message in read.messages:
                line: dict[str, Any] = {"seq": message.seq, "msg_id": message.msg_id, "sender": message.sender}
                if message.body is not None:
                    line.update(text=message.body.get("text", ""), sent_at=_iso(message.sent_at),
                                transcript="checked" if message.checked else "unchecked")
                if message.problems:
                    line["problems"] = [{"code": code, "reason": why} for code, why in message.problems]
                _print(line)
            for code, why in read.case_problems:
                _print({"case_id": case["id"], "problem": code, "reason": why})
            return 0 if read.clean else CHECK_FAILED
    return 0


def _print(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def cmd_client(args: argparse.Namespace) -> int:
    from crypto.errors import CryptoError
    from web.client.transport import ClientError

    try:
        return asyncio.run(_client(args))
    except CryptoError as error:  # a key the server gave that does not verify: nothing is used of it
        print(json.dumps({"error": "check_failed", "message": str(error)}, ensure_ascii=False), file=sys.stderr)
        return CHECK_FAILED
    except ClientError as error:
        print(json.dumps({"error": error.code, "message": error.message}, ensure_ascii=False), file=sys.stderr)
        return 3 if error.code == "unreachable" else 1
    except ValueError as error:  # a bad username, a malformed key file
        print(json.dumps({"error": "invalid", "message": str(error)}), file=sys.stderr)
        return 2


def _existing_database(data_dir: str | None) -> Path | str | None:
    """The server's database for a command that works on it directly: SAMTAL_DATABASE_URL when set (as for
    `samtal serve`), else the SQLite file in the data folder; None (and a JSON error on stderr) when there is
    no such file, so that a mistyped folder is not silently made into an empty database."""
    from web.config import Settings

    settings = Settings()
    if settings.database_url:
        return settings.database_url
    path = Path(data_dir or settings.data_dir) / "samtal.sqlite3"
    if not path.exists():
        print(json.dumps({"error": "no_database", "message": f"no database at {path}"}), file=sys.stderr)
        return None
    return path


# -- audit -------------------------------------------------------------------------------------------
def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the chain is intact and agrees with every head published to the witness; 1 naming the
    first broken row; 2 when there is no database or the witness folder cannot be read as one."""
    from chat.audit.chain import verify
    from chat.audit.witness import Witness, WitnessError, check_against
    from chat.storage import engines
    from web.config import Settings

    path = _existing_database(args.data_dir)
    if path is None:
        return 2
    expect = None
    if args.expect_head:
        head_id, _, head_hash = args.expect_head.partition(":")
        if not head_id.isdigit():
            print(json.dumps({"error": "invalid", "message": "--expect-head is ID or ID:HASH"}), file=sys.stderr)
            return 2
        expect = (int(head_id), bytes.fromhex(head_hash) if head_hash else b"")
    witness_dir = args.witness_dir if args.witness_dir is not None else Settings().audit_witness_dir
    try:
        heads = Witness(Path(witness_dir)).heads() if witness_dir else []
    except WitnessError as error:
        print(json.dumps({"error": "witness_unreadable", "message": str(error)}), file=sys.stderr)
        return 2
    hashes: dict[int, bytes] = {}
    wanted = {h.id for h in heads}

    def rows() -> Iterator[AuditRow]:
        for row in engines.audit_rows(path):
            if row.id in wanted:
                hashes[row.id] = row.hash
            yield row

    try:
        anchor = engines.audit_anchor(path)
        verdict = verify(rows(), expect, anchor)
    except engines.StorageUnreadable as exc:  # a damaged file is a broken log, not a crash
        print(json.dumps({"intact": False, "error": "unreadable", "message": str(exc)}))
        return 1
    report: dict[str, Any] = {"intact": verdict.intact, "rows": verdict.rows, "head_id": verdict.head_id,
                              "head_hash": verdict.head_hash.hex()}
    if not verdict.intact:
        report.update(first_broken_row=verdict.first_broken_id, reason=verdict.reason)
    elif expect is not None and expect[1] and expect[0] <= verdict.head_id:
        report["checkpoint"] = "matches" if engines.audit_hash_at(path, expect[0]) == expect[1] else "differs"
        if report["checkpoint"] == "differs":
            report.update(intact=False, first_broken_row=expect[0], reason="the row at the checkpoint has changed")
    if witness_dir:
        newest = max(heads, key=lambda h: h.id) if heads else None
        report["witness"] = {"heads": len(heads), "newest_id": newest.id if newest else None}
        contradiction = check_against(heads, hashes, verdict.head_id, anchor[0])
        if contradiction is not None and report["intact"]:
            report.update(intact=False, first_broken_row=contradiction[0], reason=contradiction[1])
    else:
        report["witness"] = None  # nothing published outside the database: a rewrite of the whole log passes
    print(json.dumps(report))
    return 0 if report["intact"] else 1


def cmd_audit_prune(args: argparse.Namespace) -> int:
    """Remove audit rows past their retention period (SAMTAL_AUDIT_RETENTION_DAYS, default 5 years)."""
    from chat.storage.engines import prune_audit
    from web.config import Settings

    settings = Settings()
    path = _existing_database(args.data_dir)
    if path is None:
        return 2
    days = args.days if args.days is not None else settings.audit_retention_days
    if days < 1:
        print(json.dumps({"error": "invalid", "message": "the retention period is at least one day"}),
              file=sys.stderr)
        return 2
    cutoff = int((datetime.now(UTC).timestamp() - days * 86400) * 1000)
    removed = prune_audit(path, cutoff, f"audit:{days}d")
    print(json.dumps({"removed": removed, "retention_days": days, "cutoff": _iso(cutoff)}))
    return 0


def cmd_booking_office(args: argparse.Namespace) -> int:
    """Add an office address to a unit, where its staff meet citizens in person; list the unit's offices."""
    from chat.booking.service import office_address, office_phone
    from chat.errors import InvalidInput
    from chat.storage import engines

    path = _existing_database(args.data_dir)
    if path is None:
        return 2
    address = phone = None
    if args.address:
        try:
            address = office_address(args.address)
            phone = office_phone(args.phone) if args.phone else None
        except InvalidInput as error:
            print(json.dumps({"error": error.code, "message": str(error)}), file=sys.stderr)
            return 2

    async def offices() -> list[Any] | None:
        async with engines.opened(path) as store:
            if await store.get_unit(args.unit) is None:
                return None
            if address is not None:
                await store.bookings.add_office(args.unit, address, phone)
            return await store.bookings.offices(args.unit)

    found = run(offices())
    if found is None:
        print(json.dumps({"error": "unknown_unit", "message": f"no unit {args.unit}"}), file=sys.stderr)
        return 2
    print(json.dumps({"unit": args.unit, "offices": [{"id": o.id, "address": o.address, "phone": o.phone} for o in found]},
                     ensure_ascii=False))
    return 0


# -- arguments -------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="samtal", description="Samtal: end-to-end encrypted messaging for "
                                                                "municipal social services.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server", description="Run the Samtal server. Settings also "
                           "come from SAMTAL_* environment variables (see docs/operations.md).")
    serve.add_argument("--data-dir", help="folder for the SQLite database and the server's key files (default: "
                                          "./data or SAMTAL_DATA_DIR)")
    serve.add_argument("--database", help="a PostgreSQL database (postgresql://...) instead of the SQLite file "
                                          "(default: SAMTAL_DATABASE_URL)")
    serve.add_argument("--bus", help="the message bus between nodes on one PostgreSQL database: nats://host:4222 "
                       "or redis://host:6379 (default: SAMTAL_BUS_URL; none: a single node)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.add_argument("--demo", action="store_true", help="seed demo data, enable the demo login and start "
                       "the demo key steward")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    serve.set_defaults(func=cmd_serve)

    client = sub.add_parser("client", help="act as a user from the command line",
                            description="A Samtal client: keys are made and kept in --data-dir, messages are "
                                        "encrypted and decrypted here. Prints one JSON object per line.")
    client.add_argument("--server", required=True, help="the server's address, e.g. http://127.0.0.1:8000; the nodes of one installation separated by commas (the first reachable is used)")
    client.add_argument("--data-dir", required=True, help="folder for this client's device keys")
    client.add_argument("--as", dest="as_user", required=True, help="the user to act as (demo login)")
    actions = client.add_subparsers(dest="action", required=True)
    actions.add_parser("cases", help="list the cases you can see", description="List the cases you can see.")
    send = actions.add_parser("send", help="send a message to a case", description="Encrypt, sign and send "
                              "a message; prints msg_id and seq once the server has committed it.")
    send.add_argument("case_id")
    send.add_argument("text")
    read = actions.add_parser("read", help="read a case's messages", description="Fetch, verify and decrypt "
                              "a case's messages, oldest first.")
    read.add_argument("case_id")
    read.add_argument("--after", type=int, default=0, help="only messages after this seq")
    client.set_defaults(func=cmd_client)

    steward = sub.add_parser("demo-steward", help="run the demo key steward (started by serve --demo)",
                             description="A client acting as the demo supervisor's device: creates the unit "
                                         "and case keys and hands keys to new devices. Demo servers only.")
    steward.add_argument("--server", required=True, help="the server's address")
    steward.add_argument("--data-dir", required=True, help="folder for the steward's device keys")
    steward.add_argument("--as", dest="as_user", default="cecilia", help="the supervisor to act as")
    steward.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    steward.add_argument("--parent-pid", type=int, help="stop when this process (the server) is gone "
                         "(default: the parent process)")
    steward.add_argument("--exchange-keys", help="also register the demo agencies and unit addresses for the "
                         "exchange once the unit has its key, key files in this folder (the server's data folder "
                         "is the parent of --data-dir)")
    steward.set_defaults(func=cmd_demo_steward)
    audit = sub.add_parser("audit", help="the audit log", description="Check the hash-chained audit log.")
    audit_actions = audit.add_subparsers(dest="audit_action", required=True)
    verify_cmd = audit_actions.add_parser(
        "verify", help="check the whole chain", description="Recompute the audit log's hash chain. Exit 0 when "
        "intact; 1 naming the first changed, removed or reordered row; 2 when there is no database.")
    verify_cmd.add_argument("--data-dir", help="the server's data folder (default: ./data or SAMTAL_DATA_DIR)")
    verify_cmd.add_argument("--witness-dir", help="the folder audit heads are published to (default: "
                            "SAMTAL_AUDIT_WITNESS_DIR); every signed head there must agree with the log")
    verify_cmd.add_argument("--expect-head", help="ID or ID:HASH from an audit checkpoint in the service log; "
                            "also detects rows removed from the end")
    verify_cmd.set_defaults(func=cmd_audit_verify)
    prune_cmd = audit_actions.add_parser(
        "prune", help="remove rows past the retention period", description="Remove audit rows older than the "
        "retention period (SAMTAL_AUDIT_RETENTION_DAYS, default 1826 days = 5 years). The chain stays "
        "verifiable from an anchor that records the last removed row.")
    prune_cmd.add_argument("--data-dir", help="the server's data folder (default: ./data or SAMTAL_DATA_DIR)")
    prune_cmd.add_argument("--days", type=int, help="override the retention period, in days")
    prune_cmd.set_defaults(func=cmd_audit_prune)
    booking = sub.add_parser("booking", help="tidsbokning", description="Set up booking for a unit.")
    booking_actions = booking.add_subparsers(dest="booking_action", required=True)
    office_cmd = booking_actions.add_parser(
        "office", help="add or list a unit's office addresses", description="Add an office address where the "
        "unit's staff meet citizens in person (offered with times published for meetings in person), and list "
        "the unit's offices as JSON. Without --address, only lists them.")
    office_cmd.add_argument("--data-dir", help="the server's data folder (default: ./data or SAMTAL_DATA_DIR)")
    office_cmd.add_argument("--unit", required=True, help="the unit's id")
    office_cmd.add_argument("--address", help="the office's street address, e.g. 'Storgatan 1, 111 22 Stockholm'")
    office_cmd.add_argument("--phone", help="with --address: the number citizens call the office at, e.g. '08-123 456 00'")
    office_cmd.set_defaults(func=cmd_booking_office)
    add_exchange_parser(sub)
    add_backup_parser(sub)
    add_unit_parser(sub)
    add_keys_parser(sub)
    add_web_parser(sub)
    add_db_parser(sub)
    add_retention_parser(sub)
    add_sdk_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
