"""The Starlette application: services wired together, routes, the WebSocket and security headers."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat import demo
from chat.applications.service import Applications
from chat.audit.auditor import Auditor
from chat.audit.review import LogReview
from chat.booking.calls import Calls
from chat.cases.assignment import Assignments
from chat.cases.mandates import Mandates
from chat.cases.protection import Protection
from chat.errors import StorageUnavailable
from chat.journal.service import Journal
from chat.keys.service import KeyService
from chat.keys.transparency import KeyLog, UnitIdentities, load_log_seed
from chat.messaging.attachments import AttachmentSweep
from chat.messaging.bus import open_bus
from chat.messaging.cluster import Node, SharedHub
from chat.messaging.delivery import MessageService
from chat.messaging.feeds import Feeds
from chat.messaging.hub import Hub, case_users
from chat.messaging.inbox import ReplyTimes
from chat.model import Case, Mandate, ReceiptMarks, StoredMessage
from chat.notifications.notices import Notices
from chat.retention.job import RetentionJob
from chat.storage import Storage, engines
from web import (
    account,
    audit,
    calls,
    cases,
    citizens,
    device_proof,
    exchange,
    extract,
    frames,
    key_history,
    keylog,
    keys,
    messaging,
    representatives,
    sdk_api,
    status,
)
from web import appeals as appeal_routes
from web import applications as application_routes
from web import booking as booking_routes
from web import journal as journal_routes
from web import login as login_routes
from web import retention as retention_routes
from web import settings as settings_routes
from web.audit_witness import WitnessPublisher
from web.booking import ROOM_KEY_FILE
from web.config import Settings
from web.device_proof import DEMO_KEY_FILE
from web.drain import Draining
from web.httpapi import ApiRoute, build_route
from web.keyfiles import server_secret
from web.logs import RequestIds
from web.metrics import CountResponses, Metrics
from web.metrics import endpoint as metrics_endpoint
from web.pages import Site, page_routes
from web.problems import from_error, problem
from web.ratelimit import RateLimiter
from web.sessions import Sessions
from web.ws import websocket_route

log = logging.getLogger("samtal.app")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


# Browsers that have seen the https site once refuse plain http to it for two years (no downgrade, no
# stripped cookies); sent only when SAMTAL_PUBLIC_URL says the site is https, never to the demo on http.
HSTS = (b"strict-transport-security", b"max-age=63072000")


class SecurityHeaders:
    """Headers on every HTTP answer; pages may set a fuller Content-Security-Policy of their own."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS + ([HSTS] if https else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in self.headers if name not in present]
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
    mandates: Mandates  # representatives and guardians (ombud, god man, förvaltare, vårdnadshavare)
    journal: Journal  # dokumentation: the cases' journals, and the drafts shared live (web/journal.py)
    metrics: Metrics  # /metrics: figures about the service, none about people
    booking: booking_routes.BookingApp  # tidsbokning and its mail
    unit_settings: settings_routes.SettingsApp  # a unit's own settings, and the notification e-mails
    applications: Applications  # ansökan; its forms are checked when the server starts
    login: login_routes.Login  # OpenID providers, when configured
    exchange: exchange.Exchange  # the agency exchange endpoint and its urgent alerts
    site: Site  # the browser app's pages and files
    uploads: RateLimiter  # attachments a minute per person (web/httpapi.Ctx.encrypted_upload)
    key_log: KeyLog  # the key transparency log (docs/protocol.md §19)
    unit_identities: UnitIdentities  # the units' identity certificates (§18)
    # The database's generation, read at start (a restore needs the server stopped, so it cannot change
    # while this process runs); clients compare it to know their cursors are of this history.
    generation: str = ""
    draining: Draining = field(default_factory=Draining)  # SIGTERM: /readyz 503, connections finish and close
    node: Node | None = None  # several nodes: this one's place on the bus (chat/messaging/cluster.py)


