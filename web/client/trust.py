"""What a client trusts and remembers (docs/protocol.md §18-19): the unit identities it pinned on first use,
the key log's signing key and the newest log head it has seen. Each unit's certificates are checked here,
with their inclusion in the log and the log's consistency with every head seen before, before the session
uses any key or device of the unit. Kept in the client's folder beside its device key."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from crypto.encoding import b64u, unb64u, unb64u_len
from crypto.errors import CryptoError, MalformedError
from crypto.merkle import (
    TreeHead,
    is_fork,
    leaf_bytes,
    leaf_hash,
    unit_cert_leaf_body,
    verify_consistency,
    verify_inclusion,
)
from crypto.unitcert import (
    ChainError,
    UnitCert,
    UnitIdentityChanged,
    UnitTrust,
    evaluate_chain,
    load_identity_file,
    unit_fingerprint,
)
from web.client.keystore import write_private_json
from web.client.transport import ClientError, Transport


class TrustFile:
    """trust.json in the client's folder: {log_key, head, units: {unit_id: {identity_key, file_checked}}}."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / "trust.json"
        self.data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        self.data.setdefault("units", {})

    def save(self) -> None:
        write_private_json(self.path, self.data)

    def pinned(self, unit_id: str) -> bytes | None:
        entry = self.data["units"].get(unit_id)
        return unb64u(entry["identity_key"]) if entry else None


class LogWatcher:
    """Keeps the newest signed head of the key log and checks every new one against it."""

    def __init__(self, transport: Transport, trust: TrustFile) -> None:
        self.transport = transport
        self.trust = trust

    async def accept(self, answer: dict[str, Any]) -> TreeHead:
        """Check a head the server gave (with its log key): signed by the pinned log key, and consistent with
        the newest head seen before (RFC 9162 consistency proof). Keeps the newer of the two."""
        log_key = unb64u_len(answer["log_key"], 32, "log_key")
        head = TreeHead.from_json(answer["head"])
        pinned = self.trust.data.get("log_key")
        if pinned is not None and unb64u(pinned) != log_key:
            raise ClientError("log_key_changed", "the key transparency log is signed by another key than before: "
                                                 "the server may be showing another log")
        if not head.verifies(log_key):
            raise ClientError("log_fork", "the key log's head is not signed by the log's key")
        seen = TreeHead.from_json(self.trust.data["head"]) if "head" in self.trust.data else None
        if seen is not None:
            await self.check_consistent(seen, head)
        self.trust.data["log_key"] = b64u(log_key)
        if seen is None or head.size >= seen.size:
            self.trust.data["head"] = head.to_json()
        self.trust.save()
        return head

    async def check_consistent(self, a: TreeHead, b: TreeHead) -> None:
        """Raise log_fork unless the smaller tree is a prefix of the larger (two heads of one log)."""
        if is_fork(a, b):
            raise ClientError("log_fork", "two heads of the key log with the same size and different roots: "
                                          "the server showed two different logs")
        small, large = (a, b) if a.size <= b.size else (b, a)
        if small.size == large.size or small.size == 0:
            return
        proof = (await self.transport.call("GET", "/api/log/consistency",
                                           params={"first": small.size, "second": large.size}))["proof"]
        if not verify_consistency(small.size, large.size, small.root, large.root, [unb64u(p) for p in proof]):
            raise ClientError("log_fork", "the key log is not consistent with a head seen before: the server "
                                          "rewrote or forked the log")


def own_identity_urls() -> dict[str, str]:
    """Where the municipality publishes each unit's identity file, as this client is configured
    (SAMTAL_UNIT_IDENTITY_URLS in its own environment, the server's format)."""
    from web.config import parse_unit_identity_urls

    return parse_unit_identity_urls(os.environ.get("SAMTAL_UNIT_IDENTITY_URLS", ""))


async def fetch_identity_file(url: str, unit_id: str) -> bytes:
    """The identity key the municipality publishes for the unit (https, loopback http, or a local file)."""
    parts = urlsplit(url)
    try:
        if parts.scheme == "file":
            text = Path(parts.path).read_text(encoding="utf-8")
        else:
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(url)
                response.raise_for_status()
                text = response.text
        return load_identity_file(text, unit_id)
    except (OSError, httpx.HTTPError) as exc:
        raise ClientError("identity_unreachable", f"the unit's published identity could not be read: "
                                                  f"{type(exc).__name__}") from None
    except CryptoError as exc:
        raise ClientError("identity_mismatch", f"the unit's published identity file does not verify: {exc}") from None


async def check_unit(transport: Transport, trust: TrustFile, log: LogWatcher, unit_id: str) -> UnitTrust | None:
    """The unit's checked certificates, or None while the unit has no identity and none was pinned.

    Refusals (ClientError): `unit_identity_changed` (not reachable from the pinned key by hand-overs, or gone),
    `identity_mismatch` (the municipality's file names another key), `log_fork`, `not_in_log`, `bad_chain`."""
    answer = await transport.call("GET", f"/api/units/{unit_id}/identity")
    head = await log.accept(answer)
    certs: list[UnitCert] = []
    last = -1
    for item in answer["certificates"]:
        try:
            cert = UnitCert.from_json(item)
            leaf = leaf_bytes("unit-cert", item["logged_at"], unit_cert_leaf_body(cert.signed_bytes(), cert.signature))
            proof = [unb64u(h) for h in item["inclusion"]]
        except (MalformedError, KeyError, TypeError):
            raise ClientError("bad_chain", "a unit certificate is malformed") from None
        index = item["log_index"]
        if not isinstance(index, int) or index <= last or not verify_inclusion(leaf_hash(leaf), index, head.size,
                                                                               proof, head.root):
            raise ClientError("not_in_log", "a unit certificate is not in the key log the server signed")
        last = index
        certs.append(cert)
    pinned = trust.pinned(unit_id)
    if not certs:
        if pinned is not None:
            raise ClientError("unit_identity_changed", _changed_warning(unit_id, pinned, None))
        return None
    try:
        unit = evaluate_chain(unit_id, certs, pinned)
    except UnitIdentityChanged:
        raise ClientError("unit_identity_changed", _changed_warning(unit_id, pinned, certs[0].signer)) from None
    except (ChainError, MalformedError) as exc:
        raise ClientError("bad_chain", f"the unit's certificates do not verify: {exc}") from None
    entry = trust.data["units"].get(unit_id, {})
    # The client's own setting names the municipality's file where it has one, so that the server cannot point
    # it elsewhere (as the browser's signed code does); otherwise the address the server passes on.
    url = own_identity_urls().get(unit_id) or answer.get("identity_url")
    if url and entry.get("file_checked") != b64u(unit.current_key):
        if await fetch_identity_file(url, unit_id) != unit.current_key:
            raise ClientError("identity_mismatch", "the municipality publishes another identity key for the unit "
                                                   "than the server shows: stop, and call the unit")
        entry["file_checked"] = b64u(unit.current_key)
    entry.update(identity_key=b64u(unit.current_key), fingerprint=unit.fingerprint())
    trust.data["units"][unit_id] = entry
    trust.save()
    return unit


def _changed_warning(unit_id: str, pinned: bytes | None, shown: bytes | None) -> str:
    was = unit_fingerprint(unit_id, pinned) if pinned else "?"
    now = unit_fingerprint(unit_id, shown) if shown else "none"
    return (f"WARNING: the identity of unit {unit_id} changed without a hand-over from the key you trusted "
            f"(was {was}, now {now}). Nothing is sent or accepted for this unit. Compare the safety number on "
            f"your letter from the municipality and call the unit.")
