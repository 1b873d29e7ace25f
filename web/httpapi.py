"""Plumbing for HTTP routes: each route declares its policy action, authentication and JSON bodies are
handled once here, and domain errors become problem+json."""
from __future__ import annotations

import builtins
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chat import json_input
from chat.errors import FieldError, InvalidInput, SamtalError
from chat.model import Case, User
from chat.policy import Action
from crypto.encoding import unb64u
from crypto.errors import MalformedError
from web import apischema
from web.apischema import Schema
from web.guard import NOBODY, Resolved, record_refusal, resolve
from web.origin import origin_allowed
from web.problems import from_error, problem

if TYPE_CHECKING:
    from web.app import Services

log = logging.getLogger("samtal.http")

MAX_JSON_BODY = 256 * 1024
PUBLIC = "public"  # the action of routes that need no session (demo login, health)


@dataclass
class Ctx:
    """What a route handler gets: the request, the services, the signed-in user (None on public routes) and
    what the policy allowed it to act on (web/guard.py)."""

    request: Request
    services: Services
    user: User
    device_id: str | None
    resolved: Resolved = NOBODY
    route: ApiRoute | None = None

    @property
    def case(self) -> Case:
        """The case the route's path names, resolved and decided by the machinery."""
        if self.resolved.case is None:
            raise RuntimeError("this route names no case")
        return self.resolved.case

    @property
    def unit_id(self) -> str:
        """The unit the route acts on: its path's, its case's, or the staff member's own."""
        if self.resolved.unit_id is None:
            raise RuntimeError("this route names no unit")
        return self.resolved.unit_id

    async def body(self, max_bytes: int = MAX_JSON_BODY) -> Body:
        if self.request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            # Also a CSRF guard: a cross-site form cannot send application/json without a CORS preflight.
            raise InvalidInput("the body must be application/json", code="unsupported_media_type")
        raw = bytearray()
        async for chunk in self.request.stream():
            raw += chunk
            if len(raw) > max_bytes:
                raise InvalidInput(f"the body is larger than {max_bytes} bytes", code="too_large")
        data = json_input.parse_object(raw, max_bytes=max_bytes)
        if self.route is not None and self.route.body is not None:
            errors = apischema.validate(self.route.body, data)
            if errors:
                raise InvalidInput("the body has " + ("a field that is wrong" if len(errors) == 1 else
                                                      f"{len(errors)} fields that are wrong") + ": see errors",
                                   code="invalid_field", errors=errors)
        return Body(data)

    def query_int(self, name: str, default: int, low: int = 0, high: int = json_input.SAFE_INT) -> int:
        """A whole number from the query string, within [low, high] (a number beyond SQLite's 64 bits was a 500)."""
        value = self.query_optional_int(name, low, high)
        return default if value is None else value

    def query_optional_int(self, name: str, low: int = 0, high: int = json_input.SAFE_INT) -> int | None:
        raw = self.request.query_params.get(name, "").strip()
        if raw == "":
            return None
        if not raw.lstrip("-").isdigit() or len(raw) > 20 or not low <= int(raw) <= high:
            detail = f"must be a whole number from {low} to {high}"
            raise InvalidInput(f"{name} {detail}", code="invalid_field", errors=[FieldError(f"?{name}", detail)])
        return int(raw)

    async def encrypted_upload(self) -> bytes:
        """An encrypted attachment (application/octet-stream); its size is checked while the body streams in,
        before it is all read."""
        if self.request.headers.get("content-type", "").split(";")[0].strip() != "application/octet-stream":
            raise InvalidInput("an attachment is sent as application/octet-stream", code="unsupported_media_type")
        settings = self.services.settings
        if wait := self.services.uploads.retry_after(self.user.id):
            raise InvalidInput(f"at most {settings.upload_rate} attachments a minute; try again in {wait} seconds",
                               code="rate_limited")
        limit = settings.max_attachment_bytes
        room = settings.attachment_quota_bytes - await self.services.store.attachment_bytes_of(self.user.id)
        declared = self.request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise InvalidInput(f"the attachment is larger than {limit} bytes", code="too_large")
        data = bytearray()
        async for chunk in self.request.stream():
            data += chunk
            if len(data) > limit:
                raise InvalidInput(f"the attachment is larger than {limit} bytes", code="too_large")
            if len(data) > room:
                raise InvalidInput(f"your attachments would take more than {settings.attachment_quota_bytes} bytes",
                                   code="quota_exceeded")
        if len(data) < 16:
            raise InvalidInput("an encrypted attachment is at least 16 bytes (its tag)", code="invalid_field")
        return bytes(data)

    def require_device(self) -> str:
        if not self.device_id:
            raise InvalidInput("this request needs the X-Samtal-Device header", code="device_required")
        return self.device_id


