"""The browser app's pages: HTML shells that load all data through the API, the static files, the web app
manifest and the service worker. Each page has a strict Content-Security-Policy and SRI on every script.

Pages hold no case data: the browser fetches ciphertext through the API and decrypts it itself, so a page
(or the service worker's copy of it) never carries message content in clear."""
from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import segno
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chat import demo
from chat.errors import SamtalError
from chat.policy import Action
from crypto.devicelink import link_uri
from crypto.keys import DevicePublicKeys
from web.anchors import assets_for, connect_origins
from web.guard import resolve
from web.httpapi import PUBLIC
from web.i18n import LANGUAGES, Language, load_languages, negotiate
from web.icon import png
from web.problem_types import PROBLEM_TYPES
from web.problems import from_error, problem
from web.release import MANIFEST_URL, load_release, service_worker_source
from web.sessions import LANG_COOKIE, remember_language

if TYPE_CHECKING:
    from web.app import Services

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Trusted Types: the app's one policy is "samtal" (it makes the service worker's URL a TrustedScriptURL);
# no other policy, and no default policy, may exist. 'self' everywhere, blob: only for images the browser
# decrypted itself, data: for nothing but the browser's own use (e.g. an empty favicon).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
            "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types samtal")
# The service worker fetches pages and static files for the offline copy; it needs nothing else.
WORKER_CSP = "default-src 'none'; connect-src 'self'; frame-ancestors 'none'"
PAGE_HEADERS = {
    "content-security-policy": PAGE_CSP,
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-resource-policy": "same-origin",
}
# The video call's page alone may ask for the camera and microphone, for itself only (no frame, no other
# origin). Its Content-Security-Policy is the same: the videos play MediaStreams (srcObject), which no
# fetch directive governs, so media-src stays 'none', and WebRTC's peer connection is not a fetch either.
CALL_PAGE_HEADERS = {**PAGE_HEADERS,
                     "permissions-policy": "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()"}


def page_headers(identity_origins: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The pages' headers (and the video call page's) when the browser may also fetch from `identity_origins`:
    the municipality's unit identity files (§18) and the citizens' e-identification providers' keys (§21)."""
    if not identity_origins:
        return PAGE_HEADERS, CALL_PAGE_HEADERS
    csp = PAGE_CSP.replace("connect-src 'self';", f"connect-src 'self' {' '.join(identity_origins)};")
    return {**PAGE_HEADERS, "content-security-policy": csp}, {**CALL_PAGE_HEADERS, "content-security-policy": csp}


IMMUTABLE = "public, max-age=31536000, immutable"

CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RECORD_ID = re.compile(r"^[A-Za-z0-9_-]{21}[AQgw]$")  # an application's id (docs/protocol.md §1)
ICON_SIZES = (192, 512)


@dataclass(frozen=True)
class Page:
    name: str  # also the template's name and the entry module js/pages/<name>.js
    title: str  # gettext msgid
    area: str  # "public", "citizen" or "staff": which navigation the header shows
    roles: tuple[str, ...] = ()  # when set, only these roles may use the page; others see "no access"
    media: bool = False  # the page may use the camera and microphone (the video call)


def N_(message: str) -> str:
    """Marks a string for translation where it is defined; it is translated where it is shown."""
    return message


