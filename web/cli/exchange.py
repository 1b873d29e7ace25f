"""`samtal exchange`: the agency exchange from the command line (docs/exchange.md, Command line).

Agencies: keygen, send, fetch, get, ack, receipts, proof, verify. A unit's staff: unit inbox|open|send.
Operators: admin register|retire-key|endpoint-key on the server's data folder (public keys only), and
demo-keys for the demo. Exit codes as for `samtal`: 0 done, 1 refused, 2 bad usage, 3 unreachable."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

DEMO_AGENCIES = (("polisen", "Polisen", "EdDSA", "X25519"),
                 ("forsakringskassan", "Försäkringskassan", "ES256", "P-256"))
DEMO_UNITS = (("ekonomiskt-bistand.demo-kommun", "Ekonomiskt bistånd", "ekonomiskt-bistand"),
              ("barn-och-unga.demo-kommun", "Barn och unga", "barn-och-unga"))
DEMO_SUPERVISORS = {"ekonomiskt-bistand": "cecilia"}  # the demo staff member who shares each unit's address key


def _print(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _read_json(path: str) -> Any:
    return json.loads(sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8"))


# -- operators -----------------------------------------------------------------------------------
def _operator_event(action: str, unit_id: str | None = None, **detail: Any) -> Any:
    """An operator's act on the directory, for the audit log: who ran the command (the account on the
    server), and what changed; never an on-call contact's e-mail address."""
    import getpass

    from chat.exchange.service import exchange_event

    return exchange_event(action, "allowed", getpass.getuser(), "operator", unit_id=unit_id, **detail)


def _registered(address: Any, **extra: Any) -> Any:
    return _operator_event("exchange.admin.register", address.unit_id, address=address.address, kind=address.kind,
                           keys=[k["kid"] for k in address.keys],
                           document_types=address.document_types, max_bytes=address.max_bytes,
                           rate_per_minute=address.rate_per_minute, oncall_contacts=len(address.oncall), **extra)


async def _with_store(data_dir: str, fn: Any) -> Any:
    from chat.storage import engines

    async with engines.opened(_database(data_dir)) as store:
        return await fn(store.exchange)


def _database(data_dir: str) -> Any:
    """SAMTAL_DATABASE_URL when set (the data folder then holds only key files), else its SQLite file."""
    return os.environ.get("SAMTAL_DATABASE_URL") or Path(data_dir) / "samtal.sqlite3"


def _address(args: argparse.Namespace, public: dict[str, Any]) -> Any:
    from chat.exchange.documents import TYPES
    from chat.storage.exchange import Address

    types = args.types.split(",") if args.types else sorted(TYPES)
    unknown = set(types) - set(TYPES)
    if unknown:
        raise ValueError(f"unknown document types: {', '.join(sorted(unknown))}")
    return Address(public["address"], args.kind, args.name, args.unit, types, args.max_bytes, args.rate,
                   args.oncall or [], public["keys"])


def cmd_register(args: argparse.Namespace) -> int:
    public = _read_json(args.public)
    if any("d" in k for k in public["keys"]):
        raise ValueError("register the public key file (.pub.json), never a private key")
    address = _address(args, public)
    asyncio.run(_with_store(args.data_dir, lambda store: store.put_address(address, _registered(address))))
    _print({"registered": address.address, "kind": address.kind, "keys": [k["kid"] for k in address.keys]})
    return 0


def cmd_retire_key(args: argparse.Namespace) -> int:
    done = asyncio.run(_with_store(args.data_dir, lambda store: store.retire_key(
        args.kid, _operator_event("exchange.admin.retire_key", kid=args.kid))))
    _print({"retired": args.kid} if done else {"error": "unknown_key"})
    return 0 if done else 1


def cmd_endpoint_key(args: argparse.Namespace) -> int:
    from chat.exchange.service import EndpointKey

    key = EndpointKey(Path(args.data_dir) / "exchange-endpoint-key.json")
    _print({"endpoint_key": key.public, "thumbprint": key.kid})
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from chat.exchange import jose

    out = Path(args.out)
    public = jose.write_key_file(out, args.address, jose.generate(args.sign), jose.generate(args.enc))
    out.with_suffix(".pub.json").write_text(json.dumps(public, indent=2))
    _print({"key_file": str(out), "public": str(out.with_suffix(".pub.json"))})
    return 0


