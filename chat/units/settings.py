"""A unit's own settings, set by its supervisor: for now the meeting link template for video meetings
(a unit may use its own video service), which falls back to the server's SAMTAL_VIDEO_LINK_TEMPLATE."""
from __future__ import annotations

import string
from urllib.parse import urlsplit

from chat.errors import Forbidden, InvalidInput
from chat.model import User, now_ms
from chat.policy import Action, decide
from chat.storage.units import UnitSettings, UnitSettingsStore

MAX_TEMPLATE = 500
PLACEHOLDERS = frozenset({"booking", "unit"})


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


class UnitSettingsService:
    """Who may change a unit's settings, and what a setting may be; the storage keeps them."""

    def __init__(self, store: UnitSettingsStore) -> None:
        self.store = store

    async def all(self) -> dict[str, UnitSettings]:
        return await self.store.all()

    async def set_video_link_template(self, actor: User, unit_id: str, template: str | None) -> UnitSettings:
        """(supervisor) Set the unit's template, or with None go back to the server's."""
        decision = decide(actor, Action.UNIT_SETTINGS_MANAGE, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        checked = None if template is None else check_video_link_template(template)
        saved = UnitSettings(unit_id, checked, actor.id, now_ms())
        await self.store.put(saved)
        return saved
