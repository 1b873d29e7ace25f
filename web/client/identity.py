"""Holding a unit's identity key on a supervisor's client (docs/protocol.md §18): made here, kept in the
client's folder (readable by its owner only), used to sign the unit's certificates, given to a second
supervisor's device (sealed to it, signed by the identity), taken up from such a seal, handed over to a next
key, and published as the signed file the municipality puts on its own web site. The demo key steward is
the holder of the demo unit's identity; a supervisor's browser holds it the same way (js/identity.js)."""
from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

from crypto.encoding import b64u, unb64u_len
from crypto.identityseal import open_identity_seal, seal_identity
from crypto.keys import DevicePublicKeys
from crypto.sign import ed25519_public
from crypto.unitcert import (
    UnitCert,
    device_subject,
    epoch_subject,
    identity_file,
    identity_subject,
    revoke_subject,
    sign_cert,
)
from crypto.wrap import WrappedKey
from web.client.keystore import write_private_json
from web.client.transport import ClientError

log = logging.getLogger("samtal.identity")


class UnitIdentityHolder:
    """The unit identity seed of one supervisor's client. `published` is the folder where the public identity
    file is written for the municipality's web site (in the demo: the steward's folder, never the server's)."""

    def __init__(self, session: Any, published: Path | None = None) -> None:
        self.session = session
        self.seed: bytes | None = None
        self.published = published or Path(session.keystore.folder).parent / "published"

    @property
    def unit_id(self) -> str:
        return str(self.session.user["unit_id"])

    @property
    def path(self) -> Path:
        return Path(self.session.keystore.folder) / f"unit-identity-{self.unit_id}.json"

    @property
    def holds(self) -> bool:
        return self.seed is not None

    def _load(self) -> bytes | None:
        if not self.path.exists():
            return None
        return unb64u_len(json.loads(self.path.read_text(encoding="utf-8"))["seed"], 32, "identity seed")

    def _save(self, seed: bytes) -> None:
        write_private_json(self.path, {"unit_id": self.unit_id, "seed": b64u(seed)})

    def publish(self) -> Path:
        """Write the signed identity file the municipality hosts (https://<municipality>/.well-known/...)."""
        assert self.seed is not None
        self.published.mkdir(parents=True, exist_ok=True)
        target = self.published / f"{self.unit_id}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(identity_file(self.unit_id, self.seed), indent=1), encoding="utf-8")
        os.replace(tmp, target)
        return target

    async def _file(self, cert: UnitCert) -> None:
        await self.session.transport.call("POST", f"/api/units/{self.unit_id}/certificates",
                                          {"certificate": cert.to_json()})

    def _sign(self, kind: str, subject: bytes, seed: bytes | None = None) -> UnitCert:
        key = seed or self.seed
        assert key is not None
        return sign_cert(key, self.unit_id, kind, subject, int(time.time() * 1000))

    async def bootstrap(self) -> None:
        """Take up the unit's identity: make it when the unit has none (the genesis certificate, then this
        device's own certificate and its own seal), or go on holding it when the unit's checked chain ends in
        the key kept here, or in the key another holder sealed to this device."""
        self.seed = self._load()
        trust = await self.session.unit_trust(self.unit_id, refresh=True)
        if trust is None:
            self.seed = self.seed or secrets.token_bytes(32)
            self._save(self.seed)
            await self._file(self._sign("identity", identity_subject(ed25519_public(self.seed))))
            log.info("unit identity created")
        elif self.seed is None or ed25519_public(self.seed) != trust.current_key:
            self.seed = await self._from_seal(trust.current_key)
            if self.seed is None:
                log.warning("this client does not hold the unit's current identity key")
                return
            self._save(self.seed)
        self.publish()
        me = self.session.device.keys.public
        try:
            await self.certify_device(self.session.device_id, me, self.session.user["id"])
            await self.give_to(self.session.device_id)
        except ClientError as error:
            log.warning("own device not certified", extra={"code": error.code})
        self.session._units.pop(self.unit_id, None)

    async def _from_seal(self, current_key: bytes) -> bytes | None:
        """The identity seed another holder sealed to this device, checked (signed by the identity, and the
        seed of the chain's current key); None when there is no such seal."""
        answer = await self.session.transport.call("GET", f"/api/units/{self.unit_id}/identity/seals")
        mine = answer.get("mine")
        if mine is None:
            return None
        wrapped = WrappedKey(unb64u_len(mine["enc"], 32, "enc"), unb64u_len(mine["ct"], 48, "ct"))
        return open_identity_seal(self.session.device.keys.kem_priv, self.unit_id, self.session.device_id,
                                  current_key, wrapped, unb64u_len(mine["signature"], 64, "signature"))

    async def give_to(self, device_id: str) -> None:
        """Seal the identity seed to a supervisor's device (its keys checked against its id), so that it holds
        the identity too: after comparing its safety number, as for an approval. The server keeps ciphertext."""
        assert self.seed is not None
        keys = await self.session.device_keys(device_id)
        wrapped, signature = seal_identity(self.seed, self.unit_id, device_id, keys.kem_pub)
        await self.session.transport.call("POST", f"/api/units/{self.unit_id}/identity/seals", {
            "device_id": device_id, **wrapped.to_json(), "signature": b64u(signature)})

    async def certify_device(self, device_id: str, keys: DevicePublicKeys, user_id: str) -> None:
        if self.seed is not None:
            await self._file(self._sign("device", device_subject(device_id, keys, user_id)))
            self.session._units.pop(self.unit_id, None)

    async def revoke_device(self, device_id: str) -> None:
        if self.seed is not None:
            await self._file(self._sign("revoke", revoke_subject(device_id)))
            self.session._units.pop(self.unit_id, None)

    async def certify_epoch(self, epoch: int, unit_pub: bytes) -> None:
        if self.seed is not None:
            await self._file(self._sign("epoch", epoch_subject(epoch, unit_pub)))
            self.session._units.pop(self.unit_id, None)

    async def hand_over(self) -> bytes:
        """Rotate the unit identity: a new key, announced by a hand-over certificate the current key signs,
        then published. Clients that pinned the old key follow the hand-over; certificates signed before it
        stay valid, and from now on only the new key signs."""
        assert self.seed is not None
        new_seed = secrets.token_bytes(32)
        await self._file(self._sign("handover", identity_subject(ed25519_public(new_seed))))
        self._save(new_seed)
        self.seed = new_seed
        self.publish()
        self.session._units.pop(self.unit_id, None)
        await self.give_to(self.session.device_id)  # the other supervisors are given the new key anew
        return ed25519_public(new_seed)
