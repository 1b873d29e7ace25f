"""What the server does with a citizen device's binding (docs/protocol.md §21): it files it for the clients to
check, after checking what it can, so that a mistake is refused at once rather than found by every client.

It cannot make a binding itself: an ID token is signed by the identity provider over a nonce the device's
keys make, and a link by one of the person's own devices. The key work (the staff browsers, the demo steward)
checks each binding again before it wraps a case key to the device, and wraps nothing to one without."""
from __future__ import annotations

import json
from typing import Any

from chat.errors import BadSignature, InvalidInput
from chat.model import Device, User, now_ms
from chat.storage import Storage
from crypto.devicelink import link_signed, signin_nonce
from crypto.encoding import unb64u
from crypto.errors import MalformedError
from crypto.keys import DevicePublicKeys
from crypto.sign import verify_strict

# A sign-in's ID token is found for the device it attests for this long after the sign-in began.
SIGNIN_TOKEN_MS = 24 * 3600_000
MAX_TOKEN = 8000


def _payload(token: str) -> dict[str, Any]:
    try:
        claims = json.loads(unb64u(token.split(".")[1]))
    except (ValueError, IndexError, MalformedError, UnicodeDecodeError):
        raise InvalidInput("the ID token is malformed", code="invalid_field") from None
    if not isinstance(claims, dict):
        raise InvalidInput("the ID token is malformed", code="invalid_field")
    return claims


async def checked_binding(store: Storage, user: User, keys: DevicePublicKeys, binding: dict[str, Any]) -> str:
    """The binding as it is filed (JSON text), or InvalidInput / BadSignature saying what is wrong with it."""
    kind = binding.get("kind")
    if kind == "signin":
        salt = binding.get("salt")
        try:
            nonce = signin_nonce(keys, unb64u(salt) if isinstance(salt, str) else b"")
        except MalformedError:
            raise InvalidInput("the binding's salt is 32 bytes, base64url", code="invalid_field") from None
        token = binding.get("id_token")
        if token is None:  # the sign-in went through this server: its ID token is kept with the attempt
            token = await store.signin_token(nonce, user.id, now_ms() - SIGNIN_TOKEN_MS)
            if token is None:
                raise InvalidInput("no sign-in of yours carried this device's key", code="no_signin")
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN or _payload(token).get("nonce") != nonce:
            raise InvalidInput("the ID token does not attest this device's key", code="invalid_field")
        return json.dumps({"kind": "signin", "id_token": token, "salt": salt}, separators=(",", ":"))
    if kind == "link":
        by, issued_at, signature = binding.get("by"), binding.get("issued_at"), binding.get("signature")
        linker: Device | None = await store.get_device(by) if isinstance(by, str) and len(by) == 22 else None
        if linker is None or linker.user_id != user.id or not linker.active:
            raise InvalidInput("a link is signed by another active device of yours", code="invalid_field")
        if not isinstance(issued_at, int) or not 0 <= issued_at < 2**63 or not isinstance(signature, str):
            raise InvalidInput("the link's issued_at and signature are missing", code="invalid_field")
        try:
            valid = verify_strict(linker.sign_pub, link_signed(user.id, keys, issued_at), unb64u(signature))
        except MalformedError:
            valid = False
        if not valid:
            raise BadSignature("the link's signature does not verify with the linking device's key",
                               code="bad_signature")
        return json.dumps({"kind": "link", "by": by, "issued_at": issued_at, "signature": signature},
                          separators=(",", ":"))
    raise InvalidInput("a binding's kind is signin or link", code="invalid_field")