def cmd_demo_keys(args: argparse.Namespace) -> int:
    """Demo only: key files for two agencies and two unit addresses, their public keys registered."""
    shared = demo_keys(Path(args.data_dir), Path(args.keys_dir), args.server, args.oncall or [])
    _print({"keys_dir": str(args.keys_dir), "addresses": [a for a, *_ in DEMO_AGENCIES + DEMO_UNITS],
            "shared_with_browsers": shared})
    return 0


async def seed_demo_exchange(server: str, data_dir: Path, keys_dir: Path, stop: asyncio.Event) -> None:
    """For `serve --demo` (run by the demo key steward): register the demo agencies and unit addresses once,
    and share the unit address's keys as soon as the unit has its key, so that Myndighetspost can send to an
    agency on first try. Bounded: gives up after two minutes (the steward logs it)."""
    import logging

    done = keys_dir / "shared"
    for _ in range(240):
        if stop.is_set() or done.exists():
            return
        try:
            if await asyncio.to_thread(demo_keys, data_dir, keys_dir, server, [], False):
                done.write_text("1\n", encoding="utf-8")
                return
        except Exception as error:  # noqa: BLE001 (the server may still be starting; tried again)
            logging.getLogger("samtal.demo").info("demo exchange not ready", extra={"error": type(error).__name__})
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass
    logging.getLogger("samtal.demo").warning("demo exchange addresses not shared: the unit has no key")


def demo_keys(data_dir: Path, keys_dir: Path, server: str | None, oncall: list[str],
              fresh: bool = True) -> list[str]:
    """Register the demo addresses (new key files; with fresh=False only when there are none yet) and share
    the unit addresses' keys with the unit's staff browsers; the addresses shared."""
    from chat.exchange import jose
    from chat.storage.exchange import Address

    if not fresh and (keys_dir / f"{DEMO_UNITS[0][0]}.json").exists():
        return _share_demo(server, keys_dir)
    records = []
    for address, name, sign_alg, enc_crv in DEMO_AGENCIES:
        public = jose.write_key_file(keys_dir / f"{address}.json", address, jose.generate(sign_alg),
                                     jose.generate(enc_crv))
        records.append(Address(address, "agency", name, None, ["message/v1", "begaran-om-uppgifter/v1",
                                                               "svar-uppgifter/v1", "beslut/v1",
                                                               "begaran-om-handrackning/v1", "sip-kallelse/v1"],
                               30 * 1024 * 1024, 600, [], public["keys"]))
    from chat.exchange.documents import TYPES

    for address, name, unit_id in DEMO_UNITS:
        public = jose.write_key_file(keys_dir / f"{address}.json", address, jose.generate("EdDSA"),
                                     jose.generate("X25519"))
        records.append(Address(address, "unit", name, unit_id, sorted(TYPES), 30 * 1024 * 1024, 600,
                               oncall, public["keys"]))

    async def register() -> None:
        from chat.model import Unit
        from chat.storage import engines

        async with engines.opened(_database(str(data_dir))) as store:
            if await store.get_unit("barn-och-unga") is None:
                await store.add_unit(Unit("barn-och-unga", "demo-kommun", "Barn och unga"))
            for record in records:
                await store.exchange.put_address(record, _registered(record, demo=True))

    asyncio.run(register())
    return _share_demo(server, keys_dir)


def _share_demo(server: str | None, keys_dir: Path) -> list[str]:
    shared = []
    if server:
        for address, _, unit_id in DEMO_UNITS:
            if unit_id in DEMO_SUPERVISORS and _share(server, keys_dir / "devices", DEMO_SUPERVISORS[unit_id],
                                                      unit_id, keys_dir / f"{address}.json", 1, optional=True):
                shared.append(address)
    return shared


