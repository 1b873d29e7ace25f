"""Sign-in through the municipality's OpenID providers (inloggning): citizens with e-identification at the
required assurance level, known by their personal identity number; staff through the municipality's own
provider, with role and unit from its claims. Also sign-out on every device. The protocol is web/oidc.py's.

A personal identity number never reaches the database, a log or the audit log: accounts are found by a keyed
hash of it (HMAC-SHA256 under a server secret)."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from chat.identity import normalize
from chat.model import Role, User, now_ms
from chat.policy import Action
from chat.retention import sample as research_sample
from chat.storage import LoginAttempt, Storage
from web.apischema import BOOL, obj
from web.config import Settings
from web.httpapi import PUBLIC, Ctx, RouteTable
from web.keyfiles import server_secret
from web.oidc import PNR_CLAIM, LoginRefused, OpenIdProvider, ProviderConfig, random_token
from web.pages import PAGES
from web.problems import problem
from web.sessions import Sessions, is_local_http

api = RouteTable()  # this feature's routes, listed in web/app.py

log = logging.getLogger("samtal.login")

KINDS = ("citizen", "staff")
LOGIN_COOKIE = "samtal_login"  # binds an authorization request to the browser that started it
# Long enough to open the BankID app and sign; an answer after this is refused.
ATTEMPT_TTL_MS = 10 * 60_000
# Used attempts are kept this long, so that a replayed answer is told apart from a made-up one.
ATTEMPT_KEEP_MS = 24 * 3600_000
KEY_FILE = "identity-hmac.key"
STAFF_ROLES_FROM_PROVIDER = {Role.CASEWORKER, Role.SUPERVISOR, Role.UNIT_ADMIN, Role.LOG_REVIEWER}
PNR = re.compile(r"[0-9]{12}")  # the Swedish OIDC profile: 12 digits, YYYYMMDDNNNN (also samordningsnummer)
NEXT = re.compile(r"^/(?![/\\])[A-Za-z0-9/_.~%?=&-]{0,200}$")  # a path on this site, never //host or /\host
# A citizen's browser may bring the nonce its new device's keys make (docs/protocol.md §21: SHA-256, base64url),
# so that the provider's ID token attests that device; it is as unpredictable as our own (a random salt).
DEVICE_NONCE = re.compile(r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")


def _sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def client_key(conn: HTTPConnection) -> str:
    """What the sign-in limit counts by: the client's own address, as this server saw it or as a configured
    proxy reported it (SAMTAL_TRUSTED_PROXIES; never a header from anyone else), so that nobody can spend
    another person's allowance. An IPv6 client counts by its /64, which one household or device holds."""
    host = conn.client.host if conn.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def identity_key(settings: Settings) -> bytes:
    """SAMTAL_PNR_HMAC_KEY, or a random key kept in the data folder (made on first start, readable by the
    server's user only). Losing it cuts every account from its sign-in, so it is backed up with the database."""
    if settings.pnr_hmac_key:
        return settings.pnr_hmac_key.encode("utf-8")
    return server_secret(settings.data_dir, KEY_FILE)


