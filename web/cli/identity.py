"""`samtal keys identity create|export-public|hand-over`: a unit's identity key in a key file held by a supervisor
(docs/protocol.md §18; docs/operations.md, Unit identities), for a key ceremony on a machine the unit trusts,
away from the server.

`create` makes the key file and the signed file the municipality publishes, and prints the safety number;
`export-public` makes that file again from the key file; `hand-over` makes the next key file, holding the
hand-over certificate the current key signs. The supervisor then takes the key file up in the browser (the
unit page's "Take up a key file": the browser files the genesis or the hand-over, certifies its own device and
seals the key to itself; the seed never reaches the server in clear) and keeps the file offline or destroys it.
Nothing here talks to a server."""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from crypto.encoding import b64u, unb64u_len
from crypto.errors import MalformedError
from crypto.sign import ed25519_public
from crypto.unitcert import identity_file, identity_subject, sign_cert, unit_fingerprint

KEY_FILE_FORMAT = "samtal-unit-identity-key/v1"


def _fail(code: str, message: str, status: int = 2) -> int:
    print(json.dumps({"error": code, "message": message}, ensure_ascii=False), file=sys.stderr)
    return status


def write_key_file(path: Path, unit_id: str, seed: bytes, handover: dict[str, Any] | None = None) -> None:
    """The key file, readable by its owner only; never overwrites one (a lost identity key cannot be redone)."""
    data: dict[str, Any] = {"format": KEY_FILE_FORMAT, "unit_id": unit_id, "seed": b64u(seed)}
    if handover is not None:
        data["handover"] = handover
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1)


def read_key_file(path: Path) -> tuple[str, bytes]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("unit_id"), str) or not isinstance(data.get("seed"), str):
        raise MalformedError("not a unit identity key file")
    return data["unit_id"], unb64u_len(data["seed"], 32, "seed")


def _publish(out: str | None, unit_id: str, seed: bytes, name: str) -> str | None:
    if out is None:
        return None
    Path(out).write_text(json.dumps(identity_file(unit_id, seed, name), indent=1, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    return out


def _summary(unit_id: str, seed: bytes, key: str, published: str | None, **extra: Any) -> int:
    pub = ed25519_public(seed)
    print(json.dumps({"unit_id": unit_id, "fingerprint": unit_fingerprint(unit_id, pub), "identity_key": b64u(pub),
                      "key": key, "published": published, **extra}, ensure_ascii=False))
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    seed = secrets.token_bytes(32)
    try:
        write_key_file(Path(args.key), args.unit, seed)
    except FileExistsError:
        return _fail("exists", f"{args.key} exists; a unit identity key file is never overwritten")
    except OSError as exc:
        return _fail("unwritable", str(exc))
    return _summary(args.unit, seed, args.key, _publish(args.publish, args.unit, seed, args.name))


def cmd_export_public(args: argparse.Namespace) -> int:
    try:
        unit_id, seed = read_key_file(Path(args.key))
    except (OSError, ValueError, MalformedError) as exc:
        return _fail("unreadable", f"{args.key}: {exc}")
    return _summary(unit_id, seed, args.key, _publish(args.publish, unit_id, seed, args.name))


def cmd_hand_over(args: argparse.Namespace) -> int:
    try:
        unit_id, seed = read_key_file(Path(args.key))
    except (OSError, ValueError, MalformedError) as exc:
        return _fail("unreadable", f"{args.key}: {exc}")
    new_seed = secrets.token_bytes(32)
    handover = sign_cert(seed, unit_id, "handover", identity_subject(ed25519_public(new_seed)), int(time.time() * 1000))
    try:
        write_key_file(Path(args.new_key), unit_id, new_seed, handover.to_json())
    except FileExistsError:
        return _fail("exists", f"{args.new_key} exists; a unit identity key file is never overwritten")
    except OSError as exc:
        return _fail("unwritable", str(exc))
    return _summary(unit_id, new_seed, args.new_key, _publish(args.publish, unit_id, new_seed, args.name),
                    previous=unit_fingerprint(unit_id, ed25519_public(seed)))


def add_parser(acts: Any) -> None:
    identity = acts.add_parser(
        "identity", help="a unit's identity key in a key file (key ceremony)",
        description="Make and hand over a unit's identity key in a key file held by a supervisor, away from the "
        "server, and the signed file the municipality publishes. Take the key file up on the unit page of the "
        "supervisor's browser. Exit 0 done, 2 bad usage, an existing or unreadable file.")
    kinds = identity.add_subparsers(dest="identity_action", required=True)
    create = kinds.add_parser("create", help="make a unit's identity key", description="Make a new identity key "
                              "for a unit that has none, write it to --key (mode 0600, never overwritten) and, with "
                              "--publish, the file the municipality publishes; print the unit's safety number.")
    create.add_argument("--unit", required=True, help="the unit's id")
    export = kinds.add_parser("export-public", help="the municipality's file from a key file",
                              description="Write the signed file the municipality publishes (and print the "
                              "safety number) from a key file.")
    hand_over = kinds.add_parser("hand-over", help="make the next identity key, announced by the current one",
                                 description="Make a new identity key in --new-key with the hand-over certificate "
                                 "the current key (--key) signs; the browser files it when it takes the new key "
                                 "file up. Citizens' apps follow the hand-over; the municipality publishes the new "
                                 "file.")
    hand_over.add_argument("--new-key", required=True, help="where to write the new key file")
    for parser, func in ((create, cmd_create), (export, cmd_export_public), (hand_over, cmd_hand_over)):
        parser.add_argument("--key", required=True, help="the unit identity key file (keep it offline)")
        parser.add_argument("--publish", help="write the municipality's signed file here")
        parser.add_argument("--name", default="", help="the unit's name in the municipality's file")
        parser.set_defaults(func=func)
