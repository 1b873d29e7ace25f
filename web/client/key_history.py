"""History links in the Python client (docs/protocol.md section 17): from the newest key epoch it was given, a
device opens every older one by following the links each newer epoch keeps of the one before it; a key
holder adds the links when it makes an epoch (or later, for epochs made before there were links)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from crypto.encoding import b64u, unb64u
from crypto.errors import CryptoError
from crypto.history import (
    open_case_history,
    open_unit_history,
    seal_case_history,
    seal_unit_history,
    sign_history,
    verify_history,
)
from crypto.keys import DeviceKeys, DevicePublicKeys
from crypto.wrap import verify_unit_epoch

Opener = Callable[[int, bytes, int, bytes], Awaitable[bytes]]


async def walk_links(device_keys: Callable[[str], Awaitable[DevicePublicKeys]], kind: str, target: str,
                     links: list[dict[str, Any]], held: dict[tuple[str, int], bytes], open_link: Opener) -> None:
    """Open older epochs into `held` from the epochs already there, newest first, as far as the links reach. A
    link that is not signed by the device named, or does not open, is skipped (another may reach the epoch)."""
    for _ in range(len(links)):  # bounded: each pass opens at least one more epoch, or the walk stops
        progress = False
        for link in sorted(links, key=lambda k: (-k["epoch"], -k["sealed_epoch"])):
            epoch, sealed = link["epoch"], link["sealed_epoch"]
            if (target, epoch) not in held or (target, sealed) in held:
                continue
            raw = unb64u(link["link"])
            signer = await device_keys(link["signer_device"])
            if not verify_history(signer, unb64u(link["signature"]), kind, target, epoch, sealed, raw):
                continue
            try:
                held[(target, sealed)] = await open_link(epoch, held[(target, epoch)], sealed, raw)
            except CryptoError:
                continue
            progress = True
        if not progress:
            return


def unit_opener(unit_id: str, epochs: dict[int, dict[str, Any]],
                device_keys: Callable[[str], Awaitable[DevicePublicKeys]]) -> Opener:
    """Opens a unit link and checks the older key against that epoch's publication, itself checked against the
    signature of the device that made it (as for a grant)."""
    async def open_link(epoch: int, priv: bytes, sealed: int, raw: bytes) -> bytes:
        record = epochs.get(sealed)
        if record is None:
            raise CryptoError("a history link names a unit key epoch that was never published")
        public_key = unb64u(record["public_key"])
        creator = await device_keys(record["created_by_device"])
        if not verify_unit_epoch(creator, unb64u(record["signature"]), unit_id, sealed, public_key):
            raise CryptoError("a unit key epoch is not signed by the device that made it")
        return open_unit_history(unit_id, epoch, priv, sealed, raw, public_key)
    return open_link


def case_opener(case_id: str) -> Opener:
    async def open_link(epoch: int, key: bytes, sealed: int, raw: bytes) -> bytes:
        return open_case_history(case_id, epoch, key, sealed, raw)
    return open_link


def unit_link(keys: DeviceKeys, unit_id: str, epoch: int, unit_pub: bytes, sealed_epoch: int,
              sealed_priv: bytes) -> dict[str, Any]:
    """The link by which unit key `epoch` (its public key) seals epoch `sealed_epoch`, signed, as the API takes it."""
    raw = seal_unit_history(unit_id, epoch, unit_pub, sealed_epoch, sealed_priv)
    return {"epoch": epoch, "sealed_epoch": sealed_epoch, "link": b64u(raw),
            "signature": b64u(sign_history(keys, "unit", unit_id, epoch, sealed_epoch, raw))}


def case_link(keys: DeviceKeys, case_id: str, epoch: int, case_key: bytes, sealed_epoch: int,
              sealed_key: bytes) -> dict[str, Any]:
    """The link by which case key `epoch` seals case key `sealed_epoch`, signed, as the API takes it."""
    raw = seal_case_history(case_id, epoch, case_key, sealed_epoch, sealed_key)
    return {"epoch": epoch, "sealed_epoch": sealed_epoch, "link": b64u(raw),
            "signature": b64u(sign_history(keys, "case", case_id, epoch, sealed_epoch, raw))}