class Login:
    """The configured providers, the rate limit and the identity key of one running server."""

    def __init__(self, settings: Settings, store: Storage, sessions: Sessions) -> None:
        self.settings = settings
        self.store = store
        self.sessions = sessions
        self.providers = {kind: OpenIdProvider(config) for kind in KINDS
                          if (config := ProviderConfig.from_settings(settings, kind)) is not None}
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        """Read (or made) when first needed: at a sign-in, or when staff register a person in person."""
        if self._key is None:
            self._key = identity_key(self.settings)
        return self._key

    def identity_claims(self, kind: str) -> tuple[str, ...]:
        """What an account is made from; a provider that keeps them out of the ID token gives them at userinfo."""
        if kind == "citizen":
            return PNR_CLAIM, "name"
        return self.settings.oidc_staff_role_claim, self.settings.oidc_staff_unit_claim, "name"

    def redirect_uri(self, kind: str) -> str:
        return f"{self.settings.public_base}/login/{kind}/callback"

    def identity_hash(self, *parts: str) -> bytes:
        return hmac.new(self.key, "\x00".join(parts).encode("utf-8"), hashlib.sha256).digest()

    # -- accounts ----------------------------------------------------------------------------------
    async def account(self, provider: OpenIdProvider, claims: dict[str, Any]) -> tuple[User, bool]:
        """The user this sign-in is, created on a citizen's or staff member's first sign-in; and whether new."""
        if provider.config.kind == "citizen":
            pnr = claims.get(PNR_CLAIM)
            # Exactly 12 digits (fullmatch: a trailing newline would be another hash, so another account) that
            # are a real date and have the right check digit, as the desk path requires (chat/identity.py).
            if not isinstance(pnr, str) or not PNR.fullmatch(pnr):
                raise LoginRefused(403, "the provider did not give a personal identity number",
                                   code="identity_missing", reason="pnr_missing")
            if normalize(pnr) != pnr:
                raise LoginRefused(403, "the provider gave a personal identity number that is not valid",
                                   code="identity_missing", reason="pnr_invalid")
            return await self.citizen(pnr, _display_name(claims))
        key = self.identity_hash("sub", provider.config.issuer, claims["sub"])
        try:
            role, unit_id = await self._staff_role_and_unit(claims)
        except LoginRefused as refused:
            # The provider no longer gives this person a role here (or a unit we know): the sessions they
            # already have end now, not when they expire, and so does the role they had in them.
            known = await self.store.user_by_identity(key)
            if known is not None:
                await self.store.delete_sessions_of_user(known.id)
                refused.ended_user = known.id
            raise
        return await self._find_or_create(key, "staff", role, unit_id, _display_name(claims))

    async def _staff_role_and_unit(self, claims: dict[str, Any]) -> tuple[Role, str]:
        role_value, unit_id = (_one_string(claims.get(self.settings.oidc_staff_role_claim)),
                               _one_string(claims.get(self.settings.oidc_staff_unit_claim)))
        if role_value is None or unit_id is None:
            raise LoginRefused(403, "the provider did not give a role and a unit", code="identity_missing",
                               reason="role_or_unit_missing")
        role = next((r for r in STAFF_ROLES_FROM_PROVIDER if r.value == role_value), None)
        if role is None:
            raise LoginRefused(403, "the provider gave a role this service does not know", code="unknown_role",
                               reason="unknown_role")
        if await self.store.get_unit(unit_id) is None:
            raise LoginRefused(403, "the provider gave a unit this service does not know", code="unknown_unit",
                               reason="unknown_unit")
        return role, unit_id

    async def citizen(self, pnr: str, name: str | None, authoritative: bool = True) -> tuple[User, bool]:
        """The citizen with this personal identity number (12 digits), made if new. The same account whether
        the person signs in with e-identification or staff register them at the desk (a paper application):
        the number itself is never stored, only its keyed hash. Only the identity provider is `authoritative`
        for the name of an existing account."""
        user, new = await self._find_or_create(self.identity_hash("pnr", pnr), "citizen", Role.CITIZEN, None,
                                               name, rename=authoritative)
        # The research sample flag is derived now, from the number at hand, once per person; the number is not
        # kept (chat/retention/sample.py). An account from before the flag existed gets it at its next sign-in.
        await research_sample.derive(self.store.retention, user.id, pnr)
        return user, new

    async def _find_or_create(self, key: bytes, kind: str, role: Role, unit_id: str | None,
                              name: str | None, rename: bool = True) -> tuple[User, bool]:
        user = await self.store.user_by_identity(key)
        if user is None:
            user_id = f"{kind[0]}-{secrets.token_hex(8)}"
            new = User(user_id, user_id, name or user_id, role, unit_id)
            user = await self.store.add_user_with_identity(new, key, kind)
            return user, user.id == new.id
        if not rename:
            return user, False
        current = User(user.id, user.username, name or user.display_name, role, unit_id)
        if current != user:  # the provider is the source of truth for name, role and unit
            await self.store.update_user(current)
        if (current.role, current.unit_id) != (user.role, user.unit_id):
            # What the person may do changed: every sign-in made under the old role or unit ends, with its
            # live connections (this one starts afresh).
            await self.sessions.end_all_of(user.id)
        return current, False


