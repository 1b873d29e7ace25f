"""Messages, receipts, inbox activity and attachments (chat/storage/messages.py) in SQL, for both engines.
Appends go through the engine's batching writer (chat/storage/sql/batching.py)."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chat.audit.chain import AuditEvent
from chat.model import Ack, CaseActivity, MessageMeta, ReceiptMarks, StoredMessage, now_ms
from chat.storage.sql import Db
from chat.storage.sql.core import SqlCore

# Grouped by an expression, not the column: by the column, SQLite walks the whole table in its primary key's
# (case_id) order to skip a sort, instead of reading only the recent rows through messages_stored_at.
STORED_SINCE = ("SELECT case_id || '' AS c, min(seq), max(seq) FROM messages WHERE stored_at >= ?"
                " GROUP BY c")

class SqlMessages(SqlCore):
    """MessageStore, over the engine."""

    def enqueue_message(self, case_id: str, msg_id: str, sender_device: str, sender_user: str,
                        envelope: bytes, audit: AuditEvent | None = None,
                        blobs: tuple[str, ...] = ()) -> asyncio.Future[Ack]:
        return self.engine.enqueue_message(case_id, msg_id, sender_device, sender_user, envelope, audit, blobs)

    async def messages_after(self, case_id: str, after_seq: int, limit: int) -> list[StoredMessage]:
        rows = await self._all(
            "SELECT case_id, seq, msg_id, sender_device, sender_user, envelope, stored_at FROM messages"
            " WHERE case_id = ? AND seq > ? ORDER BY seq LIMIT ?", (case_id, after_seq, limit))
        return [StoredMessage(*r) for r in rows]

    async def messages_stored_since(self, stored_at: int) -> list[tuple[str, int, int]]:
        rows = await self._all(STORED_SINCE, (stored_at,))
        return [(case_id, int(first), int(last)) for case_id, first, last in rows]

    async def last_seq(self, case_id: str) -> int:
        row = await self._one("SELECT coalesce(max(seq), 0) FROM messages WHERE case_id = ?", (case_id,))
        return int(row[0])

    async def recent_message_meta(self, case_id: str, limit: int) -> list[MessageMeta]:
        rows = await self._all(
            "SELECT * FROM (SELECT messages.case_id, messages.seq, messages.sender_user, users.role = 'citizen',"
            " messages.stored_at FROM messages JOIN users ON users.id = messages.sender_user"
            " WHERE messages.case_id = ? ORDER BY messages.seq DESC LIMIT ?) AS recent ORDER BY seq", (case_id, limit))
        return [MessageMeta(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    async def case_activity(self, case_id: str, user_id: str) -> CaseActivity:
        row = await self._one(
            "WITH m AS (SELECT messages.seq, messages.stored_at, messages.sender_user,"
            "                  users.role = 'citizen' AS from_citizen"
            "           FROM messages JOIN users ON users.id = messages.sender_user WHERE messages.case_id = ?),"
            " last_staff AS (SELECT coalesce(max(seq), 0) AS seq FROM m WHERE NOT from_citizen)"
            " SELECT (SELECT max(stored_at) FROM m),"
            "        (SELECT min(stored_at) FROM m, last_staff WHERE from_citizen AND m.seq > last_staff.seq),"
            "        (SELECT max(stored_at) FROM m WHERE from_citizen),"
            "        (SELECT count(*) FROM m WHERE sender_user != ? AND seq > coalesce("
            "            (SELECT read_seq FROM receipts WHERE case_id = ? AND user_id = ?), 0)),"
            "        (SELECT handled_at FROM case_state WHERE case_id = ?)",
            (case_id, user_id, case_id, user_id, case_id))
        return CaseActivity(*row)

    # Cases per statement of case_activities: well within SQLite's limit on variables.
    ACTIVITY_CHUNK = 400

    async def case_activities(self, case_ids: Sequence[str], user_id: str) -> dict[str, tuple[int, CaseActivity]]:
        """One pass over the cases' messages per chunk (grouped by case) instead of two statements a case:
        the inbox list of a unit with 2,000 cases went from 6,000 statements to a handful (bench/inbox_list.py)."""
        found: dict[str, tuple[int, CaseActivity]] = {}
        for start in range(0, len(case_ids), self.ACTIVITY_CHUNK):
            chunk = list(case_ids[start:start + self.ACTIVITY_CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = await self._all(
                "WITH m AS (SELECT messages.case_id, messages.seq, messages.stored_at, messages.sender_user,"
                "                  users.role = 'citizen' AS from_citizen"
                f"          FROM messages JOIN users ON users.id = messages.sender_user WHERE messages.case_id IN ({marks})),"
                " last_staff AS (SELECT case_id, max(seq) AS seq FROM m WHERE NOT from_citizen GROUP BY case_id)"
                " SELECT m.case_id, max(m.seq), max(m.stored_at),"
                "        min(CASE WHEN m.from_citizen AND m.seq > coalesce(ls.seq, 0) THEN m.stored_at END),"
                "        max(CASE WHEN m.from_citizen THEN m.stored_at END),"
                "        sum(CASE WHEN m.sender_user != ? AND m.seq > coalesce(r.read_seq, 0) THEN 1 ELSE 0 END),"
                "        (SELECT handled_at FROM case_state WHERE case_state.case_id = m.case_id)"
                " FROM m LEFT JOIN last_staff ls ON ls.case_id = m.case_id"
                " LEFT JOIN receipts r ON r.case_id = m.case_id AND r.user_id = ?"
                " GROUP BY m.case_id", (*chunk, user_id, user_id))
            for case_id, last_seq, *activity in rows:
                found[case_id] = (int(last_seq), CaseActivity(*activity))
            quiet = [c for c in chunk if c not in found]  # no messages yet; a case may still be marked handled
            handled = dict(await self._all(
                f"SELECT case_id, handled_at FROM case_state WHERE case_id IN ({','.join('?' * len(quiet))})",
                quiet)) if quiet else {}
            for case_id in quiet:
                found[case_id] = (0, CaseActivity(None, None, None, 0, handled.get(case_id)))
        return found

    async def mark_receipt(self, case_id: str, user_id: str, *, delivered_seq: int, read_seq: int) -> ReceiptMarks:
        delivered_seq = max(delivered_seq, read_seq)  # what was read was delivered
        await self._write([(
            "INSERT INTO receipts (case_id, user_id, delivered_seq, read_seq, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (case_id, user_id) DO UPDATE SET"
            " delivered_seq = CASE WHEN excluded.delivered_seq > receipts.delivered_seq THEN excluded.delivered_seq"
            " ELSE receipts.delivered_seq END,"
            " read_seq = CASE WHEN excluded.read_seq > receipts.read_seq THEN excluded.read_seq"
            " ELSE receipts.read_seq END, updated_at = excluded.updated_at",
            (case_id, user_id, delivered_seq, read_seq, now_ms()))])
        row = await self._one("SELECT delivered_seq, read_seq FROM receipts WHERE case_id = ? AND user_id = ?",
                              (case_id, user_id))
        return ReceiptMarks(case_id, user_id, row[0], row[1])

    async def receipts_of_case(self, case_id: str) -> list[ReceiptMarks]:
        rows = await self._all("SELECT case_id, user_id, delivered_seq, read_seq FROM receipts WHERE case_id = ?"
                               " ORDER BY user_id", (case_id,))
        return [ReceiptMarks(*r) for r in rows]

    async def add_blob(self, blob_id: str, case_id: str, uploaded_by: str, data: bytes, at: int) -> None:
        await self._write([("INSERT INTO blobs (id, case_id, uploaded_by, size, data, created_at)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (blob_id, case_id, uploaded_by, len(data), data, at))])

    async def get_blob(self, case_id: str, blob_id: str) -> bytes | None:
        row = await self._one("SELECT data FROM blobs WHERE id = ? AND case_id = ?", (blob_id, case_id))
        return bytes(row[0]) if row else None

    async def remove_unbound_blobs(self, uploaded_before: int) -> int:
        def remove(db: Db) -> int:
            return int(db.execute("DELETE FROM blobs WHERE attached_at IS NULL AND created_at < ?",
                                  (uploaded_before,)).rowcount)
        return await self.engine.transaction(remove)

    async def attachment_bytes_of(self, user_id: str) -> int:
        row = await self._one("SELECT (SELECT coalesce(sum(size), 0) FROM blobs WHERE uploaded_by = ?)"
                              " + (SELECT coalesce(sum(size), 0) FROM application_blobs WHERE uploaded_by = ?)"
                              " + (SELECT coalesce(sum(size), 0) FROM journal_blobs WHERE uploaded_by = ?)",
                              (user_id, user_id, user_id))
        return int(row[0])
