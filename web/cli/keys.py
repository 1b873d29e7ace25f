"""`samtal keys monitor`: follow a Samtal server's key transparency log from outside (docs/protocol.md §19).

An independent party (the municipality's IT security, an auditor) downloads the whole log, recomputes its
root against the signed head, checks it is consistent with the head it kept from last time, checks each
unit's certificate chain, and prints every key record (for one unit or one person) as a JSON line."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from crypto.encoding import b64u, unb64u
from crypto.errors import CryptoError, MalformedError
from crypto.keys import DevicePublicKeys
from crypto.merkle import (
    TreeHead,
    consistency_proof,
    leaf_hash,
    parse_leaf,
    read_fields,
    root,
    verify_consistency,
)
from crypto.unitcert import UnitCert, evaluate_chain, parse_subject, unit_fingerprint
from web.cli.identity import add_parser as add_identity_parser

PAGE = 1000


class MonitorError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def describe(index: int, leaf: bytes) -> tuple[dict[str, Any], str | None, str | None, UnitCert | None]:
    """One leaf as a printable record, with the unit and the user it is about, and its certificate if any."""
    parsed = parse_leaf(leaf)
    out: dict[str, Any] = {"index": index, "kind": parsed.kind, "logged_at": parsed.logged_at}
    unit = user = None
    cert = None
    if parsed.kind == "device":
        user, device_id, sign_pub, kem_pub = read_fields(parsed.body, "sskk")
        out.update(user_id=user, device_id=device_id,
                   fingerprint=DevicePublicKeys(sign_pub, kem_pub).fingerprint())
    elif parsed.kind == "revoked":
        user, device_id = read_fields(parsed.body, "ss")
        out.update(user_id=user, device_id=device_id)
    elif parsed.kind == "unit-epoch":
        unit, epoch, unit_pub, by, _sig = read_fields(parsed.body, "s4ksg")
        out.update(unit_id=unit, epoch=epoch, public_key=b64u(unit_pub), created_by_device=by)
    elif parsed.kind == "unit-cert":
        signed, signature = read_fields(parsed.body, "bg")
        cert = _cert_of(signed, signature)
        unit = cert.unit_id
        out.update(unit_id=unit, cert=cert.kind)
        subject = parse_subject(cert.kind, cert.subject)
        if cert.kind == "device":
            user = subject.user_id
            out.update(device_id=subject.device_id, user_id=subject.user_id)
        elif cert.kind == "revoke":
            out.update(device_id=subject)
        elif cert.kind == "epoch":
            out.update(epoch=subject[0], public_key=b64u(subject[1]))
        else:
            out.update(identity=unit_fingerprint(unit, subject))
    return out, unit, user, cert


def _cert_of(signed: bytes, signature: bytes) -> UnitCert:
    """Split cert_signed back into its fields (the label, then lp16 unit, kind, subject and u64 time)."""
    label = b"samtal/unit-cert/v1"
    if not signed.startswith(label):
        raise MalformedError("not a unit certificate")
    unit, kind, subject = read_fields(signed[len(label):-8], "sbb")
    return UnitCert(unit, kind.decode("ascii"), subject, int.from_bytes(signed[-8:], "big"), b"", signature)


async def monitor_once(server: str, state_path: Path | None, unit: str | None, user: str | None) -> int:
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path and state_path.exists() else {}
    async with httpx.AsyncClient(base_url=server.rstrip("/"), timeout=30) as http:
        async def get(path: str, **params: Any) -> Any:
            response = await http.get(path, params=params)
            response.raise_for_status()
            return response.json()
        answer = await get("/api/log/head")
        log_key = unb64u(answer["log_key"])
        head = TreeHead.from_json(answer["head"])
        if state.get("log_key") and unb64u(state["log_key"]) != log_key:
            raise MonitorError("log_key_changed", "the log is signed by another key than before")
        if not head.verifies(log_key):
            raise MonitorError("log_fork", "the head's signature does not verify")
        leaves: list[bytes] = []
        while len(leaves) < head.size:
            page = await get("/api/log/entries", start=len(leaves), end=min(head.size, len(leaves) + PAGE))
            if not page["leaves"]:
                break
            leaves += [unb64u(x) for x in page["leaves"]]
        hashes = [leaf_hash(x) for x in leaves[:head.size]]
        if len(hashes) != head.size or root(hashes) != head.root:
            raise MonitorError("log_fork", "the log's entries do not make the root of its signed head")
        seen = TreeHead.from_json(state["head"]) if "head" in state else None
        if seen is not None:
            if seen.size > head.size or (seen.size == head.size and seen.root != head.root):
                raise MonitorError("log_fork", "the log is smaller than, or differs from, the head kept before")
            if 0 < seen.size < head.size and not verify_consistency(
                    seen.size, head.size, seen.root, head.root, consistency_proof(seen.size, hashes)):
                raise MonitorError("log_fork", "the log is not an extension of the head kept before: rewritten")
    start = seen.size if seen is not None else 0
    chains: dict[str, list[UnitCert]] = {}
    for index, leaf in enumerate(leaves):
        try:
            record, leaf_unit, leaf_user, cert = describe(index, leaf)
        except (MalformedError, CryptoError, UnicodeDecodeError) as exc:
            raise MonitorError("bad_record", f"log entry {index} is malformed: {exc}") from None
        if cert is not None:
            chains.setdefault(cert.unit_id, []).append(cert)
        if index >= start and (unit is None or leaf_unit == unit) and (user is None or leaf_user == user):
            print(json.dumps(record, ensure_ascii=False), flush=True)
    for unit_id, certs in chains.items():
        if unit is not None and unit_id != unit:
            continue
        try:
            # The signer is not in the leaf's signed bytes: the chain rule gives it (the current key), and
            # evaluate_chain verifies each certificate's signature with that key.
            trust = _chain_with_signers(unit_id, certs)
        except (CryptoError, MalformedError) as exc:
            raise MonitorError("bad_chain", f"unit {unit_id}: {exc}") from None
        print(json.dumps({"unit_id": unit_id, "identity": trust.fingerprint(), "identity_keys": len(trust.keys),
                          "certified_devices": sorted(set(trust.devices) - trust.revoked),
                          "certified_epochs": sorted(trust.epochs)}), flush=True)
    if state_path:
        state_path.write_text(json.dumps({"log_key": b64u(log_key), "head": head.to_json()}))
    return 0


def _chain_with_signers(unit_id: str, certs: list[UnitCert]) -> Any:
    """Give each certificate the signer the chain rule says it must have, then evaluate the chain."""
    signed: list[UnitCert] = []
    current: bytes | None = None
    for cert in certs:
        signer = cert.subject if cert.kind == "identity" and current is None else current
        if signer is None:
            raise CryptoError("the chain does not start with the unit's genesis")
        signed.append(UnitCert(cert.unit_id, cert.kind, cert.subject, cert.issued_at, signer, cert.signature))
        if cert.kind == "handover":
            current = cert.subject
        elif current is None:
            current = signer
    return evaluate_chain(unit_id, signed)


def cmd_monitor(args: argparse.Namespace) -> int:
    state = Path(args.state) if args.state else None
    while True:
        try:
            asyncio.run(monitor_once(args.server, state, args.unit, args.user))
        except MonitorError as error:
            print(json.dumps({"error": error.code, "message": str(error)}), file=sys.stderr)
            return 1
        except httpx.HTTPError as exc:
            print(json.dumps({"error": "unreachable", "message": type(exc).__name__}), file=sys.stderr)
            return 3
        if not args.follow:
            return 0
        time.sleep(args.follow)


def cmd_identity_card(args: argparse.Namespace) -> int:
    """What the municipality prints on its letters and shows at the office: the unit's safety number and a QR
    code, made from the signed identity file it publishes (checked here), never from the Samtal server."""
    import segno

    from crypto.unitcert import load_identity_file, qr_payload

    try:
        if args.file.startswith(("https://", "http://")):
            text = httpx.get(args.file, timeout=30).raise_for_status().text
        else:
            text = Path(args.file).read_text(encoding="utf-8")
        key = load_identity_file(text, args.unit)
    except (OSError, httpx.HTTPError) as exc:
        print(json.dumps({"error": "unreachable", "message": type(exc).__name__}), file=sys.stderr)
        return 3
    except (CryptoError, MalformedError) as exc:
        print(json.dumps({"error": "identity_mismatch", "message": str(exc)}), file=sys.stderr)
        return 1
    payload = qr_payload(args.unit, key)
    if args.qr:
        segno.make(payload, error="m").save(args.qr, kind="svg", scale=6, border=4)
    print(json.dumps({"unit_id": args.unit, "fingerprint": unit_fingerprint(args.unit, key), "qr": payload,
                      "identity_key": b64u(key)}, ensure_ascii=False))
    return 0


def add_parser(sub: Any) -> None:
    keys = sub.add_parser("keys", help="the key transparency log and unit identities", description="Follow and "
                          "check the key transparency log of a Samtal server (docs/protocol.md §19), and make a "
                          "unit's identity key (§18).")
    acts = keys.add_subparsers(dest="keys_action", required=True)
    mon = acts.add_parser("monitor", help="follow the log, verify it and print every change",
                          description="Download the log, check its root against the signed head, check it "
                          "extends the head kept in --state, check each unit's certificate chain, and print "
                          "each key record as a JSON line. Exit 0 verified, 1 fork or bad record, 3 unreachable.")
    mon.add_argument("--server", required=True, help="the server's address, e.g. https://samtal.kommun.example")
    who = mon.add_mutually_exclusive_group()
    who.add_argument("--unit", help="print only the records of this unit")
    who.add_argument("--user", help="print only the records of this account id")
    mon.add_argument("--state", help="file that keeps the log key and the newest head between runs; only "
                                     "records after that head are printed")
    mon.add_argument("--follow", type=float, default=0, help="check again every this many seconds")
    mon.set_defaults(func=cmd_monitor)
    card = acts.add_parser("identity-card", help="a unit's safety number and QR code for letters",
                           description="Check a unit's signed identity file (as the municipality publishes it) and "
                           "print the unit's safety number; with --qr, also write its QR code as SVG. Exit 0 done, "
                           "1 the file does not verify, 3 it could not be read.")
    card.add_argument("--file", required=True, help="the identity file: a path, or its https address")
    card.add_argument("--unit", required=True, help="the unit's id")
    card.add_argument("--qr", help="write the QR code to this SVG file")
    card.set_defaults(func=cmd_identity_card)
    add_identity_parser(acts)