class Body:
    """Typed access to a JSON object; every miss is a 400 naming the field by its JSON Pointer. A route that
    declares its body's schema has every wrong field reported at once, before its handler runs (Ctx.body).

    Its methods are named after the types they return, which shadows those names in the annotations that
    follow each: there they are spelled `builtins.str` and `builtins.int`."""

    def __init__(self, data: dict[str, Any], at: str = "") -> None:
        self.data = data
        self.at = at  # this object's JSON Pointer in the request body ("" for the body itself)

    def refuse(self, name: str, detail: str) -> InvalidInput:
        return InvalidInput(f"{name} {detail}", code="invalid_field", errors=[FieldError(f"{self.at}/{name}", detail)])

    def _get(self, name: str, kind: type, required: bool) -> Any:
        if name not in self.data:
            if required:
                raise self.refuse(name, "is required")
            return None
        value = self.data[name]
        if type(value) is not kind:
            raise self.refuse(name, f"must be {kind.__name__}")
        return value

    def str(self, name: str, max_len: int = 256, required: bool = True) -> str:
        value: str = self._get(name, str, required)
        if value is not None and len(value) > max_len:
            raise self.refuse(name, "is too long")
        return value

    def bool(self, name: builtins.str) -> bool:
        value: bool = self._get(name, bool, True)
        return value

    def int(self, name: builtins.str, low: builtins.int = 0, high: builtins.int = 2**53 - 1) -> builtins.int:
        value: builtins.int = self._get(name, int, True)
        if not low <= value <= high:
            raise self.refuse(name, "is out of range")
        return value

    def bytes(self, name: builtins.str, length: builtins.int | None = None, max_len: builtins.int = 4096) -> bytes:
        text = self.str(name, max_len=max_len * 2)
        try:
            value = unb64u(text)
        except MalformedError:
            raise self.refuse(name, "must be base64url without padding") from None
        if length is not None and len(value) != length:
            raise self.refuse(name, f"must be {length} bytes")
        return value

    def list(self, name: builtins.str, max_items: builtins.int = 1000) -> list[Body]:
        items = self._get(name, list, True)
        if len(items) > max_items:
            raise self.refuse(name, "has too many items")
        if not all(isinstance(item, dict) for item in items):
            raise self.refuse(name, "must be a list of objects")
        return [Body(item, f"{self.at}/{name}/{index}") for index, item in enumerate(items)]


Handler = Callable[[Ctx], Awaitable[Response]]


@dataclass(frozen=True)
class ApiRoute:
    """One route of the registry: what guards it and what it takes and answers. The shapes make the API's
    OpenAPI document (web/openapi.py, GET /api/openapi.json); a declared body is checked before the handler
    runs, every wrong field at once."""

    path: str
    methods: tuple[str, ...]
    action: Action | str
    handler: Handler
    body: Schema | None = None  # the JSON body's schema (web/apischema.py)
    query: dict[str, Schema] = field(default_factory=dict)  # query parameters: name -> schema
    response: Schema | None = None  # the JSON answer's schema (None: not described yet)
    status: int = 200  # the status of a successful answer
    # Other successful statuses with the same body: 200 where a retried request finds what its first attempt
    # made (`duplicate`), beside the 201 of a new one.
    also: tuple[int, ...] = ()
    media: str = "application/json"  # the successful answer's media type
    upload: bool = False  # the body is an encrypted attachment (application/octet-stream), not JSON

    @property
    def summary(self) -> str:
        return (self.handler.__doc__ or self.handler.__name__.replace("_", " ")).strip().split("\n")[0]


