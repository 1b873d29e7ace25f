"""The exchange tables (migration 0005), for both engines: the directory, messages, receipts and used token
ids. An envelope or receipt and the audit row that records it commit together."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chat.audit.chain import AuditEvent, AuditRow
from chat.exchange.envelope import Envelope
from chat.model import now_ms
from chat.storage.exchange import (
    Address,
    AddressKeyBehind,
    AddressKeyWrap,
    ExchangeStore,
    Message,
    Receipt,
    SignWithLog,
)
from chat.storage.sql import Db, Engine
from chat.storage.sql.audit import AUDIT_COLS, audit_row

_MSG_COLS = ("id, msg_id, sender, recipient, conversation, in_reply_to, doc_type, priority, label, created,"
             " expires, envelope, envelope_sha256, content, stored_at, audit_id, acked_at, alerted_at")


class SqlExchangeStore(ExchangeStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def _run(self, fn: Callable[[Db], Any]) -> Any:
        return await self.engine.transaction(fn)

    def _audit(self, db: Db, event: AuditEvent) -> tuple[int, str]:
        # The writer's own chained insert, inside this transaction: the row and what it records commit
        # together, and the receipt can name the row's id and hash.
        (row_id,) = self.engine.insert_audit(db, [event])
        (digest,) = db.execute("SELECT hash FROM audit_log WHERE id = ?", (row_id,)).fetchone()
        return row_id, bytes(digest).hex()

    # -- directory -------------------------------------------------------------------------------
    async def put_address(self, a: Address, audit: AuditEvent) -> None:
        """Register or update an address and add its keys, with the audit row that records who did it."""
        def put(db: Db) -> None:
            self._audit(db, audit)
            db.execute(
                "INSERT INTO exchange_addresses (address, kind, name, unit_id, document_types, max_bytes,"
                " rate_per_minute, oncall, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address)"
                " DO UPDATE SET name = excluded.name, document_types = excluded.document_types,"
                " max_bytes = excluded.max_bytes, rate_per_minute = excluded.rate_per_minute,"
                " oncall = excluded.oncall",
                (a.address, a.kind, a.name, a.unit_id, json.dumps(a.document_types), a.max_bytes,
                 a.rate_per_minute, json.dumps(a.oncall), now_ms()))
            for key in a.keys:
                db.execute("INSERT INTO exchange_keys (kid, address, use, jwk, created_at) VALUES (?, ?, ?, ?, ?)"
                           " ON CONFLICT (kid) DO NOTHING", (key["kid"], a.address, key["use"], json.dumps(key),
                                                             now_ms()))
        await self._run(put)

    async def retire_key(self, kid: str, audit: AuditEvent) -> bool:
        """Stop using a key; the audit row records the attempt, and whether there was such a key."""
        def retire(db: Db) -> bool:
            done = bool(db.execute("UPDATE exchange_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL",
                                   (now_ms(), kid)).rowcount)
            self._audit(db, audit if done else replace(audit, outcome="denied", reason="unknown_key"))
            return done
        return bool(await self._run(retire))

    async def addresses(self, address: str | None = None) -> list[Address]:
        def read(db: Db) -> list[Address]:
            where, args = ("WHERE address = ?", (address,)) if address else ("", ())
            rows = db.execute("SELECT address, kind, name, unit_id, document_types, max_bytes, rate_per_minute,"
                              f" oncall FROM exchange_addresses {where} ORDER BY address", args).fetchall()
            out = []
            for r in rows:
                keys = [json.loads(k) for (k,) in db.execute(
                    "SELECT jwk FROM exchange_keys WHERE address = ? AND retired_at IS NULL ORDER BY created_at,"
                    " kid", (r[0],))]
                out.append(Address(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], json.loads(r[7]), keys))
            return out
        return list(await self._run(read))

    async def address(self, address: str) -> Address | None:
        found = await self.addresses(address)
        return found[0] if found else None

    # -- messages --------------------------------------------------------------------------------
    async def store_message(self, env: Envelope, envelope: str, envelope_sha256: str, content: str,
                            audit: AuditEvent, sign: SignWithLog) -> tuple[Message, Receipt, bool]:
        """Store a new message and its `received` receipt with its audit row. When the id exists, returns
        the stored message and its first receipt with created=False and stores nothing."""
        def insert(db: Db) -> tuple[Message, Receipt, bool]:
            existing = self._message(db, env.id)
            if existing is not None:
                return existing, self._receipts(db, existing.row)[0], False
            log_id, log_hash = self._audit(db, audit)
            at = now_ms()
            cur = db.execute(
                "INSERT INTO exchange_messages (msg_id, sender, recipient, conversation, in_reply_to, doc_type,"
                " priority, label, created, expires, envelope, envelope_sha256, content, stored_at, audit_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (env.id, env.sender, env.recipient, env.conversation, env.in_reply_to, env.type, env.priority,
                 env.label, env.created, env.expires, envelope, envelope_sha256, content, at, log_id))
            (row_id,) = cur.fetchone()
            receipt = Receipt("received", sign(log_id, log_hash), at, log_id, None)
            db.execute("INSERT INTO exchange_receipts (message, status, jws, at, audit_id) VALUES (?, ?, ?, ?, ?)",
                       (row_id, "received", receipt.jws, at, log_id))
            stored = self._message(db, env.id)
            assert stored is not None
            return stored, receipt, True
        result: tuple[Message, Receipt, bool] = await self._run(insert)
        return result

    async def add_receipt(self, message: Message, status: str, audit: AuditEvent, sign: SignWithLog,
                          by_user: str | None) -> Receipt:
        def insert(db: Db) -> Receipt:
            log_id, log_hash = self._audit(db, audit)
            receipt = Receipt(status, sign(log_id, log_hash), now_ms(), log_id, by_user)
            db.execute("INSERT INTO exchange_receipts (message, status, jws, at, audit_id, by_user)"
                       " VALUES (?, ?, ?, ?, ?, ?)", (message.row, status, receipt.jws, receipt.at, log_id, by_user))
            return receipt
        result: Receipt = await self._run(insert)
        return result

    @staticmethod
    def _message(db: Db, msg_id: str) -> Message | None:
        row = db.execute(f"SELECT {_MSG_COLS} FROM exchange_messages WHERE msg_id = ?", (msg_id,)).fetchone()
        return Message(*row) if row else None

    @staticmethod
    def _receipts(db: Db, row: int) -> list[Receipt]:
        return [Receipt(*r) for r in db.execute(
            "SELECT status, jws, at, audit_id, by_user FROM exchange_receipts WHERE message = ? ORDER BY id", (row,))]

    async def message(self, msg_id: str) -> Message | None:
        result: Message | None = await self._run(lambda db: self._message(db, msg_id))
        return result

    async def receipts(self, message: Message) -> list[Receipt]:
        result: list[Receipt] = await self._run(lambda db: self._receipts(db, message.row))
        return result

    async def messages_to(self, recipients: list[str], only_new: bool, limit: int = 100) -> list[Message]:
        marks = ",".join("?" * len(recipients))
        new = " AND acked_at IS NULL" if only_new else ""
        rows = await self._run(lambda db: db.execute(
            f"SELECT {_MSG_COLS} FROM exchange_messages WHERE recipient IN ({marks}){new} ORDER BY id LIMIT ?",
            (*recipients, limit)).fetchall())
        return [Message(*r) for r in rows]

    async def messages_from(self, senders: list[str], limit: int = 100) -> list[Message]:
        marks = ",".join("?" * len(senders))
        rows = await self._run(lambda db: db.execute(
            f"SELECT {_MSG_COLS} FROM exchange_messages WHERE sender IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*senders, limit)).fetchall())
        return [Message(*r) for r in rows]

    async def ack(self, message: Message, at: int) -> None:
        await self._run(lambda db: db.execute(
            "UPDATE exchange_messages SET acked_at = coalesce(acked_at, ?) WHERE id = ?", (at, message.row)))

    async def count_since(self, sender: str, since_ms: int) -> int:
        (n,) = await self._run(lambda db: db.execute(
            "SELECT count(*) FROM exchange_messages WHERE sender = ? AND stored_at >= ?", (sender, since_ms)
        ).fetchone())
        return int(n)

    async def use_token(self, address: str, jti: str, expires_at: int) -> bool:
        """Remember a bearer token id until it expires; False when it was used before."""
        def use(db: Db) -> bool:
            db.execute("DELETE FROM exchange_token_ids WHERE expires_at < ?", (now_ms() // 1000,))
            return bool(db.execute("INSERT INTO exchange_token_ids (address, jti, expires_at) VALUES (?, ?, ?)"
                                   " ON CONFLICT DO NOTHING", (address, jti, expires_at)).rowcount)
        return bool(await self._run(use))

    # -- address keys wrapped to the unit key (migration 0009) --------------------------------------
    async def unit_epoch_public(self, unit_id: str, epoch: int) -> bytes | None:
        row = await self._run(lambda db: db.execute(
            "SELECT public_key FROM unit_key_epochs WHERE unit_id = ? AND epoch = ?", (unit_id, epoch)).fetchone())
        return bytes(row[0]) if row else None

    async def put_address_key_wrap(self, wrap: AddressKeyWrap, audit: AuditEvent) -> None:
        """Store (or replace) the wrap of one address key to one unit key epoch, with its audit row."""
        def put(db: Db) -> None:
            self._audit(db, audit)
            db.execute(
                "INSERT INTO exchange_address_key_wraps (kid, unit_epoch, address, unit_id, key_version, enc, ct,"
                " wrapped_by_device, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (kid, unit_epoch) DO UPDATE SET key_version = excluded.key_version, enc = excluded.enc,"
                " ct = excluded.ct, wrapped_by_device = excluded.wrapped_by_device,"
                " signature = excluded.signature, created_at = excluded.created_at",
                (wrap.kid, wrap.unit_epoch, wrap.address, wrap.unit_id, wrap.key_version, wrap.enc, wrap.ct,
                 wrap.wrapped_by_device, wrap.signature, now_ms()))
        await self._run(put)

    async def address_key_wraps(self, unit_id: str) -> list[AddressKeyWrap]:
        """The unit's address key wraps whose key is still active, newest unit epoch first."""
        rows = await self._run(lambda db: db.execute(
            "SELECT w.kid, w.unit_epoch, w.address, w.unit_id, w.key_version, w.enc, w.ct, w.wrapped_by_device,"
            " w.signature, k.use FROM exchange_address_key_wraps w JOIN exchange_keys k ON k.kid = w.kid"
            " WHERE w.unit_id = ? AND k.retired_at IS NULL ORDER BY w.unit_epoch DESC, w.address, k.use",
            (unit_id,)).fetchall())
        return [AddressKeyWrap(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), bytes(r[6]), r[7], bytes(r[8]), r[9])
                for r in rows]

    async def address_keys_behind(self, unit_id: str, unit_epoch: int) -> list[AddressKeyBehind]:
        """The unit's active address keys that have a wrap, but none to `unit_epoch` (derived, like the other
        pending key tasks: nothing is stored about them)."""
        rows = await self._run(lambda db: db.execute(
            "SELECT w.address, w.kid, k.use, max(w.key_version) FROM exchange_address_key_wraps w"
            " JOIN exchange_keys k ON k.kid = w.kid WHERE w.unit_id = ? AND k.retired_at IS NULL"
            " GROUP BY w.kid, w.address, k.use HAVING max(w.unit_epoch) < ? ORDER BY w.address, k.use", (unit_id, unit_epoch)).fetchall())
        return [AddressKeyBehind(*r) for r in rows]

    # -- urgent alerts ---------------------------------------------------------------------------
    async def unread_urgent(self, stored_before: int) -> list[Message]:
        rows = await self._run(lambda db: db.execute(
            f"SELECT {_MSG_COLS} FROM exchange_messages m WHERE priority = 'urgent' AND alerted_at IS NULL"
            " AND stored_at < ? AND recipient IN (SELECT address FROM exchange_addresses WHERE kind = 'unit')"
            " AND NOT EXISTS (SELECT 1 FROM exchange_receipts r WHERE r.message = m.id AND r.status = 'read')",
            (stored_before,)).fetchall())
        return [Message(*r) for r in rows]

    async def mark_alerted(self, message: Message, audit: AuditEvent) -> None:
        def mark(db: Db) -> None:
            db.execute("UPDATE exchange_messages SET alerted_at = ? WHERE id = ?", (now_ms(), message.row))
            self._audit(db, audit)
        await self._run(mark)

    # -- proof -----------------------------------------------------------------------------------
    async def audit_anchor(self) -> tuple[int, bytes, int] | None:
        """Where the kept audit log starts after `samtal audit prune`: the last removed row's id and hash,
        and when it was pruned (ms); None when nothing was pruned."""
        row = await self._run(lambda db: db.execute(
            "SELECT last_pruned_id, last_pruned_hash, pruned_at FROM audit_anchor").fetchone())
        return (row[0], bytes(row[1]), row[2]) if row else None

    async def audit_prune_rule(self) -> str | None:
        row = await self._run(lambda db: db.execute(
            "SELECT rule FROM retention_register WHERE record_kind = 'audit' ORDER BY id DESC LIMIT 1").fetchone())
        return str(row[0]) if row else None

    async def audit_rows(self, ids: list[int]) -> list[AuditRow]:
        marks = ",".join("?" * len(ids))
        rows = await self._run(lambda db: db.execute(
            f"SELECT {AUDIT_COLS} FROM audit_log WHERE id IN ({marks}) ORDER BY id", ids).fetchall())
        return [audit_row(r) for r in rows]

    async def append_audit(self, event: AuditEvent) -> int:
        return await self.engine.append_audit(event)