PAGES = {
    "signin": Page("signin", N_("Sign in"), "public"),
    "cases": Page("cases", N_("My cases"), "citizen"),
    "case": Page("case", N_("Conversation"), "citizen"),
    "inbox": Page("inbox", N_("Inbox"), "staff"),
    "devices": Page("devices", N_("Devices"), "any"),
    "unit": Page("unit", N_("Unit"), "staff", ("supervisor", "unit_admin")),
    "review": Page("review", N_("Log review"), "staff", ("log_reviewer",)),
    "booking": Page("booking", N_("Book a meeting"), "citizen", ("citizen",)),
    "calendar": Page("calendar", N_("Calendar"), "staff", ("caseworker", "supervisor", "unit_admin")),
    "call": Page("call", N_("Video call"), "any", ("citizen", "caseworker", "supervisor", "unit_admin"), media=True),
    "settings": Page("settings", N_("Settings"), "citizen", ("citizen",)),
    "extract": Page("extract", N_("My data in Samtal"), "citizen", ("citizen",)),
    "extracts": Page("extracts", N_("Register extracts"), "staff", ("caseworker", "supervisor", "unit_admin")),
    "apply": Page("apply", N_("Apply"), "citizen", ("citizen",)),
    "application": Page("application", N_("My application"), "citizen", ("citizen",)),
    "applications": Page("applications", N_("Applications"), "staff", ("caseworker", "supervisor", "unit_admin")),
    "journal": Page("journal", N_("Documentation"), "staff", ("caseworker", "supervisor", "unit_admin")),
    "documentation": Page("documentation", N_("My documentation"), "citizen", ("citizen",)),
    "retention": Page("retention", N_("Retention and deletion"), "staff",
                      ("caseworker", "supervisor", "unit_admin", "log_reviewer")),
    "problem": Page("problem", N_("What went wrong"), "public"),
}


class Site:
    """Everything the pages need, built once when the app starts."""

    def __init__(self, demo_mode: bool, max_attachment_bytes: int, providers: list[str], data_dir: Path,
                 release_manifest: Path | None = None, unit_identity_urls: Mapping[str, str] | None = None,
                 provider_origins: tuple[str, ...] = ()) -> None:
        self.providers = providers  # the OpenID providers this server is set up with, for the sign-in buttons
        # The municipality's identity files' addresses are in the code (and its signed release), and the pages
        # may fetch from their origins (docs/protocol.md §18), and the citizens' e-identification providers'
        # published keys from the providers themselves (§21); nothing else outside this origin.
        urls = unit_identity_urls or {}
        self.assets = assets_for(urls)
        origins = list(dict.fromkeys([*connect_origins(urls), *provider_origins]))
        self.page_headers, self.call_page_headers = page_headers(origins)
        self.languages = load_languages()
        self.demo = demo_mode
        self.max_attachment_bytes = max_attachment_bytes
        self.envs = {code: self._environment(lang) for code, lang in self.languages.items()}
        # The signed manifest of every file the browser runs, which the service worker checks (web/release.py).
        self.release = load_release(self.assets, release_manifest, data_dir)
        self.service_worker = service_worker_source(self.assets, self.release.name, self.release.public_key)

    def _environment(self, lang: Language) -> jinja2.Environment:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                 extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True)
        env.install_gettext_translations(lang.translations, newstyle=True)  # type: ignore[attr-defined]
        env.globals["asset"] = lambda path: self.assets[path]
        env.globals["module_graph"] = self.assets.module_graph
        return env

    def render(self, request: Request, page: Page, template: str | None = None, status_code: int = 200,
               **context: Any) -> Response:
        lang = self.languages[language_of(request)]
        config = {"page": page.name, "demo": self.demo, "max_attachment_bytes": self.max_attachment_bytes,
                  "lang": lang.code, **context}
        html = self.envs[lang.code].get_template(template or f"{page.name}.html").render(
            page=page, lang=lang, languages=[self.languages[c] for c in LANGUAGES], config=config,
            i18n=lang.js_catalogue, entry=f"js/pages/{page.name}.js", path=request.url.path,
            demo_users=demo.USERS if self.demo else [], other_host=_other_local_host(request),
            providers=self.providers, **context)
        return _page_response(request, html, status_code,
                              self.call_page_headers if page.media and template is None else self.page_headers)


def language_of(request: Request) -> str:
    return negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def _other_local_host(request: Request) -> str | None:
    """The demo's tip for trying both roles in one browser: cookies are per host name, so 127.0.0.1 and
    localhost hold separate sign-ins."""
    host = request.url.hostname
    swap = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(host or "")
    if swap is None:
        return None
    return str(request.url.replace(hostname=swap, path="/", query=""))


