"""A unit's own settings, set by its supervisor: for now the meeting link template for video meetings
(a unit may use its own video service), which falls back to the server's SAMTAL_VIDEO_LINK_TEMPLATE."""
from __future__ import annotations

import sqlite3
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chat.errors import Forbidden, InvalidInput
from chat.model import User, now_ms
from chat.policy import Action, decide

if TYPE_CHECKING:
    from chat.storage.sqlite.writer import SqliteWriter

MAX_TEMPLATE = 500
PLACEHOLDERS = frozenset({"booking", "unit"})


@dataclass(frozen=True, slots=True)
class UnitSettings:
    unit_id: str
    video_link_template: str | None = None
    updated_by: str | None = None
    updated_at: int | None = None


def check_video_link_template(template: str) -> str:
    """An https address with `{booking}` (each meeting its own room) and optionally `{unit}`, nothing else in
    braces: the template is filled with str.format, where a field such as {booking.__class__} would reach
    into Python objects."""
    template = template.strip()
    if not template or len(template) > MAX_TEMPLATE or any(c.isspace() or ord(c) < 32 for c in template):
        raise InvalidInput(f"the link is one line of at most {MAX_TEMPLATE} characters", code="invalid_link")
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None]
    except ValueError:
        raise InvalidInput("unbalanced braces in the link", code="invalid_link") from None
    if any(name not in PLACEHOLDERS or spec or conversion for name, spec, conversion in fields):
        raise InvalidInput("the link may contain only {booking} and {unit}", code="invalid_link")
    if "booking" not in {name for name, _, _ in fields}:
        raise InvalidInput("the link must contain {booking}, so that each meeting has its own room",
                           code="invalid_link")
    parts = urlsplit(template.format(booking="room", unit="unit"))
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise InvalidInput("the link is an https address without a user name", code="invalid_link")
    return template


class UnitSettingsStore:
    def __init__(self, writer: SqliteWriter) -> None:
        self.writer = writer

    async def all(self) -> dict[str, UnitSettings]:
        rows = await self.writer.transaction(lambda db: db.execute(
            "SELECT unit_id, video_link_template, updated_by, updated_at FROM unit_settings").fetchall())
        return {r[0]: UnitSettings(*r) for r in rows}

    async def set_video_link_template(self, actor: User, unit_id: str, template: str | None) -> UnitSettings:
        """(supervisor) Set the unit's template, or with None go back to the server's."""
        decision = decide(actor, Action.UNIT_SETTINGS_MANAGE, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        checked = None if template is None else check_video_link_template(template)
        saved = UnitSettings(unit_id, checked, actor.id, now_ms())

        def put(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO unit_settings (unit_id, video_link_template, updated_by, updated_at)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT (unit_id) DO UPDATE SET"
                       " video_link_template = excluded.video_link_template, updated_by = excluded.updated_by,"
                       " updated_at = excluded.updated_at", (unit_id, checked, actor.id, saved.updated_at))
        await self.writer.transaction(put)
        return saved
