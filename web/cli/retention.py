"""`samtal retention dry-run|run|rule|rules`: the deletion job (gallring, docs/retention.md) for an operator.

`dry-run` lists what the job would delete now, or on a given day, as counts per rule and deletes nothing;
`run` runs the job once (the servers run it every hour by themselves); `rule` sets a unit's or every unit's
rule for a kind of record, `rules` lists the rules in force. Output names no person and no case: counts,
rules and units only. Prints JSON; errors as JSON on stderr with exit code 2."""
from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat.audit.chain import AuditEvent
from chat.model import now_ms
from chat.retention.job import RetentionJob
from chat.retention.rules import ALL_UNITS, Rules
from chat.storage import Storage, engines
from chat.storage.retention import RECORD_KINDS, Rule
from web.cli import run
from web.cli.admin import _database, _fail


def _at(day: str | None) -> int | None:
    """Midday UTC of a YYYY-MM-DD, in ms; None when not a date."""
    if day is None:
        return now_ms()
    try:
        return int(datetime.strptime(day, "%Y-%m-%d").replace(hour=12, tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return None


def _with_store(args: argparse.Namespace, work: Any) -> int:
    path = _database(args.data_dir)
    if not engines.is_url(path) and not Path(path).exists():
        return _fail("no_database", f"no database at {path}")

    async def go() -> int:
        async with engines.opened(path) as store:
            return int(await work(store))

    return run(go())


def cmd_dry_run(args: argparse.Namespace) -> int:
    at = _at(args.at)
    if at is None:
        return _fail("invalid_date", "--at is a date, YYYY-MM-DD")

    async def dry(store: Storage) -> int:
        job = RetentionJob(store.retention, store.schedule)
        plan = await job.plan(at)
        counts = await job.dry_run(at)
        print(json.dumps({"at": datetime.fromtimestamp(at / 1000, tz=UTC).date().isoformat(),
                          "would_delete": counts, "files": len(plan.due),
                          "kept": {"legal_hold_cases": plan.held_cases, "research_sample_files": plan.sample_files}}))
        return 0

    return _with_store(args, dry)


def cmd_run(args: argparse.Namespace) -> int:
    async def go(store: Storage) -> int:
        deleted = await RetentionJob(store.retention, store.schedule).run_once()
        print(json.dumps({"deleted": deleted}))
        return 0

    path = _database(args.data_dir)
    if engines.is_url(path):
        return _with_store(args, go)  # PostgreSQL: the servers keep no copies of what it deletes
    # SQLite: a running server is the file's only writer and keeps cases in memory, so it must not have cases
    # deleted under it; it runs the job itself every hour.
    try:
        with engines.FolderLock(Path(path).parent):
            return _with_store(args, go)
    except engines.FolderInUse:
        return _fail("server_running", "the server runs the deletion job itself; use dry-run, or stop it first")


def cmd_rule(args: argparse.Namespace) -> int:
    if args.kind not in RECORD_KINDS:
        return _fail("invalid_kind", f"a kind of record is one of {', '.join(RECORD_KINDS)}")
    if (args.years is None) == (not args.keep) and not args.default:
        return _fail("invalid_rule", "give --years N, --keep (never deleted) or --default (the law's five years)")
    if args.years is not None and not 1 <= args.years <= 100:
        return _fail("invalid_rule", "--years is 1..100")

    async def set_rule(store: Storage) -> int:
        if args.unit != ALL_UNITS and await store.get_unit(args.unit) is None:
            return _fail("unknown_unit", f"no unit {args.unit}")
        if args.default:
            await store.retention.remove_rule(args.unit, args.kind)
        else:
            await store.retention.set_rule(Rule(args.unit, args.kind, None if args.keep else args.years, now_ms(),
                                                "operator"))
        applied = Rules(await store.retention.rules()).applied(args.unit, args.kind)
        await store.append_audit(AuditEvent("retention.rule", "allowed", role="operator",
                                            unit_id=None if args.unit == ALL_UNITS else args.unit,
                                            detail={"kind": args.kind, "rule": applied.name}))
        print(json.dumps({"unit": args.unit, "kind": args.kind, "rule": applied.name}))
        return 0

    return _with_store(args, set_rule)


def cmd_rules(args: argparse.Namespace) -> int:
    async def listing(store: Storage) -> int:
        rules = Rules(await store.retention.rules())
        units = [u.id for u in await store.all_units()]
        print(json.dumps({"rules": {unit: {a.record_kind: a.name for a in rules.for_unit(unit)} for unit in units}}))
        return 0

    return _with_store(args, listing)


def add_parser(sub: Any) -> None:
    retention = sub.add_parser("retention", help="gallring: retention rules and the deletion job",
                               description="Retention rules and the deletion job (docs/retention.md).")
    acts = retention.add_subparsers(dest="retention_action", required=True)
    dry = acts.add_parser("dry-run", help="what the job would delete, counted per rule", description="List "
                          "what the deletion job would delete (counts per rule) now or on a day; deletes nothing.")
    dry.add_argument("--at", help="the day to count for, YYYY-MM-DD (default: now)")
    once = acts.add_parser("run", help="run the deletion job once now", description="Run the deletion job once "
                           "(the servers run it every hour); prints the counts deleted per kind of record.")
    rule = acts.add_parser("rule", help="set a rule", description="Set the rule for a kind of record in a unit "
                           "(or in every unit without its own: --unit '*').")
    rule.add_argument("--unit", required=True, help="the unit's id, or * for every unit")
    rule.add_argument("--kind", required=True, help=f"one of {', '.join(RECORD_KINDS)}")
    rule.add_argument("--years", type=int, help="deleted this many years after the last entry in the file")
    rule.add_argument("--keep", action="store_true", help="never deleted (records that must be kept)")
    rule.add_argument("--default", action="store_true", help="remove the rule: the law's default applies")
    rules = acts.add_parser("rules", help="list the rules in force per unit", description="The rule in force "
                            "for each kind of record in each unit.")
    for cmd, func in ((dry, cmd_dry_run), (once, cmd_run), (rule, cmd_rule), (rules, cmd_rules)):
        cmd.add_argument("--data-dir", help="the server's data folder (default: SAMTAL_DATA_DIR or ./data)")
        cmd.set_defaults(func=func)
