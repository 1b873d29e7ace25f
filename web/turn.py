"""Time-limited TURN credentials for the video call (the "TURN REST API" that coturn implements with
`use-auth-secret` / `static-auth-secret`): the server and the TURN server share a secret, and each person of a
call gets a username that carries its own expiry and a password that is an HMAC of it. The TURN server checks
both without asking Samtal, and refuses the credential once it has expired, so a credential copied out of a
browser is worth nothing after the call (a static credential in SAMTAL_ICE_SERVERS is worth something for
as long as it is configured).

    username = "<expiry, seconds since 1970>:<pseudonym>"
    password = base64(HMAC-SHA1(secret, username))

The pseudonym is an HMAC of the user id, so the TURN server's logs can tell one person's sessions apart but
do not name anyone."""
from __future__ import annotations

import base64
import hashlib
import hmac

from crypto.encoding import b64u

TURN_SCHEMES = ("turn:", "turns:")


def pseudonym(secret: str, user_id: str) -> str:
    return b64u(hmac.new(secret.encode(), b"samtal/turn-user/v1|" + user_id.encode(), hashlib.sha256).digest()[:9])


def credential(secret: str, username: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode("ascii")


def ice_server(secret: str, urls: list[str], user_id: str, expires_at_ms: int) -> dict[str, object]:
    """An RTCIceServer for one person, valid until `expires_at_ms` (rounded up to the second)."""
    username = f"{-(-expires_at_ms // 1000)}:{pseudonym(secret, user_id)}"
    return {"urls": list(urls), "username": username, "credential": credential(secret, username)}


def parse_urls(raw: str, name: str = "SAMTAL_TURN_URLS") -> list[str]:
    """Comma-separated turn: and turns: addresses."""
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    if not all(u.startswith(TURN_SCHEMES) and len(u) <= 300 and not any(c.isspace() for c in u) for u in urls):
        raise SystemExit(f"{name} is a comma-separated list of turn: and turns: addresses")
    return urls
