"""The key transparency log (docs/protocol.md §19) and the unit identities' certificates (§18), server side.

The server files certificates and logs key records; it holds the log's signing key, which makes what it
shows attributable, not trustworthy: two clients comparing heads catch a server that shows them two logs.
It never holds a unit identity key (those are on the supervisors' devices)."""
from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chat.errors import BadSignature, Conflict, Forbidden, InvalidInput
from chat.model import Role, User, now_ms
from chat.policy import Action, decide
from chat.records import session_device
from crypto.encoding import b64u, unb64u_len
from crypto.errors import CryptoError, MalformedError
from crypto.keys import DevicePublicKeys
from crypto.merkle import TreeHead, consistency_proof, inclusion_proof, leaf_hash, root, sign_head
from crypto.sign import ed25519_public
from crypto.unitcert import DeviceCert, UnitCert, UnitTrust, evaluate_chain, parse_subject

if TYPE_CHECKING:
    from chat.storage import Storage
    from chat.storage.key_log import KeyLogStore

LOG_KEY_FILE = "key-log-signing.key"
MAX_ENTRIES = 1000


def load_log_seed(data_dir: Path) -> bytes:
    """The log's Ed25519 seed, made on first start and kept beside the database (readable by the server only)."""
    path = Path(data_dir) / LOG_KEY_FILE
    if path.exists():
        return unb64u_len(path.read_text(encoding="ascii").strip(), 32, "log key")
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(b64u(seed))
    return seed


class KeyLog:
    """Append-only Merkle log of key records, derived from the key tables: `sync` logs whatever is new."""

    def __init__(self, records: KeyLogStore, seed: bytes) -> None:
        self.records = records
        self._seed = seed
        self.public_key = ed25519_public(seed)
        self._hashes: list[bytes] | None = None
        self._position: dict[int, int] = {}  # key_log row id -> log index
        self._head: TreeHead | None = None
        self._lock = asyncio.Lock()

    async def sync(self) -> None:
        async with self._lock:
            if self._hashes is None:
                rows = await self.records.all_leaves()
                self._hashes = [leaf_hash(leaf) for _, leaf in rows]
                self._position = {row: i for i, (row, _) in enumerate(rows)}
            for row, leaf in await self.records.log_new_records(now_ms(), max(self._position, default=0)):
                self._position[row] = len(self._hashes)
                self._hashes.append(leaf_hash(leaf))

    def index_of(self, row: int | None) -> int | None:
        return None if row is None else self._position.get(row)

    @property
    def size(self) -> int:
        return len(self._hashes or [])

    async def head(self) -> TreeHead:
        await self.sync()
        assert self._hashes is not None
        if self._head is None or self._head.size != len(self._hashes):
            self._head = sign_head(self._seed, len(self._hashes), root(self._hashes), now_ms())
        return self._head

    def inclusion(self, index: int, size: int) -> list[bytes]:
        hashes = self._hashes or []
        if not 0 <= index < size <= len(hashes):
            raise InvalidInput("no such leaf in a tree of that size", code="invalid_field")
        return inclusion_proof(index, hashes[:size])

    def consistency(self, first: int, second: int) -> list[bytes]:
        hashes = self._hashes or []
        if not 0 < first <= second <= len(hashes):
            raise InvalidInput("first must be 1..second and second at most the log's size", code="invalid_field")
        return consistency_proof(first, hashes[:second])

    async def entries(self, start: int, end: int) -> list[bytes]:
        await self.sync()
        if not 0 <= start <= end or end - start > MAX_ENTRIES:
            raise InvalidInput(f"0 <= start <= end, at most {MAX_ENTRIES} entries", code="invalid_field")
        return await self.records.leaves(start, end - start)

    async def leaves_of(self, subject: str) -> list[tuple[int, bytes]]:
        """(log index, leaf) of every leaf about one user or unit."""
        await self.sync()
        rows = await self.records.leaves_of(subject)
        return [(self._position[row], leaf) for row, leaf in rows if row in self._position]


@dataclass(frozen=True)
class CertificationTasks:
    """What a holder of the unit identity should sign: staff devices approved (holding the current unit key
    epoch) but not certified, certified devices since revoked, unit key epochs not certified."""

    devices_to_certify: list[DeviceCert]
    devices_to_revoke: list[str]
    epochs_to_certify: list[tuple[int, bytes]]


