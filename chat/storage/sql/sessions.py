"""Sessions, sign-in attempts and the shared rate limit (chat/storage/sessions.py) in SQL, for both engines."""
from __future__ import annotations

import math

from chat.storage.sessions import LoginAttempt
from chat.storage.sql import Db
from chat.storage.sql.core import SqlCore


class SqlSessions(SqlCore):
    """SessionStore, over the engine."""

    async def add_session(self, id_hash: bytes, user_id: str, at: int, expires_at: int) -> None:
        await self._write([("INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at)"
                            " VALUES (?, ?, ?, ?, ?)", (id_hash, user_id, at, at, expires_at))])

    async def get_session(self, id_hash: bytes) -> tuple[str, int, int] | None:
        row = await self._one("SELECT user_id, last_seen_at, expires_at FROM sessions WHERE id_hash = ?", (id_hash,))
        return (row[0], row[1], row[2]) if row else None

    async def touch_session(self, id_hash: bytes, at: int) -> None:
        await self._write([("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (at, id_hash))])

    async def delete_session(self, id_hash: bytes) -> None:
        await self._write([("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))])

    async def delete_sessions_of_user(self, user_id: str) -> int:
        return await self.engine.transaction(
            lambda db: db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,)).rowcount)

    _ATTEMPT_COLS = "state_hash, kind, nonce, code_verifier, binding_hash, next_path, created_at, used_at"

    async def add_login_attempt(self, attempt: LoginAttempt, forget_before: int) -> None:
        await self._write([
            ("DELETE FROM login_attempts WHERE created_at < ?", (forget_before,)),
            (f"INSERT INTO login_attempts ({self._ATTEMPT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
             (attempt.state_hash, attempt.kind, attempt.nonce, attempt.code_verifier, attempt.binding_hash,
              attempt.next_path, attempt.created_at, attempt.used_at))])

    async def take_login_attempt(self, state_hash: bytes, at: int) -> LoginAttempt | None:
        def take(db: Db) -> LoginAttempt | None:
            row = db.execute(f"SELECT {self._ATTEMPT_COLS} FROM login_attempts WHERE state_hash = ?",
                             (state_hash,)).fetchone()
            if row is None:
                return None
            if row[7] is None:
                db.execute("UPDATE login_attempts SET used_at = ? WHERE state_hash = ?", (at, state_hash))
            return LoginAttempt(bytes(row[0]), row[1], row[2], row[3], bytes(row[4]), row[5], row[6], row[7])

        return await self.engine.transaction(take)

    async def keep_signin_token(self, state_hash: bytes, user_id: str, id_token: str) -> None:
        await self._write([("UPDATE login_attempts SET user_id = ?, id_token = ? WHERE state_hash = ?",
                            (user_id, id_token, state_hash))])

    async def signin_token(self, nonce: str, user_id: str, since: int) -> str | None:
        row = await self._one("SELECT id_token FROM login_attempts WHERE nonce = ? AND user_id = ? AND created_at >= ?"
                              " AND id_token IS NOT NULL ORDER BY created_at DESC LIMIT 1", (nonce, user_id, since))
        return str(row[0]) if row else None

    # -- rate limits shared by every process ----------------------------------------------------------------
    async def take_allowance(self, key_hash: bytes, per_minute: int, at: int) -> int:
        capacity, per_ms = float(per_minute), per_minute / 60_000

        def take(db: Db) -> int:
            # A bucket untouched for a minute has refilled: forgetting it changes nothing (and keeps the table
            # as small as the number of clients of the last minute).
            db.execute("DELETE FROM rate_limits WHERE at < ?", (at - 60_000,))
            row = db.execute("SELECT tokens, at FROM rate_limits WHERE key_hash = ?", (key_hash,)).fetchone()
            tokens, since = (float(row[0]), int(row[1])) if row else (capacity, at)
            tokens = min(capacity, tokens + max(0, at - since) * per_ms)
            wait = 0 if tokens >= 1 else math.ceil((1 - tokens) / per_ms / 1000)
            db.execute("INSERT INTO rate_limits (key_hash, tokens, at) VALUES (?, ?, ?) ON CONFLICT (key_hash)"
                       " DO UPDATE SET tokens = excluded.tokens, at = excluded.at",
                       (key_hash, tokens if wait else tokens - 1, max(at, since)))
            return wait

        return await self.engine.transaction(take)
