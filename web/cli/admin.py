"""`samtal unit add|list`: set up the municipality's units outside the demo.

Staff sign in through the municipality's identity provider, which names their unit; a unit the server does
not know is refused (`unknown_unit`). So before the first staff sign-in, an operator adds the units here.
The command works on the database directly (creating it on a new installation), may run while the server
runs (SQLite serialises the writers), and records what it did in the hash-chained audit log as an
operator's act. Prints JSON; errors as JSON on stderr with exit code 2."""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

from chat.audit.chain import AuditEvent
from chat.model import Municipality, Unit
from chat.storage import Storage, engines

# Unit ids appear in URLs, claims and key labels: one narrow spelling.
UNIT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}", re.ASCII)


def _fail(code: str, message: str) -> int:
    print(json.dumps({"error": code, "message": message}, ensure_ascii=False), file=sys.stderr)
    return 2


def _database(data_dir: str | None) -> Path | str:
    """SAMTAL_DATABASE_URL when set (as for `samtal serve`), else the SQLite file in the data folder."""
    from web.config import Settings

    settings = Settings()
    if settings.database_url:
        return settings.database_url
    return Path(data_dir or settings.data_dir) / "samtal.sqlite3"


async def _with_store(path: Path | str, work: Any) -> Any:
    async with engines.opened(path) as store:
        return await work(store)


def cmd_unit_add(args: argparse.Namespace) -> int:
    unit_id, name = args.unit, args.name.strip()
    municipality, municipality_name = args.municipality, (args.municipality_name or "").strip()
    if UNIT_ID.fullmatch(unit_id) is None or UNIT_ID.fullmatch(municipality) is None:
        return _fail("invalid_id", "ids are 1..64 of a-z, 0-9 and '-', starting with a letter or digit")
    if not 0 < len(name) <= 200 or len(municipality_name) > 200:
        return _fail("invalid_name", "a name is 1..200 characters")

    async def add(store: Storage) -> int:
        existing = await store.get_unit(unit_id)
        if existing is not None:
            return _fail("unit_exists", f"unit {unit_id} exists already ({existing.name})")
        if await store.get_municipality(municipality) is None:
            if not municipality_name:
                return _fail("unknown_municipality",
                             f"no municipality {municipality}; give --municipality-name to add it")
            await store.add_municipality(Municipality(municipality, municipality_name))
        await store.add_unit(Unit(unit_id, municipality, name))
        await store.append_audit(AuditEvent("admin.unit.add", "allowed", role="operator", unit_id=unit_id,
                                            detail={"municipality": municipality, "name": name}))
        print(json.dumps({"unit": unit_id, "name": name, "municipality": municipality}, ensure_ascii=False))
        return 0

    return int(asyncio.run(_with_store(_database(args.data_dir), add)))


def cmd_unit_list(args: argparse.Namespace) -> int:
    path = _database(args.data_dir)
    if isinstance(path, Path) and not path.exists():
        return _fail("no_database", f"no database at {path}")

    async def listing(store: Storage) -> int:
        units = await store.all_units()
        names = {m: (await store.get_municipality(m)) for m in {u.municipality_id for u in units}}
        print(json.dumps({"units": [{"unit": u.id, "name": u.name, "municipality": u.municipality_id,
                                     "municipality_name": names[u.municipality_id].name}  # type: ignore[union-attr]
                                    for u in units]}, ensure_ascii=False))
        return 0

    return int(asyncio.run(_with_store(path, listing)))


def add_parser(sub: Any) -> None:
    unit = sub.add_parser("unit", help="the municipality's units", description="Set up units (verksamheter) "
                          "outside the demo: staff can sign in only to a unit the server knows.")
    acts = unit.add_subparsers(dest="unit_action", required=True)
    add = acts.add_parser("add", help="add a unit", description="Add a unit (and its municipality if new).")
    add.add_argument("unit", help="the unit's id, as the identity provider names it in the staff's claims")
    add.add_argument("--name", required=True, help="the unit's name as people see it")
    add.add_argument("--municipality", required=True, help="the municipality's id")
    add.add_argument("--municipality-name", help="the municipality's name, when it is new here")
    add.add_argument("--data-dir", help="the server's data folder (default: SAMTAL_DATA_DIR or ./data)")
    add.set_defaults(func=cmd_unit_add)
    listing = acts.add_parser("list", help="list the units", description="List the units and municipalities.")
    listing.add_argument("--data-dir", help="the server's data folder (default: SAMTAL_DATA_DIR or ./data)")
    listing.set_defaults(func=cmd_unit_list)