def _share(server: str, device_dir: Path, username: str, unit_id: str, key_file: Path, version: int,
           optional: bool = False, sign_version: int = 1) -> dict[str, Any] | None:
    """Sign in as `username` (a device of its own under device_dir) and upload the address's decryption and
    signing keys wrapped to the unit key. optional: None when the unit has no unit key yet."""
    from chat.exchange import jose
    from web.client.exchange import share_address_key
    from web.client.session import ClientSession

    async def share() -> dict[str, Any] | None:
        async with ClientSession(server, device_dir / username, username) as session:
            await session.start()
            if optional and not await session.unit_epochs(unit_id):
                return None
            return await share_address_key(session, unit_id, jose.KeyFile(key_file), version, sign_version)
    return asyncio.run(share())


def cmd_unit_share_key(args: argparse.Namespace) -> int:
    """Wrap the address keys to the unit key so approved staff browsers can open the address's documents and
    send from it."""
    _print(_share(args.server, Path(args.device_dir), args.as_user, args.unit, Path(args.key_file), args.key_version,
                  sign_version=args.sign_key_version))
    return 0


# -- agencies and staff --------------------------------------------------------------------------
def _agency(args: argparse.Namespace) -> Any:
    from web.client.exchange import AgencyClient

    return AgencyClient(args.server, Path(args.key_file))


def _unit(args: argparse.Namespace) -> Any:
    from web.client.exchange import AgencyPins, UnitClient

    key_file = Path(args.key_file)
    pins = AgencyPins(key_file.with_name(key_file.stem + ".agency-pins.json"), AgencyPins.parse(args.pin or []))
    return UnitClient(args.server, key_file, args.as_user, args.unit, pins)


def cmd_send(args: argparse.Namespace) -> int:
    client = _unit(args) if getattr(args, "as_user", None) else _agency(args)
    answer = client.send(args.to, args.type, _read_json(args.content), args.label, priority=args.priority,
                         conversation=args.conversation, in_reply_to=args.in_reply_to, msg_id=args.id)
    _print(answer["claims"] | {"duplicate": answer["duplicate"]})
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    for message in _agency(args).fetch(new_only=not args.all):
        _print({k: message[k] for k in ("id", "type", "priority", "from", "to", "label", "created", "acked")})
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    client = _agency(args)
    message = client.get(args.id)
    view = {k: v for k, v in message.items() if k not in ("envelope", "content", "receipts")}
    if "content" in message:
        view["content"], view["invalid"] = client.open_content(message)
    view["receipts"] = [client.receipt_claims(r) for r in message["receipts"]]
    _print(view)
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    _print(_agency(args).ack(args.id, args.status, args.reason)["claims"])
    return 0


def cmd_receipts(args: argparse.Namespace) -> int:
    for claims in _agency(args).receipts(args.id):
        _print(claims)
    return 0


