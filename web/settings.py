"""Settings over HTTP (docs/protocol.md §14.1): a person's own notification choice and language, and a unit's
own settings (its video meeting link); and the loop that sends the notification e-mails (chat.notifications)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from chat.errors import InvalidInput
from chat.notifications import notices as notifications
from chat.policy import Action
from chat.storage.units import UnitSettings
from chat.units.settings import UnitSettingsService
from web.apischema import BOOL, ID, MS, STR, integer, nullable, obj, string
from web.httpapi import Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

if TYPE_CHECKING:
    from chat.storage import Storage
    from chat.storage.notifications import Preferences
    from web.booking import BookingApp
    from web.config import Settings

log = logging.getLogger("samtal.settings")


class SettingsApp:
    """The notification sweep of one server, and the units' settings (kept in memory too: the booking
    pages and mails read the video link on every view). A change made here is kept here; with several nodes
    `changed` tells the others, whose node calls `forget` and this reads the settings again."""

    def __init__(self, settings: Settings, store: Storage, booking: BookingApp) -> None:
        self.settings, self.store, self.booking = settings, store, booking
        self.units = UnitSettingsService(store.unit_settings)
        self.notifier = notifications.Notifier(store, booking.mail_config, settings.notify_grace_seconds,
                                               settings.notify_min_interval_seconds, settings.schedule_lease_seconds)
        self._unit_settings: dict[str, UnitSettings] = {}
        self._sweeps: asyncio.Task[None] | None = None
        self.changed: Callable[[str], None] = lambda unit_id: None
        self._reloads: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._unit_settings = await self.units.all()
        self._share_video_links()
        if self.settings.smtp_host:
            self._sweeps = asyncio.create_task(self._sweep_loop())

    async def stop(self) -> None:
        if self._sweeps is not None:
            self._sweeps.cancel()

    def unit_settings(self, unit_id: str) -> UnitSettings:
        return self._unit_settings.get(unit_id) or UnitSettings(unit_id)

    def remember(self, saved: UnitSettings) -> None:
        self._unit_settings[saved.unit_id] = saved
        self._share_video_links()
        self.changed(saved.unit_id)

    def forget(self, unit_id: str | None) -> None:
        """Another node changed a unit's settings (None: perhaps any): read them all again (a row per unit)."""
        task = asyncio.ensure_future(self._reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload(self) -> None:
        try:
            self._unit_settings = await self.units.all()
        except Exception as error:  # noqa: BLE001 (the database away: the next notice or catch-up reads again)
            log.warning("unit settings not read again", extra={"error": type(error).__name__})
            return
        self._share_video_links()

    def _share_video_links(self) -> None:
        self.booking.unit_video_links = {unit_id: s.video_link_template for unit_id, s in self._unit_settings.items()
                                         if s.video_link_template}

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.notify_check_seconds)
            try:
                await self.notifier.sweep()
            except Exception as error:  # noqa: BLE001 (one bad round must not end the notifications)
                log.error("notification sweep failed", extra={"error": type(error).__name__})


def _app(ctx: Ctx) -> SettingsApp:
    return ctx.services.unit_settings


PREFERENCES = obj({"email_opt_in": BOOL, "language": nullable(STR), "grace_seconds": integer(),
                   "min_interval_seconds": integer()})
UNIT_SETTINGS = obj({"unit_id": ID, "video_link_template": nullable(STR), "server_video_link_template": nullable(STR),
                     "updated_by": nullable(ID), "updated_at": nullable(MS)})


def _prefs_view(ctx: Ctx, prefs: Preferences) -> dict[str, Any]:
    settings = ctx.services.settings
    return {"email_opt_in": prefs.email_opt_in, "language": prefs.language,
            "grace_seconds": settings.notify_grace_seconds,
            "min_interval_seconds": settings.notify_min_interval_seconds}


@api("/api/me/notifications", "GET", action=Action.SELF, response=PREFERENCES)
async def get_notifications(ctx: Ctx) -> Response:
    """The person's choice, and the grace period and interval the pages tell about."""
    return JSONResponse(_prefs_view(ctx, await notifications.preferences(ctx.services.store, ctx.user.id)))


@api("/api/me/notifications", "PUT", action=Action.SELF,
     body=obj({"email_opt_in": BOOL}, {"language": nullable(string(16))}), response=PREFERENCES)
async def set_notifications(ctx: Ctx) -> Response:
    """E-mail when something new waits (needs a contact e-mail first), and the language of pages and mails."""
    body = await ctx.body()
    language = body.data.get("language")
    if language is not None and not isinstance(language, str):
        raise InvalidInput("language must be a string or null", code="invalid_field")
    contact = await _app(ctx).booking.bstore.contact_email(ctx.user.id)
    prefs = await notifications.set_preferences(ctx.services.store, ctx.user, body.bool("email_opt_in"), language,
                                                contact)
    return JSONResponse(_prefs_view(ctx, prefs))


def _unit_view(app: SettingsApp, unit_id: str) -> dict[str, Any]:
    saved = app.unit_settings(unit_id)
    return {"unit_id": unit_id, "video_link_template": saved.video_link_template,
            "server_video_link_template": app.settings.video_link_template or None,
            "updated_by": saved.updated_by, "updated_at": saved.updated_at}


@api("/api/units/{unit_id}/settings", "GET", action=Action.UNIT_STAFF_READ, response=UNIT_SETTINGS)
async def get_unit_settings(ctx: Ctx) -> Response:
    return JSONResponse(_unit_view(_app(ctx), ctx.unit_id))


@api("/api/units/{unit_id}/settings", "PUT", action=Action.UNIT_SETTINGS_MANAGE,
     body=obj({"video_link_template": nullable(string(1000))}), response=UNIT_SETTINGS)
async def set_unit_settings(ctx: Ctx) -> Response:
    """(supervisor) The unit's own meeting link template; null goes back to the server's. The new value is
    kept in the audit log, so a review shows who pointed the unit's meetings where."""
    app, unit_id = _app(ctx), ctx.request.path_params["unit_id"]
    body = await ctx.body()
    if "video_link_template" not in body.data:
        raise InvalidInput("video_link_template is required (null for the server's link)", code="invalid_field")
    template = None if body.data["video_link_template"] is None else body.str("video_link_template", 1000) or None
    saved = await app.units.set_video_link_template(ctx.user, unit_id, template)
    app.remember(saved)
    await ctx.services.messages.auditor.record(ctx.user, "unit.settings.change", "allowed", unit_id=unit_id,
                                               detail={"video_link_template": saved.video_link_template})
    return JSONResponse(_unit_view(app, unit_id))