def api_routes() -> list[ApiRoute]:
    """Every HTTP route of the API, feature by feature: the one list (tests/test_docs.py and
    tests/test_policy.py read it too). Each route names its policy action (web/httpapi.py)."""
    return [*status.api.routes, *account.api.routes, *login_routes.api.routes, *keys.api.routes,
            *key_history.api.routes, *messaging.api.routes, *cases.api.routes, *citizens.api.routes,
            *audit.api.routes, *booking_routes.api.routes, *calls.api.routes, *settings_routes.api.routes,
            *application_routes.api.routes, *appeal_routes.api.routes,
            *journal_routes.api.routes, *keylog.api.routes, *exchange.api.routes,
            *device_proof.api.routes, *extract.api.routes, *retention_routes.api.routes,
            *representatives.api.routes, *sdk_api.api.routes]


def build_services(settings: Settings, store: Storage) -> Services:
    shared = SharedHub() if settings.bus_url else None  # several nodes: the hub tells the others
    hub: Hub = shared if shared is not None else Hub()
    assignments = Assignments(store)
    notices = Notices(store)
    protection = Protection(store.protected_identities)
    metrics = Metrics(hub.connection_count)

    async def case_targets(case_id: str) -> list[str]:
        case = await store.get_case(case_id)
        return case_users(case, assignments.substitutes_now(case)) if case is not None else []

    feeds = Feeds(hub, store, frames.message_frame, case_targets, metrics.message_delivered)
    def on_message(case: Case, message: StoredMessage, origin: object) -> None:
        metrics.accepted.inc()
        if node is not None:
            node.message_stored(case, message, origin, assignments.substitutes_now(case))
        else:
            feeds.stored_here(message, case_users(case, assignments.substitutes_now(case)), origin)
        notices.message_stored(case, message.seq, message.sender_user)

    def on_receipt(case: Case, marks: ReceiptMarks) -> None:
        metrics.receipts.inc()
        hub.publish_case(case, frames.receipt_frame(marks))
        notices.receipt(case, marks.user_id, marks.delivered_seq, marks.read_seq)

    def sessions_ended(key: bytes | None, user_id: str) -> None:  # their WebSockets end with them
        if key is not None:
            hub.cut_session(key)
        else:
            hub.cut_user(user_id)

    def mandate_changed(mandate: Mandate, unit_id: str) -> None:
        # The representative reconnects with what holds now; the unit's key holders wrap the case key to
        # their devices, or rotate it away from them (chat/keys/service.py pending_tasks).
        hub.cut_user(mandate.holder)
        hub.publish_unit_staff(unit_id, frames.KEYS_PENDING)

    mandates = Mandates(store, mandate_changed)
    sessions = Sessions(store, settings.session_idle_seconds, settings.session_max_seconds, sessions_ended,
                        mandates.with_mandates)
    booking = booking_routes.BookingApp(settings, store)
    login = login_routes.Login(settings, store, sessions)
    uploads = RateLimiter(settings.upload_rate)
    node = Node(open_bus(settings.bus_url), shared, feeds, store, limiters={"uploads": uploads},
                on_lag=metrics.bus_lag.observe) if shared is not None else None
    if node is not None:
        metrics.watch_bus(lambda: node.connected, lambda: len(node.peers), lambda: node.catch_ups)
    # The key transparency log and the units' identity certificates (docs/protocol.md §17-18).
    key_log = KeyLog(store.key_log, load_log_seed(settings.data_dir))
    messages = MessageService(store, on_message, on_receipt, assignments)
    feeds.origin_of = lambda case_id, msg_id: messages.sending.get((case_id, msg_id))
    return Services(
        settings=settings, store=store, hub=hub, sessions=sessions,
        messages=messages,
        assignments=assignments,
        review=LogReview(store),
        keys=KeyService(store, lambda unit_id: hub.publish_unit_staff(unit_id, frames.KEYS_PENDING),
                        lambda user_id: hub.publish_user(user_id, frames.KEYS_UPDATED),
                        history=store.key_history),
        reply_times=ReplyTimes(store),
        calls=Calls(store, store.bookings, assignments, Auditor(store),
                    protection, relay_available=settings.has_turn),
        notices=notices, protection=protection, mandates=mandates,
        journal=journal_routes.build(store, hub, assignments), metrics=metrics,
        booking=booking, unit_settings=settings_routes.SettingsApp(settings, store, booking),
        applications=application_routes.build(settings, store, hub, assignments),
        login=login, exchange=exchange.Exchange(settings, store),
        site=Site(settings.demo, settings.max_attachment_bytes, sorted(login.providers), settings.data_dir,
                  settings.release_manifest, settings.unit_identity_urls, device_proof.provider_origins(settings)),
        uploads=uploads, key_log=key_log, node=node,
        unit_identities=UnitIdentities(store, key_log),
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem(404, "not_found", "no such resource")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    # RFC 9110: a 405 lists every method the resource takes. Each method of a path may be a route of its
    # own (one per feature handler), and Starlette's exception names only the first route's.
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return problem(405, "method_not_allowed", "this resource does not take that method",
                   headers={"Allow": ", ".join(sorted(methods))} if methods else None)


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StorageUnavailable)  # registered for StorageUnavailable only
    return from_error(exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem(500, "internal_error", "the server could not handle this request")


def create_app(settings: Settings, store: Storage | None = None) -> Starlette:
    return build_app(settings, store)[0]


def share_caches_across_nodes(services: Services) -> None:
    """What each process keeps in memory and decides by (substitutions: who may answer a case; a unit's
    settings): a change on one node makes the others read it again (chat/messaging/cluster.py, `caches`)."""
    node = services.node
    if node is None:
        return
    def teller(name: str) -> Callable[[str], None]:
        return lambda key: node.stale(name, key)

    for name, kept in (("substitutions", services.assignments), ("unit_settings", services.unit_settings)):
        node.caches[name] = kept.forget
        kept.changed = teller(name)


def build_app(settings: Settings, store: Storage | None = None) -> tuple[Starlette, Services]:
    """The app and the services it was composed of (`samtal serve` drains them on SIGTERM)."""
    settings.validate()
    store = store if store is not None else engines.make_store(settings.database,
                                                               synchronous=settings.sqlite_synchronous.upper())
    services = build_services(settings, store)
    calls.serve_calls_across_nodes(services)
    share_caches_across_nodes(services)
    journal_routes.serve_live_drafts_across_nodes(services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        services.generation = await store.database_generation()
        # The identity key is made now if it is missing, not at the first sign-in: every node of several must
        # have the same one (copied from the first node's data folder, deploy/README.md), and a node that made
        # its own later would key citizens' numbers and sign-in allowances differently from the others.
        _ = services.login.key
        for name in (ROOM_KEY_FILE, *([DEMO_KEY_FILE] if settings.demo else [])):  # the same for the other
            server_secret(settings.data_dir, name)                                 # secrets made on demand
        if settings.demo and await demo.seed(store):
            log.info("demo data seeded")
        if services.node is not None:
            # One subject per installation: the nodes of one database share its generation, and two
            # installations (or a restored copy beside its original) on one broker never hear each other.
            services.node.bus.subject = f"samtal.{services.generation}"
            await services.node.start()
        services.exchange.start()
        await services.booking.start()
        await services.unit_settings.start()
        sweep = AttachmentSweep(store, settings.orphan_blob_seconds)
        sweep.start()
        retention = RetentionJob(store.retention, store.schedule)  # gallring, once across nodes per file
        retention.start()
        services.mandates.start()
        witness = WitnessPublisher(settings, store) if settings.audit_witness_dir else None
        if witness is not None:
            await witness.start()
        try:
            yield
        finally:
            if witness is not None:
                await witness.stop()
            await retention.stop()
            await sweep.stop()
            await services.mandates.stop()
            await services.unit_settings.stop()
            await services.notices.drain()
            await services.booking.stop()
            await services.exchange.stop()
            if services.node is not None:
                await services.node.stop()
            await store.close()

    app = Starlette(
        routes=[*(build_route(spec, services) for spec in api_routes()),
                WebSocketRoute("/ws", websocket_route(services)),
                Route("/metrics", metrics_endpoint(services.metrics, settings.metrics_token), methods=["GET"]),
                *page_routes(services)],
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _method_not_allowed, 500: _server_error,
                            StorageUnavailable: _storage_unavailable},
    )
    app.add_middleware(SecurityHeaders, https=settings.public_url.startswith("https://"))
    app.add_middleware(CountResponses, metrics=services.metrics)
    app.add_middleware(RequestIds)
    return app, services