def _one_string(value: object) -> str | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None


def _display_name(claims: dict[str, Any]) -> str | None:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str))
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return name or None


# -- routes ----------------------------------------------------------------------------------------------
def _login(ctx: Ctx) -> Login:
    return ctx.services.login


async def _audit_refusal(ctx: Ctx, kind: str, refused: LoginRefused) -> Response:
    kind = kind if kind in KINDS else "other"  # the path is the client's; only known words reach the log
    log.info("sign-in refused", extra={"kind": kind, "code": refused.code, "reason": refused.reason})
    await ctx.services.messages.auditor.record(None, "login", "denied", reason=refused.reason,
                                               detail={"kind": kind, "code": refused.code})
    headers = {"retry-after": str(refused.retry_after)} if refused.retry_after else None
    if "text/html" in ctx.request.headers.get("accept", ""):
        # A person's browser arrives here from the e-identification service: show a page, not JSON.
        response = ctx.services.site.render(
            ctx.request, PAGES["signin"], "loginrefused.html", refused.status, code=refused.code,
            refusal=REFUSAL_KIND.get(refused.code, "start_again"), retry_after=refused.retry_after or 0)
        response.headers.update(headers or {})
        return response
    return problem(refused.status, refused.code, refused.message, headers)


# Which explanation a person gets on the refusal page; the code itself is shown as a support reference.
REFUSAL_KIND = {
    "assurance_too_low": "assurance", "provider_refused": "cancelled", "rate_limited": "wait",
    "identity_missing": "account", "unknown_role": "account", "unknown_unit": "account",
    "provider_unavailable": "service", "invalid_id_token": "service", "code_rejected": "start_again",
    "login_unavailable": "service",
}


async def _provider(ctx: Ctx, kind: str) -> OpenIdProvider:
    login = _login(ctx)
    # Counted in the database, so that one allowance holds whichever server process the client reaches; the
    # address is kept only as a keyed hash, and only for a minute.
    key = hmac.new(login.key, b"sign-in\0" + client_key(ctx.request).encode(), hashlib.sha256).digest()
    wait = await login.store.take_allowance(key, login.settings.login_rate, now_ms())
    if wait:
        raise LoginRefused(429, f"too many sign-in attempts; try again in {wait} seconds", code="rate_limited",
                           reason="rate_limited", retry_after=wait)
    provider = login.providers.get(kind)
    if provider is None:
        raise LoginRefused(404, "this sign-in is not configured here", code="login_unavailable",
                           reason="login_unavailable")
    return provider


@api("/login/{kind}", "GET", action=PUBLIC, status=302)
async def start_login(ctx: Ctx) -> Response:
    """Send the browser to the provider, with a fresh state, nonce and PKCE verifier kept here."""
    kind = ctx.request.path_params["kind"]
    try:
        provider = await _provider(ctx, kind)
        state, nonce, verifier, binding = random_token(), random_token(), random_token(), random_token()
        device_nonce = ctx.request.query_params.get("nonce", "")
        if kind == "citizen" and DEVICE_NONCE.match(device_nonce):
            nonce = device_nonce  # the new device's: the ID token will attest its key
        url = await provider.authorization_url(_login(ctx).redirect_uri(kind), state, nonce, verifier)
    except LoginRefused as refused:
        if refused.ended_user:  # their sessions ended: so do their live connections
            ctx.services.hub.cut_user(refused.ended_user)
        return await _audit_refusal(ctx, kind, refused)
    next_path = ctx.request.query_params.get("next", "/")
    now = now_ms()
    await ctx.services.store.add_login_attempt(
        LoginAttempt(_sha256(state), kind, nonce, verifier, _sha256(binding),
                     next_path if NEXT.match(next_path) else "/", now), forget_before=now - ATTEMPT_KEEP_MS)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(LOGIN_COOKIE, binding, max_age=ATTEMPT_TTL_MS // 1000, path="/login", httponly=True,
                        samesite="lax", secure=not is_local_http(ctx.request))  # lax: it comes back from the provider
    return response


