"""SQL of the unit identity's certificates and of the key transparency log (migration 0017). Functions over
a connection, run inside one writer transaction (chat/keys/transparency.py)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from crypto.merkle import (
    device_leaf_body,
    leaf_bytes,
    revoked_leaf_body,
    unit_cert_leaf_body,
    unit_epoch_leaf_body,
)
from crypto.unitcert import UnitCert


@dataclass(frozen=True)
class FiledCert:
    id: int
    cert: UnitCert
    log_row: int | None  # the key_log row id; its log index is the row's position in the log
    logged_at: int | None


def add_certificate(db: sqlite3.Connection, cert: UnitCert, at: int) -> int:
    cur = db.execute("INSERT INTO unit_certificates (unit_id, kind, subject, issued_at, signer, signature, filed_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)", (cert.unit_id, cert.kind, cert.subject, cert.issued_at,
                                                       cert.signer, cert.signature, at))
    return int(cur.lastrowid or 0)


def certificates(db: sqlite3.Connection, unit_id: str) -> list[FiledCert]:
    """The unit's certificates in log order (those not logged yet last, in the order filed)."""
    rows = db.execute(
        "SELECT c.id, c.unit_id, c.kind, c.subject, c.issued_at, c.signer, c.signature, l.idx, l.logged_at"
        " FROM unit_certificates c LEFT JOIN key_log l ON l.ref = 'unit-cert:' || c.id"
        " WHERE c.unit_id = ? ORDER BY l.idx IS NULL, l.idx, c.id", (unit_id,)).fetchall()
    return [FiledCert(r[0], UnitCert(r[1], r[2], bytes(r[3]), r[4], bytes(r[5]), bytes(r[6])), r[7], r[8]) for r in rows]


def log_unlogged(db: sqlite3.Connection, at: int) -> list[bytes]:
    """Append a leaf for every key record not yet in the log: devices (citizens' and staff), revocations,
    unit key epochs and certificates, each in the order it was stored. Returns the new leaves in log order.
    Deriving the log from the tables (rather than from each code path that writes them) means nothing that
    reaches the tables, by any path or by an operator editing the file, escapes the log."""
    pending: list[tuple[str, str, str, bytes]] = []  # ref, kind, subject, body
    for dev_id, user_id, sign_pub, kem_pub in db.execute(
            "SELECT d.id, d.user_id, d.sign_pub, d.kem_pub FROM devices d LEFT JOIN key_log l"
            " ON l.ref = 'device:' || d.id WHERE l.idx IS NULL ORDER BY d.created_at, d.rowid"):
        pending.append((f"device:{dev_id}", "device", f"user:{user_id}",
                        device_leaf_body(user_id, dev_id, bytes(sign_pub), bytes(kem_pub))))
    for dev_id, user_id in db.execute(
            "SELECT d.id, d.user_id FROM devices d LEFT JOIN key_log l ON l.ref = 'revoked:' || d.id"
            " WHERE d.revoked_at IS NOT NULL AND l.idx IS NULL ORDER BY d.revoked_at, d.rowid"):
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
    leaves = []
    for ref, kind, subject, body in pending:
        leaf = leaf_bytes(kind, at, body)
        db.execute("INSERT INTO key_log (ref, kind, subject, leaf, logged_at) VALUES (?, ?, ?, ?, ?)",
                   (ref, kind, subject, leaf, at))
        leaves.append(leaf)
    return leaves


def all_leaves(db: sqlite3.Connection) -> list[tuple[int, bytes]]:
    """(row id, leaf) of the whole log in order; a leaf's log index is its position in this list."""
    return [(int(r[0]), bytes(r[1])) for r in db.execute("SELECT idx, leaf FROM key_log ORDER BY idx")]


def leaves_of(db: sqlite3.Connection, subject: str) -> list[tuple[int, bytes]]:
    """(row id, leaf) of every leaf about one user ("user:<id>") or unit ("unit:<id>")."""
    return [(int(r[0]), bytes(r[1])) for r in
            db.execute("SELECT idx, leaf FROM key_log WHERE subject = ? ORDER BY idx", (subject,))]