def cmd_proof(args: argparse.Namespace) -> int:
    _print(_agency(args).proof(args.id))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a receipt (a compact JWS) or a proof (JSON) from a file or stdin against the endpoint key."""
    import httpx

    from web.client.exchange import verify_directory, verify_proof, verify_receipt

    directory = verify_directory(httpx.get(args.server.rstrip("/") + "/exchange/v1/directory", timeout=30).text,
                                 args.pin)
    text = (sys.stdin.read() if args.file == "-" else Path(args.file).read_text()).strip()
    if text.startswith("{"):
        _print(verify_proof(json.loads(text), directory["endpoint_key"]))
    else:
        _print(verify_receipt(text, directory["endpoint_key"]) | {"verified": True})
    return 0


def cmd_unit_inbox(args: argparse.Namespace) -> int:
    for message in _unit(args).inbox()["inbox"]:
        _print({k: message[k] for k in ("id", "type", "priority", "from", "to", "label", "created")})
    return 0


def cmd_unit_open(args: argparse.Namespace) -> int:
    """Open on this device: accepted (or rejected) when it decrypts and validates; read once shown here."""
    from chat.exchange.documents import render

    client = _unit(args)
    message, content = client.open(args.id)
    if content is None:
        _print({"id": args.id, "status": "rejected", "reason": client.problem})
        return 1
    print(render(message["type"], content), flush=True)
    client.receipt(args.id, "read")
    return 0


# -- arguments -----------------------------------------------------------------------------------
def _run(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from chat.exchange.jose import JoseInvalid
        from crypto.errors import CryptoError
        from web.client.exchange import ExchangeClientError
        from web.client.transport import ClientError

        try:
            return int(func(args))
        except ClientError as error:
            print(json.dumps({"error": error.code, "message": str(error)}, ensure_ascii=False), file=sys.stderr)
            return 3 if error.code == "unreachable" else 1
        except CryptoError as error:
            print(json.dumps({"error": "not_verified", "message": str(error)}), file=sys.stderr)
            return 1
        except ExchangeClientError as error:
            print(json.dumps({"error": error.problem.get("code"), "status": error.status,
                              "message": error.problem.get("detail")}, ensure_ascii=False), file=sys.stderr)
            return 1
        except JoseInvalid as error:
            print(json.dumps({"error": "not_verified", "message": str(error)}), file=sys.stderr)
            return 1
        except (OSError, ValueError, KeyError) as error:
            import httpx
            code = 3 if isinstance(error, httpx.TransportError) else 2
            print(json.dumps({"error": "unreachable" if code == 3 else "invalid", "message": str(error)}),
                  file=sys.stderr)
            return code
    return run


def _server_args(p: argparse.ArgumentParser, staff: bool = False) -> None:
    p.add_argument("--server", required=True, help="the endpoint's address, e.g. https://samtal.example.se")
    p.add_argument("--key-file", required=True, help="your private key file (from keygen or demo-keys)")
    if staff:
        p.add_argument("--as", dest="as_user", required=True, help="the staff member to act as (demo login)")
        p.add_argument("--unit", required=True, help="your unit's id")
        p.add_argument("--pin", action="append", metavar="ADDRESS:KID",
                       help="an agency's signing key thumbprint, as the agency publishes it (repeat for more); "
                            "without one, the first key seen for an address is pinned in KEYFILE.agency-pins.json")


def _send_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", required=True, help="the recipient's address (see the directory)")
    p.add_argument("--type", required=True, help="the document type, e.g. orosanmalan/v1")
    p.add_argument("--content", required=True, help="a JSON file with the document (- for stdin)")
    p.add_argument("--label", default="", help="a label without personal data")
    p.add_argument("--priority", choices=["normal", "urgent"], help="default: the type's (orosanmälan: urgent)")
    p.add_argument("--conversation", help="the conversation id (default: a new one)")
    p.add_argument("--in-reply-to", help="the id of the message this answers")
    p.add_argument("--id", help="the message id (default: a new UUID); resend with the same id to retry")


def add_parser(sub: Any) -> None:
    ex = sub.add_parser("exchange", help="the agency exchange", description="Send and receive signed, encrypted "
                        "documents between agencies and units (docs/exchange.md). Prints JSON lines.")
    acts = ex.add_subparsers(dest="exchange_action", required=True)

    def cmd(name: str, func: Any, help_text: str, parent: Any = acts) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=_run(func))
        return p

    p = cmd("keygen", cmd_keygen, "make a key file (signing and encryption keys) and its public part")
    p.add_argument("--address", required=True, help="the address the keys are for")
    p.add_argument("--sign", choices=["EdDSA", "ES256", "PS256"], default="EdDSA", help="signing algorithm")
    p.add_argument("--enc", choices=["X25519", "P-256"], default="X25519", help="encryption curve")
    p.add_argument("--out", required=True, help="the private key file to write (0600); the public part goes "
                   "beside it as .pub.json")
    p = cmd("send", cmd_send, "sign, encrypt and send a document; prints the verified received receipt")
    _server_args(p)
    _send_args(p)
    p = cmd("fetch", cmd_fetch, "list messages addressed to you (not yet acknowledged, or --all)")
    _server_args(p)
    p.add_argument("--all", action="store_true", help="include acknowledged messages")
    for name, func, text in (
            ("get", cmd_get, "fetch one message, decrypt and validate its content, verify its receipts"),
            ("ack", cmd_ack, "acknowledge a message addressed to you; prints the verified receipt"),
            ("receipts", cmd_receipts, "the verified receipts of a message you sent"),
            ("proof", cmd_proof, "the envelope, receipts and audit log rows of a message (JSON)")):
        p = cmd(name, func, text)
        _server_args(p)
        p.add_argument("id", help="the message id")
        if name == "ack":
            p.add_argument("--status", choices=["accepted", "rejected", "read"], default="accepted",
                           help="what you say")
            p.add_argument("--reason", help="why, when rejected: undecryptable, schema_invalid, ...")
    p = cmd("verify", cmd_verify, "verify a receipt (compact JWS) or a proof (JSON) against the endpoint key")
    p.add_argument("--server", required=True, help="the endpoint, for its signed directory")
    p.add_argument("--pin", help="the endpoint key's thumbprint, as published by the municipality")
    p.add_argument("file", help="the receipt or proof (- for stdin)")

    unit = cmd("unit", lambda a: 2, "a unit's staff: the exchange inbox, opening and sending")
    unit_acts = unit.add_subparsers(dest="unit_action", required=True)
    p = cmd("inbox", cmd_unit_inbox, "list documents to your unit's addresses", unit_acts)
    _server_args(p, staff=True)
    p = cmd("open", cmd_unit_open, "decrypt, validate (accepted or rejected receipt), show it (read receipt)",
            unit_acts)
    _server_args(p, staff=True)
    p.add_argument("id")
    p = cmd("send", cmd_send, "send from your unit's address to an agency", unit_acts)
    _server_args(p, staff=True)
    _send_args(p)
    p = cmd("share-key", cmd_unit_share_key, "upload the address keys wrapped to the unit key (signed by this "
            "device), so approved staff browsers can open the address's documents and send from it", unit_acts)
    _server_args(p, staff=True)
    p.add_argument("--device-dir", required=True, help="where this command-line device keeps its keys")
    p.add_argument("--key-version", type=int, default=1, help="the decryption key's version (1, then +1 per "
                   "rotation)")
    p.add_argument("--sign-key-version", type=int, default=1, help="the signing key's version (1, then +1 per "
                   "rotation; an Ed25519 key only: browsers sign with Ed25519)")

    admin = cmd("admin", lambda a: 2, "operators: the directory in the server's data folder")
    admin_acts = admin.add_subparsers(dest="admin_action", required=True)
    p = cmd("register", cmd_register, "register or update an address and add its public keys", admin_acts)
    p.add_argument("--data-dir", required=True, help="the server's data folder")
    p.add_argument("--public", required=True, help="the .pub.json from keygen")
    p.add_argument("--kind", choices=["agency", "unit"], required=True, help="an agency, or a unit's address")
    p.add_argument("--name", required=True, help="the name shown in the directory")
    p.add_argument("--unit", help="the unit's id (units only)")
    p.add_argument("--types", help="accepted document types, comma-separated (default: all)")
    p.add_argument("--max-bytes", type=int, default=30 * 1024 * 1024, help="largest content accepted")
    p.add_argument("--rate", type=int, default=600, help="messages this address may send per minute")
    p.add_argument("--oncall", action="append", help="e-mail of an on-call contact for urgent documents "
                   "(units; repeat for more; never published)")
    p = cmd("retire-key", cmd_retire_key, "stop using a key (by kid)", admin_acts)
    p.add_argument("--data-dir", required=True, help="the server's data folder")
    p.add_argument("kid")
    p = cmd("endpoint-key", cmd_endpoint_key, "show the endpoint's signing key and thumbprint (to publish)",
            admin_acts)
    p.add_argument("--data-dir", required=True, help="the server's data folder")
    p = cmd("demo-keys", cmd_demo_keys, "demo only: key files for Polisen, Försäkringskassan and two unit "
            "addresses, public keys registered")
    p.add_argument("--data-dir", required=True, help="the demo server's data folder")
    p.add_argument("--keys-dir", required=True, help="where to write the private key files")
    p.add_argument("--oncall", action="append", help="on-call e-mail for the demo units")
    p.add_argument("--server", help="the running demo server: share each unit address key with staff browsers "
                   "(wrapped to the unit key) when the unit has a unit key")