class UnitIdentities:
    def __init__(self, store: Storage, log: KeyLog) -> None:
        from chat.keys.holders import IdentityHolders

        self.store = store
        self.log = log
        self.holders = IdentityHolders(store, self)  # who holds the identity key, sealed (§18, Holders)

    async def chain(self, unit_id: str) -> list[tuple[UnitCert, int | None, int | None]]:
        """The unit's certificates in log order, each with its log index and the time it was logged."""
        await self.log.sync()
        filed = await self.store.key_log.certificates(unit_id)
        return [(f.cert, self.log.index_of(f.log_row), f.logged_at) for f in filed]

    async def trust(self, unit_id: str) -> UnitTrust | None:
        certs = [c for c, _, _ in await self.chain(unit_id)]
        return evaluate_chain(unit_id, certs) if certs else None

    async def file(self, user: User, device_id: str, unit_id: str, cert: UnitCert) -> int:
        """File a certificate signed by the unit's identity key. The server checks the chain it would make,
        so that it does not store what every client would refuse; clients check it again themselves."""
        decision = decide(user, Action.UNIT_IDENTITY, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        await session_device(self.store, user, device_id)
        if cert.unit_id != unit_id:
            raise InvalidInput("the certificate is for another unit", code="wrong_target")
        existing = [c for c, _, _ in await self.chain(unit_id)]
        if cert.kind == "identity" and existing:
            raise Conflict("the unit has an identity; a new key needs a hand-over", code="identity_exists")
        try:
            evaluate_chain(unit_id, existing + [cert])  # raises for anything clients would refuse
        except MalformedError as exc:
            raise InvalidInput(f"malformed certificate: {exc}", code="invalid_field") from None
        except CryptoError:
            raise BadSignature("the certificate is not signed by the unit's current identity key",
                               code="bad_signature") from None
        if cert.kind == "device":
            await self._check_device_subject(unit_id, parse_subject("device", cert.subject))
        elif cert.kind == "epoch":
            epoch, unit_pub = parse_subject("epoch", cert.subject)
            if not any(e.epoch == epoch and e.public_key == unit_pub for e in await self.store.unit_key_epochs(unit_id)):
                raise InvalidInput("an epoch certificate must name a published unit key epoch", code="invalid_field")
        cert_id = await self.store.key_log.add_certificate(cert, now_ms())
        await self.log.sync()
        return cert_id

    async def _check_device_subject(self, unit_id: str, subject: DeviceCert) -> None:
        device = await self.store.get_device(subject.device_id)
        owner = await self.store.get_user(device.user_id) if device else None
        if (device is None or owner is None or device.user_id != subject.user_id or not owner.is_staff
                or owner.unit_id != unit_id):
            raise InvalidInput("a device certificate must name a staff device of the unit and its owner",
                               code="invalid_field")

    async def tasks(self, user: User, unit_id: str) -> CertificationTasks | None:
        """For a supervisor: what the unit identity should certify or revoke now (None: no identity yet)."""
        if user.role not in (Role.SUPERVISOR, Role.UNIT_ADMIN):
            return None
        trust = await self.trust(unit_id)
        if trust is None:
            return None
        epochs = await self.store.unit_key_epochs(unit_id)
        current = epochs[-1].epoch if epochs else 0
        granted = {g.device_id for g in await self.store.unit_key_grants(unit_id, current)} if current else set()
        certify = []
        for staff in await self.store.staff_of_unit(unit_id):
            for d in await self.store.devices_of_user(staff.id):
                if d.active and d.id in granted and trust.device(d.id) is None:
                    certify.append(DeviceCert(d.id, DevicePublicKeys(d.sign_pub, d.kem_pub), staff.id))
        revoke = []
        for device_id in trust.devices:
            if device_id in trust.revoked:
                continue
            device = await self.store.get_device(device_id)
            if device is None or not device.active:
                revoke.append(device_id)
        uncertified = [(e.epoch, e.public_key) for e in epochs if e.epoch not in trust.epochs]
        return CertificationTasks(certify, revoke, uncertified)
