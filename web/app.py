"""The Starlette application: services wired together, routes, the WebSocket and security headers."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat import demo
from chat.audit.auditor import Auditor
from chat.audit.review import LogReview
from chat.booking.calls import Calls
from chat.cases.assignment import Assignments
from chat.errors import StorageUnavailable
from chat.cases.protection import Protection
from chat.journal.service import Journal
from chat.keys.service import KeyService
from chat.keys.transparency import KeyLog, UnitIdentities, load_log_seed
from chat.messaging.delivery import MessageService
from chat.messaging.hub import Hub
from chat.messaging.inbox import ReplyTimes
from chat.model import Case, ReceiptMarks, StoredMessage
from chat.notifications.notices import Notices
from chat.storage import Storage, engines
from web import applications as application_routes
from web import booking as booking_routes
from web import citizens as citizen_routes  # noqa: F401
from web import exchange, frames, key_history, keylog, routes  # noqa: F401  (these modules register the API)
from web import journal as journal_routes
from web import login as login_routes
from web import settings as settings_routes
from web.config import Settings
from web.drain import Draining
from web.httpapi import REGISTRY, build_route
from web.logs import RequestIds
from web.metrics import CountResponses, Metrics
from web.metrics import endpoint as metrics_endpoint
from web.pages import Site, page_routes
from web.problems import from_error, problem
from web.sessions import Sessions
from web.ws import websocket_endpoint

log = logging.getLogger("samtal.app")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


class SecurityHeaders:
    """Headers on every HTTP answer; pages may set a fuller Content-Security-Policy of their own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in SECURITY_HEADERS if name not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class Services:
    settings: Settings
    store: Storage
    hub: Hub
    sessions: Sessions
    messages: MessageService
    keys: KeyService
    reply_times: ReplyTimes
    assignments: Assignments
    review: LogReview
    calls: Calls
    notices: Notices  # what waits unseen for a citizen, for the notification e-mails
    protection: Protection  # skyddade personuppgifter
    journal: Journal  # dokumentation: the cases' journals, and the drafts shared live (web/journal.py)
    metrics: Metrics  # /metrics: figures about the service, none about people
    # The database's generation, read at start (a restore needs the server stopped, so it cannot change
    # while this process runs); clients compare it to know their cursors are of this history.
    generation: str = ""
    draining: Draining = field(default_factory=Draining)  # SIGTERM: /readyz 503, connections finish and close


def build_services(settings: Settings, store: Storage) -> Services:
    hub = Hub()
    assignments = Assignments(store)
    notices = Notices(store)
    protection = Protection(store.protected_identities)
    metrics = Metrics(hub.connection_count)

    def on_message(case: Case, message: StoredMessage, origin: object) -> None:
        handed = hub.publish_case(case, frames.message_frame(message), (case.id, message.seq), exclude=origin,
                                  also=assignments.substitutes_now(case))
        metrics.message_stored(message.stored_at, handed)
        notices.message_stored(case, message.seq, message.sender_user)

    def on_receipt(case: Case, marks: ReceiptMarks) -> None:
        metrics.receipts.inc()
        hub.publish_case(case, frames.receipt_frame(marks))
        notices.receipt(case, marks.user_id, marks.delivered_seq, marks.read_seq)

    return Services(
        settings=settings, store=store, hub=hub,
        sessions=Sessions(store, settings.session_idle_seconds, settings.session_max_seconds),
        messages=MessageService(store, on_message, on_receipt, assignments),
        assignments=assignments,
        review=LogReview(store),
        keys=KeyService(store, lambda unit_id: hub.publish_unit_staff(unit_id, frames.KEYS_PENDING),
                        lambda user_id: hub.publish_user(user_id, frames.KEYS_UPDATED),
                        history=store.key_history),
        reply_times=ReplyTimes(store),
        calls=Calls(store, store.bookings, assignments, Auditor(store),
                    protection, relay_available=settings.has_turn),
        notices=notices, protection=protection,
        journal=journal_routes.build(store, hub, assignments), metrics=metrics,
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem(404, "not_found", "no such resource")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return problem(405, "method_not_allowed", "this resource does not take that method")


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    return from_error(exc)  # type: ignore[arg-type]  (registered for StorageUnavailable only)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem(500, "internal_error", "the server could not handle this request")


def create_app(settings: Settings, store: Storage | None = None) -> Starlette:
    settings.validate()
    store = store if store is not None else engines.make_store(settings.database_path,
                                                               synchronous=settings.sqlite_synchronous.upper())
    services = build_services(settings, store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        services.generation = await store.database_generation()
        if settings.demo and await demo.seed(store):
            log.info("demo data seeded")
        app.state.exchange = exchange.Exchange(settings, store)
        app.state.exchange.start()
        await app.state.booking.start()
        await app.state.settings_app.start()
        try:
            yield
        finally:
            await app.state.settings_app.stop()
            await services.notices.drain()
            await app.state.booking.stop()
            await app.state.exchange.stop()
            await store.close()

    app = Starlette(
        routes=[build_route(spec) for spec in REGISTRY] + [WebSocketRoute("/ws", websocket_endpoint)]
        + [Route("/metrics", metrics_endpoint(services.metrics, settings.metrics_token), methods=["GET"])]
        + page_routes(),
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _method_not_allowed, 500: _server_error,
                            StorageUnavailable: _storage_unavailable},
    )
    app.state.services = services
    app.state.booking = booking_routes.BookingApp(settings, store)  # tidsbokning and its mail
    app.state.settings_app = settings_routes.SettingsApp(settings, store, app.state.booking)  # and notifications
    app.state.applications = application_routes.build(settings, store, services)  # ansökan; checks the forms
    app.state.login = login_routes.Login(settings, store)  # OpenID providers, when configured
    # The key transparency log and the units' identity certificates (docs/protocol.md §18-19).
    app.state.key_log = KeyLog(store.key_log, load_log_seed(settings.data_dir))
    app.state.unit_identities = UnitIdentities(store, app.state.key_log)
    app.state.site = Site(settings.demo, settings.max_attachment_bytes, settings.data_dir,
                          settings.release_manifest)  # the browser app's pages and files
    app.add_middleware(SecurityHeaders)
    app.add_middleware(CountResponses, metrics=services.metrics)
    app.add_middleware(RequestIds)
    return app
