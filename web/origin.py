"""Which browser origins may change state (HTTP) or open the WebSocket: this server's own origin, scheme
included, and the configured ones (SAMTAL_ALLOWED_ORIGINS, SAMTAL_PUBLIC_URL)."""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from web.config import Settings

# A WebSocket's own scheme is ws/wss; the page that opens it is http/https.
PAGE_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def own_origin(conn: HTTPConnection) -> str | None:
    """scheme://host[:port] as the browser reached this server (the scheme as a trusted proxy reports it)."""
    host = conn.headers.get("host", "")
    scheme = PAGE_SCHEME.get(conn.url.scheme)
    return f"{scheme}://{host}".lower() if host and scheme else None


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """Browsers send Origin on every state-changing request and WebSocket handshake; it must be exactly this
    server's origin (an http page may not act on the https site) or a configured one. Clients that are not
    browsers (the CLI) send none, and they cannot ride on a victim's cookies."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    origin = origin.lower()
    configured = {o.lower().rstrip("/") for o in settings.allowed_origins}
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        configured.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin in configured or origin == own_origin(conn)

