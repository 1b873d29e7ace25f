"""Server-side sessions: a random id in an HttpOnly, SameSite=Strict cookie; only its hash is stored.

Idle timeout and absolute lifetime are enforced on every lookup."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import HTTPConnection
from starlette.responses import Response

from chat.model import User, now_ms
from chat.storage import AccountStore, SessionStore
from chat.storage.notifications import NotificationStore

COOKIE = "samtal_session"
LANG_COOKIE = "lang"  # the pages' language (web/pages.py); not a secret, and no session depends on it
LANG_MAX_AGE = 365 * 24 * 3600
# Refresh last_seen at most this often, so that reads do not each cost a write.
TOUCH_INTERVAL_MS = 60_000


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("ascii", "replace")).digest()


def is_local_http(conn: HTTPConnection) -> bool:
    """Plain http is tolerated only for a browser talking to this machine (the demo on 127.0.0.1)."""
    return conn.url.scheme in {"http", "ws"} and (conn.url.hostname or "") in {"127.0.0.1", "localhost", "::1"}


def remember_language(conn: HTTPConnection, response: Response, chosen: str) -> None:
    response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_MAX_AGE, samesite="strict", secure=not is_local_http(conn),
                        path="/")


class SessionsStore(SessionStore, AccountStore, Protocol):
    """What sessions need: the sessions themselves, whose they are, and the language each person chose."""

    @property
    def notifications(self) -> NotificationStore: ...


@dataclass(frozen=True)
class Session:
    key: bytes  # the hash of the cookie's id: what is stored, and what live connections are tied to
    user: User
    last_seen: int
    expires_at: int


# Told when sessions end (signed out, signed out everywhere, expired, the person's access changed), so that
# the WebSockets opened with them are closed too: (the session's key, or None for all of the user's; user id).
SessionsEnded = Callable[[bytes | None, str], None]


class Sessions:
    def __init__(self, store: SessionsStore, idle_seconds: int, max_seconds: int,
                 on_ended: SessionsEnded | None = None,
                 with_mandates: Callable[[User], Awaitable[User]] | None = None) -> None:
        self.store = store
        # The signed-in person as the policy decides on them: with their mandates (chat/cases/mandates.py).
        self.with_mandates = with_mandates
        self.idle_ms = idle_seconds * 1000
        self.max_ms = max_seconds * 1000
        self.on_ended = on_ended or (lambda key, user_id: None)

    async def start(self, user: User, conn: HTTPConnection, response: Response) -> None:
        old = conn.cookies.get(COOKIE)
        if old:  # a new id at every login: a planted session id is worth nothing
            await self.store.delete_session(_hash(old))
        session_id = secrets.token_urlsafe(32)
        now = now_ms()
        await self.store.add_session(_hash(session_id), user.id, now, now + self.max_ms)
        response.set_cookie(COOKIE, session_id, max_age=self.max_ms // 1000, httponly=True, samesite="strict",
                            secure=not is_local_http(conn), path="/")
        # The language the person chose on /settings follows them to a new browser from the first page.
        chosen = (await self.store.notifications.preferences(user.id)).language
        if chosen:
            remember_language(conn, response, chosen)

    async def user_of(self, conn: HTTPConnection) -> User | None:
        session = await self.session_of(conn)
        return session.user if session else None

    async def session_of(self, conn: HTTPConnection) -> Session | None:
        session_id = conn.cookies.get(COOKIE)
        if not session_id or len(session_id) > 128:
            return None
        return await self.alive(_hash(session_id))

    async def alive(self, key: bytes, used: bool = True) -> Session | None:
        """The session, if it has neither expired nor been idle too long; `used`: this counts as activity."""
        found = await self.store.get_session(key)
        if found is None:
            return None
        user_id, last_seen, expires_at = found
        now = now_ms()
        if now >= expires_at or now - last_seen >= self.idle_ms:
            await self.store.delete_session(key)
            self.on_ended(key, user_id)
            return None
        if used and now - last_seen >= TOUCH_INTERVAL_MS:
            await self.store.touch_session(key, now)
            last_seen = now
        user = await self.store.get_user(user_id)
        if user is None:
            return None
        if self.with_mandates is not None:
            user = await self.with_mandates(user)
        return Session(key, user, last_seen, expires_at)

    def ends_at(self, session: Session) -> int:
        """When the session ends unless it is used again (ms)."""
        return min(session.expires_at, session.last_seen + self.idle_ms)

    async def end_everywhere(self, user: User, conn: HTTPConnection, response: Response) -> None:
        """End every session of the user, on every device."""
        await self.end_all_of(user.id)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=not is_local_http(conn))

    async def end_all_of(self, user_id: str) -> None:
        """Every session of the person ends (signed out everywhere, or their role or unit changed)."""
        await self.store.delete_sessions_of_user(user_id)
        self.on_ended(None, user_id)

    async def end(self, conn: HTTPConnection, response: Response) -> None:
        session_id = conn.cookies.get(COOKIE)
        if session_id:
            await self.store.delete_session(_hash(session_id))
            self.on_ended(_hash(session_id), "")
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=not is_local_http(conn))