async def _take_attempt(request: Request, store: Storage, kind: str) -> LoginAttempt:
    state = request.query_params.get("state", "")
    attempt = await store.take_login_attempt(_sha256(state), now_ms()) \
        if 0 < len(state) <= 200 else None
    if attempt is None or attempt.kind != kind:
        raise LoginRefused(400, "this sign-in was not started here", code="unknown_login", reason="unknown_state")
    if attempt.used_at is not None:
        raise LoginRefused(400, "this sign-in answer was used already", code="login_replayed",
                           reason="replayed_state")
    if now_ms() - attempt.created_at > ATTEMPT_TTL_MS:
        raise LoginRefused(400, "the sign-in took too long; start again", code="login_expired",
                           reason="expired_state")
    binding = request.cookies.get(LOGIN_COOKIE, "")
    if not hmac.compare_digest(_sha256(binding), attempt.binding_hash):
        raise LoginRefused(400, "this sign-in was started in another browser", code="unknown_login",
                           reason="other_browser")
    return attempt


@api("/login/{kind}/callback", "GET", action=PUBLIC, status=303)
async def finish_login(ctx: Ctx) -> Response:
    """The provider's answer: check it, find or create the account, start a session."""
    kind, params = ctx.request.path_params["kind"], ctx.request.query_params
    login = _login(ctx)
    try:
        provider = await _provider(ctx, kind)
        attempt = await _take_attempt(ctx.request, ctx.services.store, kind)
        if "error" in params:  # e.g. access_denied when the person cancelled
            error = re.sub(r"[^a-z_]", "", params["error"][:40])
            raise LoginRefused(401, "the identity provider did not sign you in", code="provider_refused",
                               reason=f"provider_{error}")
        code = params.get("code", "")
        if not 0 < len(code) <= 2000:
            raise LoginRefused(400, "the provider's answer has no code", code="unknown_login", reason="no_code")
        tokens = await provider.exchange_code(code, attempt.code_verifier, login.redirect_uri(kind))
        claims = await provider.verify_id_token(tokens.id_token, attempt.nonce)
        if any(name not in claims for name in login.identity_claims(kind)):
            claims = {**await provider.userinfo(tokens.access_token, claims["sub"]), **claims}
        user, created = await login.account(provider, claims)
        if kind == "citizen":  # kept for the device whose keys made the nonce, which registers next (§21)
            await ctx.services.store.keep_signin_token(attempt.state_hash, user.id, tokens.id_token)
    except LoginRefused as refused:
        if refused.ended_user:  # their sessions ended: so do their live connections
            ctx.services.hub.cut_user(refused.ended_user)
        return await _audit_refusal(ctx, kind, refused)
    await ctx.services.messages.auditor.record(user, "login", "allowed", detail={
        "kind": kind, "acr": claims.get("acr"), "new_account": created})
    response = RedirectResponse(attempt.next_path, status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="lax",
                           secure=not is_local_http(ctx.request))
    await ctx.services.sessions.start(user, ctx.request, response)
    return response


@api("/api/logout-everywhere", "POST", action=Action.SELF, response=obj({"signed_out": BOOL}))
async def logout_everywhere(ctx: Ctx) -> Response:
    """End every session of the user, on every device (a lost phone, a shared computer)."""
    response = JSONResponse({"signed_out": True})
    await ctx.services.sessions.end_everywhere(ctx.user, ctx.request, response)
    return response
