"""Sessions, sign-in attempts in flight and the sign-in rate limit: all in the database, so that they hold
across server processes (a session made on one node is known on every node; an attempt is taken once; one
allowance per client address whichever node it reaches)."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """An OpenID Connect authorization request in flight (web/login.py)."""

    state_hash: bytes
    kind: str  # citizen | staff
    nonce: str
    code_verifier: str
    binding_hash: bytes  # SHA-256 of the value in the browser's login cookie
    next_path: str
    created_at: int
    used_at: int | None = None


@runtime_checkable
class SessionStore(Protocol):
    # Sessions (the id itself is never stored, only its hash)
    @abc.abstractmethod
    async def add_session(self, id_hash: bytes, user_id: str, at: int, expires_at: int) -> None: ...

    @abc.abstractmethod
    async def get_session(self, id_hash: bytes) -> tuple[str, int, int] | None:
        """(user_id, last_seen_at, expires_at)"""

    @abc.abstractmethod
    async def touch_session(self, id_hash: bytes, at: int) -> None: ...

    @abc.abstractmethod
    async def delete_session(self, id_hash: bytes) -> None: ...

    @abc.abstractmethod
    async def delete_sessions_of_user(self, user_id: str) -> int:
        """End every session of the user (sign out everywhere); returns how many there were."""

    # Authorization requests in flight
    @abc.abstractmethod
    async def add_login_attempt(self, attempt: LoginAttempt, forget_before: int) -> None:
        """Store an attempt; attempts created before `forget_before` are deleted."""

    @abc.abstractmethod
    async def take_login_attempt(self, state_hash: bytes, at: int) -> LoginAttempt | None:
        """The attempt with this state, marked used at `at` in the same transaction. An attempt used before
        comes back with its first `used_at`: the caller refuses it as a replay."""

    @abc.abstractmethod
    async def keep_signin_token(self, state_hash: bytes, user_id: str, id_token: str) -> None:
        """Keep a finished citizen sign-in's ID token with its attempt, for the device whose keys made its nonce
        (docs/protocol.md §21)."""

    @abc.abstractmethod
    async def signin_token(self, nonce: str, user_id: str, since: int) -> str | None:
        """The ID token of `user_id`'s sign-in with this nonce, begun at `since` or later."""

    # Rate limits shared by every server process
    @abc.abstractmethod
    async def take_allowance(self, key_hash: bytes, per_minute: int, at: int) -> int:
        """Spend one request of a token bucket of `per_minute` (full after a minute unused) for the key: 0
        when it may go ahead, otherwise the whole seconds until it may. Checked and spent in one write
        transaction, so two processes cannot both spend the last token. Keys are keyed hashes (never an
        address); buckets full again are forgotten."""
