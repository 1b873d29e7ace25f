"""Request bodies that carry sealed records (docs/protocol.md §15), for the routes of Ansökan and of the
journal alike: the record as base64url (up to 1 MiB), its grants, the attachments it names, record ids, and
the display names answers show beside user ids."""
from __future__ import annotations

import re
from collections.abc import Iterable

from chat.errors import InvalidInput
from chat.records import GrantUpload
from crypto.record import MAX_RECORD_BYTES
from web.httpapi import Body, Ctx

ID16 = re.compile(r"^[A-Za-z0-9_-]{21}[AQgw]$")  # record ids, as in docs/protocol.md §1
MAX_RECORD_JSON = MAX_RECORD_BYTES * 4 // 3 + 8  # a record as base64url


def record_id(ctx: Ctx, name: str, what: str) -> str:
    """A 22-character id from the path (an application's, an entry's, a remark's)."""
    value = ctx.request.path_params[name]
    if not ID16.match(value):
        raise InvalidInput(f"{what} id is a 22-character id", code="invalid_field")
    return value  # type: ignore[no-any-return]


def grant(item: Body) -> GrantUpload:
    return GrantUpload(item.str("recipient", 40), item.bytes("grant", max_len=128), item.bytes("signature", 64))


def grants(body: Body) -> list[GrantUpload]:
    return [grant(item) for item in body.list("grants", max_items=40)]


def blobs(body: Body) -> list[str]:
    found = body.data.get("blobs", [])
    if not isinstance(found, list) or not all(isinstance(b, str) and 0 < len(b) <= 64 for b in found):
        raise InvalidInput("blobs is a list of attachment ids", code="invalid_field")
    return found


def record(body: Body) -> bytes:
    return body.bytes("record", max_len=MAX_RECORD_JSON)


async def record_body(ctx: Ctx) -> Body:
    """A JSON body that carries a record: up to 1 MiB as base64url, more than the API's usual limit."""
    return await ctx.body(MAX_RECORD_JSON + 64 * 1024)


async def names(ctx: Ctx, user_ids: Iterable[str | None]) -> dict[str, str]:
    found = {}
    for user_id in user_ids:
        user = await ctx.services.store.get_user(user_id) if user_id else None
        if user is not None:
            found[user.id] = user.display_name
    return found