Handler = Callable[[Request, "Services"], Awaitable[Response]]


@dataclass(frozen=True)
class PageRoute:
    path: str
    action: Action | str  # every route names its policy action; pages themselves are PUBLIC shells
    handler: Handler


def _guarded(route: PageRoute, services: Services) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if isinstance(route.action, Action):
            user = await services.sessions.user_of(request)
            if user is None:
                return problem(401, "not_signed_in", "sign in first")
            try:
                await resolve(services, user, route.action, request.path_params)  # as for the API (web/guard.py)
            except SamtalError as error:
                return from_error(error)
        return await route.handler(request, services)
    return endpoint


def _page(page: Page) -> Handler:
    async def handler(request: Request, services: Services) -> Response:
        chosen = request.query_params.get("lang")
        if chosen is not None:
            return _remember_language(request, chosen)
        case_id = request.path_params.get("case_id")
        if case_id is not None and not CASE_ID.match(case_id):
            return problem(404, "not_found", "no such case")
        application_id = request.path_params.get("application_id")
        if application_id is not None and not RECORD_ID.match(application_id):
            return problem(404, "not_found", "no such application")
        if page.roles:
            user = await services.sessions.user_of(request)
            if user is not None and user.role.value not in page.roles:
                # The page holds nothing either way (its data comes through the API, which decides
                # too); this says so plainly instead of showing controls that would only fail.
                return services.site.render(request, page, "noaccess.html", 403, case_id=None, denied=True)
        return services.site.render(request, page, case_id=case_id,
                                       **{k: v for k, v in request.path_params.items() if k != "case_id"})
    return handler


async def problem_type(request: Request, services: Services) -> Response:
    """The page a problem+json `type` names: what the code means, in the reader's language."""
    chosen = request.query_params.get("lang")
    if chosen is not None:
        return _remember_language(request, chosen)
    code = request.path_params["code"]
    if code not in PROBLEM_TYPES:
        return problem(404, "not_found", "no such problem type")
    return services.site.render(request, PAGES["problem"], case_id=None, code=code, explanation=PROBLEM_TYPES[code])


def _remember_language(request: Request, chosen: str) -> Response:
    """?lang=en remembers the choice in a cookie and goes back to the page's own address, so that the
    address (and the service worker's offline copy) stays the same whatever the language."""
    response = RedirectResponse(request.url.path, status_code=303)
    if chosen in LANGUAGES:
        remember_language(request, response, chosen)
    return response


async def static_file(request: Request, services: Services) -> Response:
    found = services.site.assets.lookup(request.url.path)
    if found is None:
        return problem(404, "not_found", "no such file")
    asset, hashed = found
    headers = {"cache-control": IMMUTABLE if hashed else "no-cache", "cross-origin-resource-policy": "same-origin",
               "vary": "accept-encoding"}
    if asset.gzipped is not None and accepts_gzip(request):
        return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "content-encoding": "gzip"})
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def accepts_gzip(request: Request) -> bool:
    return any(part.split(";")[0].strip() == "gzip" for part in request.headers.get("accept-encoding", "").split(","))


def _page_response(request: Request, html: str, status_code: int, headers: dict[str, str]) -> Response:
    """A page, gzipped for a browser that takes it: most of a page is the catalogue of its translations. A page
    holds no secret (no case data, no token), so compressing it gives a BREACH-style attack nothing to find."""
    body = html.encode("utf-8")
    if accepts_gzip(request):
        headers = {**headers, "content-encoding": "gzip", "vary": "accept-encoding"}
        body = gzip.compress(body, compresslevel=6)
    else:
        headers = {**headers, "vary": "accept-encoding"}
    return Response(body, status_code=status_code, media_type="text/html; charset=utf-8", headers=headers)


