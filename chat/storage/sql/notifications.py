"""The notification tables (migration 0011), for both engines; each call is one transaction."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chat.storage.notifications import MESSAGE, DueMail, NotificationStore, Preferences
from chat.storage.sql import Db, Engine

# One sweep mails at most this many people; the rest wait for the next sweep, a few seconds later.
SWEEP_LIMIT = 200


class SqlNotificationStore(NotificationStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def _run(self, fn: Callable[[Db], Any]) -> Any:
        return await self.engine.transaction(fn)

    async def waiting(self, user_id: str, case_id: str, kind: str, seq: int | None, at: int) -> None:
        """Note something new; `since` stays at the oldest unseen thing, `seq` rises to the newest."""
        await self._run(lambda db: db.execute(
            "INSERT INTO notifications_waiting (user_id, case_id, kind, since, seq) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, case_id, kind) DO UPDATE SET seq = CASE WHEN COALESCE(excluded.seq, 0) >"
            " COALESCE(notifications_waiting.seq, 0) THEN COALESCE(excluded.seq, 0)"
            " ELSE COALESCE(notifications_waiting.seq, 0) END",
            (user_id, case_id, kind, at, seq)))

    async def note(self, waiting: dict[tuple[str, str], tuple[int, int]],
                   received: dict[tuple[str, str], tuple[int, int]]) -> None:
        """Messages noted and receipts heard since the last call, in one transaction: first what waits
        (person, case) -> (since, newest seq), then what their devices have (person, case) -> (seq, at)."""
        def apply(db: Db) -> None:
            db.executemany(
                "INSERT INTO notifications_waiting (user_id, case_id, kind, since, seq) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, case_id, kind) DO UPDATE SET seq = CASE WHEN excluded.seq >"
                " notifications_waiting.seq THEN excluded.seq ELSE notifications_waiting.seq END",
                [(user, case, MESSAGE, since, seq) for (user, case), (since, seq) in waiting.items()])
            for (user, case), (through, at) in received.items():
                self._messages_received(db, user, case, through, at)
        await self._run(apply)

    async def seen(self, user_id: str, case_id: str, kind: str) -> None:
        await self._run(lambda db: db.execute(
            "DELETE FROM notifications_waiting WHERE user_id = ? AND case_id = ? AND kind = ?",
            (user_id, case_id, kind)))

    @staticmethod
    def _messages_received(db: Db, user_id: str, case_id: str, through_seq: int, at: int) -> None:
        """The person's devices have the case's messages up to `through_seq`. What is left came while they were
        there, so its grace period starts again now."""
        db.execute("DELETE FROM notifications_waiting WHERE user_id = ? AND case_id = ? AND kind = ?"
                   " AND seq <= ?", (user_id, case_id, MESSAGE, through_seq))
        db.execute("UPDATE notifications_waiting SET since = CASE WHEN since > ? THEN since ELSE ? END"
                   " WHERE user_id = ? AND case_id = ? AND kind = ?", (at, at, user_id, case_id, MESSAGE))

    async def preferences(self, user_id: str) -> Preferences:
        row = await self._run(lambda db: db.execute(
            "SELECT email_opt_in, language FROM notification_settings WHERE user_id = ?", (user_id,)).fetchone())
        return Preferences() if row is None else Preferences(bool(row[0]), row[1])

    async def set_preferences(self, user_id: str, prefs: Preferences, at: int) -> None:
        await self._run(lambda db: db.execute(
            "INSERT INTO notification_settings (user_id, email_opt_in, language, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET email_opt_in = excluded.email_opt_in,"
            " language = excluded.language, updated_at = excluded.updated_at",
            (user_id, int(prefs.email_opt_in), prefs.language, at)))

    async def due(self, now: int, grace_ms: int, interval_ms: int) -> list[DueMail]:
        """Who is to be mailed now: opted in, with a contact address, something unseen for longer than the
        grace period, and not mailed within the interval. Messages the person's devices have received since
        they were noted (their receipts) are dropped first, in the same transaction."""
        def pick(db: Db) -> list[DueMail]:
            db.execute(
                "DELETE FROM notifications_waiting WHERE kind = ? AND seq <= (SELECT CASE WHEN r.delivered_seq >"
                " r.read_seq THEN r.delivered_seq ELSE r.read_seq END"
                " FROM receipts r WHERE r.case_id = notifications_waiting.case_id"
                " AND r.user_id = notifications_waiting.user_id)", (MESSAGE,))
            rows = db.execute(
                "SELECT w.user_id, e.email, s.language, m.last_sent_at FROM notifications_waiting w"
                " JOIN notification_settings s ON s.user_id = w.user_id AND s.email_opt_in = 1"
                " JOIN contact_emails e ON e.user_id = w.user_id"
                " LEFT JOIN notification_mails m ON m.user_id = w.user_id"
                " WHERE m.last_sent_at IS NULL OR m.last_sent_at <= ?"
                " GROUP BY w.user_id, e.email, s.language, m.last_sent_at HAVING MIN(w.since) <= ? ORDER BY MIN(w.since) LIMIT ?",
                (now - interval_ms, now - grace_ms, SWEEP_LIMIT)).fetchall()
            return [DueMail(*row) for row in rows]
        return await self._run(pick)  # type: ignore[no-any-return]

    async def mailed(self, user_id: str, at: int) -> None:
        """The mail went: it covers everything that waited, so those are cleared, and the throttle starts."""
        def record(db: Db) -> None:
            db.execute("INSERT INTO notification_mails (user_id, last_sent_at) VALUES (?, ?) ON CONFLICT (user_id)"
                       " DO UPDATE SET last_sent_at = excluded.last_sent_at", (user_id, at))
            db.execute("DELETE FROM notifications_waiting WHERE user_id = ? AND since <= ?", (user_id, at))
        await self._run(record)

    async def waiting_kinds(self, user_id: str) -> list[tuple[str, str]]:
        """(case id, kind) of what waits for the person: for tests and the operator, never mailed."""
        rows = await self._run(lambda db: db.execute(
            "SELECT case_id, kind FROM notifications_waiting WHERE user_id = ? ORDER BY case_id, kind",
            (user_id,)).fetchall())
        return [(r[0], r[1]) for r in rows]
