"""The unit identities' certificates and the key transparency log (migration 0017, docs/protocol.md §18-19).

The log is derived from the key tables: whatever reaches them, by any code path or by an operator editing the
database, is appended before the next head is signed."""
from __future__ import annotations

from chat.storage.key_log import FiledCert, IdentitySeal, KeyLogStore
from chat.storage.sql import Db, Engine
from crypto.merkle import device_leaf_body, leaf_bytes, revoked_leaf_body, unit_cert_leaf_body, unit_epoch_leaf_body
from crypto.unitcert import UnitCert


def _unlogged(db: Db) -> list[tuple[str, str, str, bytes]]:
    """(ref, kind, subject, body) of every key record not yet in the log, each kind in the order stored."""
    pending: list[tuple[str, str, str, bytes]] = []
    for dev_id, user_id, sign_pub, kem_pub in db.execute(
            "SELECT d.id, d.user_id, d.sign_pub, d.kem_pub FROM devices d LEFT JOIN key_log l"
            " ON l.ref = 'device:' || d.id WHERE l.idx IS NULL ORDER BY d.created_at, d.id"):
        pending.append((f"device:{dev_id}", "device", f"user:{user_id}",
                        device_leaf_body(user_id, dev_id, bytes(sign_pub), bytes(kem_pub))))
    for dev_id, user_id in db.execute(
            "SELECT d.id, d.user_id FROM devices d LEFT JOIN key_log l ON l.ref = 'revoked:' || d.id"
            " WHERE d.revoked_at IS NOT NULL AND l.idx IS NULL ORDER BY d.revoked_at, d.id"):
        pending.append((f"revoked:{dev_id}", "revoked", f"user:{user_id}", revoked_leaf_body(user_id, dev_id)))
    for unit_id, epoch, pub, by, sig in db.execute(
            "SELECT e.unit_id, e.epoch, e.public_key, e.created_by_device, e.signature FROM unit_key_epochs e"
            " LEFT JOIN key_log l ON l.ref = 'unit-epoch:' || e.unit_id || ':' || e.epoch"
            " WHERE l.idx IS NULL ORDER BY e.created_at, e.epoch"):
        pending.append((f"unit-epoch:{unit_id}:{epoch}", "unit-epoch", f"unit:{unit_id}",
                        unit_epoch_leaf_body(unit_id, epoch, bytes(pub), by, bytes(sig))))
    for row in db.execute(
            "SELECT c.id, c.unit_id, c.kind, c.subject, c.issued_at, c.signer, c.signature FROM unit_certificates c"
            " LEFT JOIN key_log l ON l.ref = 'unit-cert:' || c.id WHERE l.idx IS NULL ORDER BY c.id"):
        cert = UnitCert(row[1], row[2], bytes(row[3]), row[4], bytes(row[5]), bytes(row[6]))
        pending.append((f"unit-cert:{row[0]}", "unit-cert", f"unit:{row[1]}",
                        unit_cert_leaf_body(cert.signed_bytes(), cert.signature)))
    return pending


class SqlKeyLogStore(KeyLogStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def add_certificate(self, cert: UnitCert, at: int) -> int:
        return await self.engine.transaction(lambda db: int(db.execute(
            "INSERT INTO unit_certificates (unit_id, kind, subject, issued_at, signer, signature, filed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", (cert.unit_id, cert.kind, cert.subject, cert.issued_at,
                                                          cert.signer, cert.signature, at)).fetchone()[0]))

    async def certificates(self, unit_id: str) -> list[FiledCert]:
        def read(db: Db) -> list[FiledCert]:
            rows = db.execute(
                "SELECT c.id, c.unit_id, c.kind, c.subject, c.issued_at, c.signer, c.signature, l.idx, l.logged_at"
                " FROM unit_certificates c LEFT JOIN key_log l ON l.ref = 'unit-cert:' || c.id"
                " WHERE c.unit_id = ? ORDER BY CASE WHEN l.idx IS NULL THEN 1 ELSE 0 END, l.idx, c.id",
                (unit_id,)).fetchall()
            return [FiledCert(r[0], UnitCert(r[1], r[2], bytes(r[3]), r[4], bytes(r[5]), bytes(r[6])), r[7], r[8])
                    for r in rows]
        return await self.engine.transaction(read)

    async def log_new_records(self, at: int, after_row: int) -> list[tuple[int, bytes]]:
        def append(db: Db) -> list[tuple[int, bytes]]:
            for ref, kind, subject, body in _unlogged(db):
                db.execute("INSERT INTO key_log (ref, kind, subject, leaf, logged_at) VALUES (?, ?, ?, ?, ?)",
                           (ref, kind, subject, leaf_bytes(kind, at, body), at))
            return [(int(r[0]), bytes(r[1])) for r in
                    db.execute("SELECT idx, leaf FROM key_log WHERE idx > ? ORDER BY idx", (after_row,))]
        return await self.engine.transaction(append)

    async def all_leaves(self) -> list[tuple[int, bytes]]:
        return await self.engine.transaction(lambda db: [(int(r[0]), bytes(r[1])) for r in db.execute(
            "SELECT idx, leaf FROM key_log ORDER BY idx")])

    async def leaves(self, start: int, count: int) -> list[bytes]:
        return await self.engine.transaction(lambda db: [bytes(r[0]) for r in db.execute(
            "SELECT leaf FROM key_log ORDER BY idx LIMIT ? OFFSET ?", (count, start))])

    async def leaves_of(self, subject: str) -> list[tuple[int, bytes]]:
        return await self.engine.transaction(lambda db: [(int(r[0]), bytes(r[1])) for r in db.execute(
            "SELECT idx, leaf FROM key_log WHERE subject = ? ORDER BY idx", (subject,))])

    async def put_identity_seal(self, seal: IdentitySeal) -> None:
        def put(db: Db) -> None:
            db.execute("DELETE FROM unit_identity_seals WHERE unit_id = ? AND identity_key = ? AND device_id = ?",
                       (seal.unit_id, seal.identity_key, seal.device_id))
            db.execute("INSERT INTO unit_identity_seals (unit_id, identity_key, device_id, enc, ct, signature,"
                       " sealed_by_device, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (seal.unit_id, seal.identity_key, seal.device_id, seal.enc, seal.ct, seal.signature,
                        seal.sealed_by_device, seal.created_at))
        await self.engine.transaction(put)

    async def identity_seals(self, unit_id: str, identity_key: bytes) -> list[IdentitySeal]:
        return await self.engine.transaction(lambda db: [IdentitySeal(
            r[0], bytes(r[1]), r[2], bytes(r[3]), bytes(r[4]), bytes(r[5]), r[6], r[7]) for r in db.execute(
            "SELECT unit_id, identity_key, device_id, enc, ct, signature, sealed_by_device, created_at"
            " FROM unit_identity_seals WHERE unit_id = ? AND identity_key = ? ORDER BY created_at, device_id",
            (unit_id, identity_key))])