async def manifest(request: Request, services: Services) -> Response:
    site = services.site
    lang = site.languages[language_of(request)]
    _ = lang.translations.gettext
    icons = [{"src": f"/icons/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png", "purpose": purpose}
             for n in ICON_SIZES for purpose in ("any", "maskable")]
    icons.append({"src": site.assets["icons/icon.svg"].url, "sizes": "any", "type": "image/svg+xml"})
    body = {"id": "/", "name": "Samtal", "short_name": "Samtal", "lang": lang.code, "dir": lang.direction,
            "description": _("Encrypted messages with social services"), "start_url": "/",
            "scope": "/", "display": "standalone", "background_color": "#f5f7fa", "theme_color": "#0a4f9c",
            "icons": icons}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json",
                    headers={"cache-control": "no-cache"})


async def icon(request: Request, services: Services) -> Response:
    size = int(request.path_params["size"])
    if size not in ICON_SIZES:
        return problem(404, "not_found", "no such icon")
    return Response(png(size), media_type="image/png", headers={"cache-control": "public, max-age=86400"})


async def service_worker(request: Request, services: Services) -> Response:
    """Served from the root so that it controls every page; its copy list names hashed files only."""
    return Response(services.site.service_worker, media_type="text/javascript; charset=utf-8",
                    headers={"cache-control": "no-cache", "content-security-policy": WORKER_CSP})


async def release_manifest(request: Request, services: Services) -> Response:
    """The signed release manifest (web/release.py): what the service worker and `samtal web verify` check."""
    return Response(services.site.release.document, media_type="application/json",
                    headers={"cache-control": "no-cache"})


async def device_qr(request: Request, services: Services) -> Response:
    """A QR code of a device's safety number, to compare in person; public-key data only."""
    device = await services.store.get_device(request.path_params["device_id"])
    if device is None:
        return problem(404, "not_found", "no such device")
    keys = DevicePublicKeys(device.sign_pub, device.kem_pub)
    # ?link=1: what a new device shows to be linked from another of the person's devices (docs/protocol.md §21)
    text = link_uri(device.user_id, keys) if request.query_params.get("link") == "1" \
        else f"samtal:device:v1:{device.id}:{keys.fingerprint().replace(' ', '')}"
    qr = segno.make(text, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", xmldecl=False, svgns=True, scale=6, border=4, dark="#000", light="#fff",
            svgclass=None, lineclass=None)
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers={"cache-control": "private, no-store"})


ROUTES = [PageRoute(path, PUBLIC, _page(PAGES[name])) for path, name in [
    ("/", "signin"), ("/cases", "cases"), ("/cases/{case_id}", "case"), ("/inbox", "inbox"),
    ("/inbox/{case_id}", "inbox"), ("/devices", "devices"), ("/unit", "unit"), ("/review", "review"),
    ("/cases/{case_id}/booking", "booking"), ("/calendar", "calendar"),
    ("/cases/{case_id}/calls/{booking_id:int}", "call"), ("/settings", "settings"), ("/extract", "extract"), ("/extracts", "extracts"), ("/apply", "apply"),
    ("/apply/{application_id}", "application"), ("/applications", "applications"),
    ("/applications/{application_id}", "applications"), ("/inbox/{case_id}/documentation", "journal"),
    ("/cases/{case_id}/documentation", "documentation"), ("/retention", "retention")]] + [
    PageRoute("/problems/{code}", PUBLIC, problem_type),
    PageRoute("/static/{path:path}", PUBLIC, static_file),
    PageRoute("/manifest.webmanifest", PUBLIC, manifest),
    PageRoute("/icons/icon-{size:int}.png", PUBLIC, icon),
    PageRoute("/sw.js", PUBLIC, service_worker),
    PageRoute(MANIFEST_URL, PUBLIC, release_manifest),
    PageRoute("/devices/{device_id}/qr.svg", Action.DEVICE_READ, device_qr),
]


def page_routes(services: Services) -> list[Route]:
    return [Route(r.path, _guarded(r, services), methods=["GET", "HEAD"]) for r in ROUTES]