class RouteTable:
    """One feature's HTTP routes, each with the policy action that guards it; web/app.py lists every
    feature's table (the one list of routes)."""

    def __init__(self) -> None:
        self.routes: list[ApiRoute] = []

    def __call__(self, path: str, *methods: str, action: Action | str, **shapes: Any) -> Callable[[Handler], Handler]:
        """Register a route with its policy action (`@api(path, "GET", action=...)`; a route without one
        cannot be made) and its shapes (`body=`, `query=`, `response=`, `status=`, `also=`, `media=`, `upload=`:
        the fields of ApiRoute)."""
        if not isinstance(action, Action) and action != PUBLIC:
            raise ValueError(f"route {path} needs a policy action")

        def register(handler: Handler) -> Handler:
            self.routes.append(ApiRoute(path, methods, action, handler, **shapes))
            return handler

        return register


def check_query(spec: ApiRoute, request: Request) -> None:
    """The declared query parameters, every wrong one at once (whole numbers as text, names from a list)."""
    errors = []
    for name, schema in spec.query.items():
        raw = request.query_params.get(name)
        if raw is None:
            continue
        value: Any = raw
        if schema.get("type") == "integer":
            value = int(raw) if raw.lstrip("-").isdigit() and len(raw) <= 20 else raw
        errors += [FieldError(f"?{name}", e.detail) for e in apischema.validate(schema, value)]
    if errors:
        raise InvalidInput(f"the query has {len(errors)} wrong parameters: see errors" if len(errors) > 1
                           else f"{errors[0].pointer[1:]} {errors[0].detail}", code="invalid_field", errors=errors)


def build_route(spec: ApiRoute, services: Services) -> Route:
    """The route with its machinery: origin check, session, the policy decision on the case or unit the path
    names (web/guard.py), the handler, problem+json for domain errors, and the audit row either way."""
    action = str(spec.action)

    async def endpoint(request: Request) -> Response:
        names = request.path_params
        detail = {"route": f"{request.method} {spec.path}"}

        async def denied(user: User | None, response: Response, code: str) -> Response:
            await services.messages.auditor.record(user, action, "denied", reason=code, detail=detail)
            return response

        if request.method not in {"GET", "HEAD"} and not origin_allowed(request, services.settings):
            return await denied(None, problem(403, "bad_origin", "requests that change state must come from this "
                                                                  "site"), "bad_origin")
        user = await services.sessions.user_of(request)
        resolved = NOBODY
        if spec.action != PUBLIC:
            if user is None:
                return await denied(None, problem(401, "not_signed_in", "sign in first"), "not_signed_in")
            assert isinstance(spec.action, Action)
            try:
                resolved = await resolve(services, user, spec.action, names)
            except SamtalError as error:
                await record_refusal(services, user, action, error, names, detail)
                return from_error(error)
        ctx = Ctx(request, services, user, request.headers.get("x-samtal-device") or None,  # type: ignore[arg-type]
                  resolved, spec)
        case_id = resolved.case.id if resolved.case else None
        try:
            check_query(spec, request)
            response = await spec.handler(ctx)
        except SamtalError as error:
            await services.messages.record_refusal(error, user, ctx.device_id, case_id, action=action)
            return from_error(error)
        if spec.action != PUBLIC:  # every read and write of case data, and every account action
            await services.messages.auditor.record(user, action, "allowed", case_id=case_id,
                                                   unit_id=resolved.unit_id,
                                                   detail={**detail, "status": response.status_code})
        return response

    return Route(spec.path, endpoint, methods=list(spec.methods))
