"""OpenID Connect relying party: the authorization code flow with PKCE (S256), as a standard client of the
municipality's providers. Discovery, the authorization request, the code exchange, strict ID token
validation and the assurance level (acr). Sign-in state and accounts are web/login.py's.

Every refusal is a LoginRefused with an HTTP status, a stable `code` for the client and a finer `reason`
for the audit log:

    LoginRefused
    ├── provider_unavailable (502)   discovery, keys, token or userinfo endpoint unreachable or malformed;
    │                                reasons: wrong_issuer, discovery_failed, jwks_failed, token_failed, ...
    ├── code_rejected (401)          the token endpoint refused the code (used before, expired, wrong PKCE)
    ├── invalid_id_token (401)       id_token_signature, id_token_algorithm, id_token_issuer, id_token_audience,
    │                                id_token_azp, id_token_expired, id_token_not_yet_valid, id_token_iat,
    │                                id_token_nonce, id_token_auth_time, id_token_malformed, userinfo_subject
    └── assurance_too_low (403)      acr_missing, acr_too_low
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet

from web.config import Settings, loopback_or_https

# Asymmetric signatures only: "none" and shared-secret HMAC are never accepted for an ID token.
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
# Clocks differ a little between the provider and us; more than this and the token is refused.
LEEWAY_SECONDS = 30
# An ID token from the code flow is minutes old at most; one issued longer ago than this is not fresh.
ID_TOKEN_MAX_AGE = 600
METADATA_TTL_SECONDS = 3600
# A token signed with an unknown key id makes us fetch the keys again (the provider rotated), at most this often.
JWKS_REFETCH_SECONDS = 60
HTTP_TIMEOUT = httpx.Timeout(10.0)
PNR_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"


class LoginRefused(Exception):
    def __init__(self, status: int, message: str, *, code: str, reason: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.reason = status, message, code, reason
        self.retry_after = retry_after
        self.ended_user: str | None = None  # a known staff member refused their role: their sessions were ended


def _unavailable(message: str, reason: str) -> LoginRefused:
    return LoginRefused(502, message, code="provider_unavailable", reason=reason)


def _bad_token(message: str, reason: str) -> LoginRefused:
    return LoginRefused(401, message, code="invalid_id_token", reason=reason)


# -- assurance levels -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssuranceLevels:
    """How `acr` values compare. A required level from the ordered list (lowest first) is met by that level or
    a later one in the list; a numeric required level (e.g. "3") by a number at least as high. Any other
    value, or none, does not meet it."""

    order: tuple[str, ...]

    def requested(self, required: str) -> list[str]:
        """The acr_values to ask for: the required level and those above it, the required one first."""
        return list(self.order[self.order.index(required):]) if required in self.order else [required]

    def meets(self, acr: object, required: str) -> bool:
        if not isinstance(acr, str):
            return False
        if required.isdigit():
            return acr.isdigit() and int(acr) >= int(required)
        return acr in self.order and required in self.order and self.order.index(acr) >= self.order.index(required)


def check_assurance(claims: dict[str, Any], required: str, levels: AssuranceLevels) -> None:
    if not required:
        return
    acr = claims.get("acr")
    if acr is None:
        raise LoginRefused(403, "the provider did not say at what assurance level you signed in",
                           code="assurance_too_low", reason="acr_missing")
    if not levels.meets(acr, required):
        raise LoginRefused(403, "this service needs a sign-in at a higher assurance level",
                           code="assurance_too_low", reason="acr_too_low")


# -- ID token validation -----------------------------------------------------------------------------------
class _Refused(InvalidClaimError):
    """A claim refused for an OpenID Connect rule, with the audit reason it is refused for."""

    def __init__(self, claim: str, reason: str) -> None:
        super().__init__(claim)
        self.reason = reason


def _time(name: str, value: object) -> float:
    # JSON parsers read Infinity and NaN (and 1e400 as infinity): no time is either, and int() of one raised.
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _Refused(name, "id_token_malformed")
    return value


class IdTokenClaims(jwt.JWTClaimsRegistry):
    """The claims of an ID token for this client and this sign-in (OpenID Connect Core 3.1.3.7), through
    joserfc's claims registry: it requires the essential claims and compares iss and aud; the validate_<claim>
    hooks below add what OpenID Connect asks beyond a plain JWT (types, freshness, the nonce, azp), each
    with the reason the audit log records. Every rule is ours, so no check depends on the joserfc release."""

    def __init__(self, *, issuer: str, client_id: str, nonce: str, now: float, max_age: int = 0) -> None:
        essential: jwt.ClaimsOption = {"essential": True}
        times = {"exp": essential, "iat": essential, **({"auth_time": essential} if max_age else {})}
        super().__init__(now=int(now), leeway=LEEWAY_SECONDS, iss={"essential": True, "value": issuer},
                         aud={"essential": True, "value": client_id}, sub=essential, nonce=essential, **times)
        self.client_id, self.nonce, self.clock, self.max_age = client_id, nonce, now, max_age

    def validate(self, claims: dict[str, Any]) -> None:
        super().validate(claims)
        audience = claims["aud"]
        if (isinstance(audience, list) and len(audience) > 1 or "azp" in claims) and claims.get("azp") != self.client_id:
            raise _Refused("azp", "id_token_azp")  # several audiences: the party it was issued to must be us

    def validate_iss(self, value: object) -> None:
        if not isinstance(value, str):
            raise _Refused("iss", "id_token_issuer")
        self.check_value("iss", value)

    def validate_aud(self, value: object) -> None:
        if not isinstance(value, str) and not (isinstance(value, list) and all(isinstance(a, str) for a in value)):
            raise _Refused("aud", "id_token_audience")
        self.check_value("aud", value)

    def validate_sub(self, value: object) -> None:
        if not isinstance(value, str) or not value:
            raise _Refused("sub", "id_token_malformed")

    def validate_nonce(self, value: object) -> None:
        if not isinstance(value, str) or not hmac.compare_digest(value, self.nonce):
            raise _Refused("nonce", "id_token_nonce")

    def validate_exp(self, value: object) -> None:
        if self.clock >= _time("exp", value) + LEEWAY_SECONDS:
            raise _Refused("exp", "id_token_expired")

    def validate_nbf(self, value: object) -> None:
        if self.clock + LEEWAY_SECONDS < _time("nbf", value):
            raise _Refused("nbf", "id_token_not_yet_valid")

    def validate_iat(self, value: object) -> None:
        if not self.clock - ID_TOKEN_MAX_AGE <= _time("iat", value) <= self.clock + LEEWAY_SECONDS:
            raise _Refused("iat", "id_token_iat")  # an ID token from the code flow is minutes old at most

    def validate_auth_time(self, value: object) -> None:
        auth_time = _time("auth_time", value)
        if auth_time > self.clock + LEEWAY_SECONDS or (
                self.max_age and self.clock - auth_time > self.max_age + LEEWAY_SECONDS):
            raise _Refused("auth_time", "id_token_auth_time")


_TOKEN_REFUSALS = {
    "id_token_issuer": "the ID token is from another issuer",
    "id_token_audience": "the ID token is meant for another client",
    "id_token_azp": "the ID token was issued to another party",
    "id_token_expired": "the ID token has expired",
    "id_token_not_yet_valid": "the ID token is not valid yet",
    "id_token_iat": "the ID token was not issued just now",
    "id_token_nonce": "the ID token belongs to another sign-in",
    "id_token_auth_time": "the sign-in at the provider was too long ago",
    "id_token_malformed": "the ID token lacks a claim or has one of the wrong type",
}
# A claim that joserfc's registry itself refuses (required and missing, or not the configured value).
_CLAIM_REASONS = {"iss": "id_token_issuer", "aud": "id_token_audience", "nonce": "id_token_nonce"}


def validate_id_token(token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str, now: float,
                      max_age: int = 0) -> dict[str, Any]:
    """The ID token's claims, once its signature (by one of the provider's keys, with an asymmetric algorithm)
    and its claims are valid for this client and this sign-in (OpenID Connect Core 3.1.3.7)."""
    try:
        decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
    except UnsupportedAlgorithmError:
        raise _bad_token("the ID token is signed with an algorithm that is not accepted", "id_token_algorithm") from None
    except (BadSignatureError, InvalidKeyIdError):
        raise _bad_token("the ID token's signature is not the provider's", "id_token_signature") from None
    except (JoseError, ValueError, KeyError, TypeError):
        raise _bad_token("the ID token is malformed", "id_token_malformed") from None
    claims = decoded.claims
    try:
        IdTokenClaims(issuer=issuer, client_id=client_id, nonce=nonce, now=now, max_age=max_age).validate(claims)
    except _Refused as refused:
        raise _bad_token(_TOKEN_REFUSALS[refused.reason], refused.reason) from None
    except (MissingClaimError, InvalidClaimError) as error:  # a missing claim: the names, comma-separated
        reason = _CLAIM_REASONS.get(error.claim, "id_token_malformed")
        raise _bad_token(_TOKEN_REFUSALS[reason], reason) from None
    except JoseError:
        raise _bad_token(_TOKEN_REFUSALS["id_token_malformed"], "id_token_malformed") from None
    return claims


# -- PKCE and random values ----------------------------------------------------------------------------------
def random_token() -> str:
    return secrets.token_urlsafe(32)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


# -- one provider ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProviderConfig:
    kind: str  # "citizen" or "staff"
    issuer: str
    client_id: str
    client_secret: str
    scope: str
    required_acr: str  # "" when any level will do
    levels: AssuranceLevels
    max_age: int  # 0: not asked for

    @staticmethod
    def from_settings(settings: Settings, kind: str) -> ProviderConfig | None:
        prefix = f"oidc_{kind}_"
        issuer = getattr(settings, prefix + "issuer")
        if not issuer:
            return None
        return ProviderConfig(kind, issuer, getattr(settings, prefix + "client_id"),
                              getattr(settings, prefix + "client_secret"), getattr(settings, prefix + "scope"),
                              getattr(settings, prefix + "acr"), AssuranceLevels(settings.oidc_acr_levels),
                              settings.oidc_max_age)


@dataclass(frozen=True)
class Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str | None


class OpenIdProvider:
    """One configured provider. Its metadata and keys are fetched on first use and cached."""

    def __init__(self, config: ProviderConfig, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.transport = transport
        self.clock = clock
        self._metadata: tuple[float, Metadata] | None = None
        self._keys: tuple[float, KeySet] | None = None
        # One fetch of the keys at a time: concurrent sign-ins with an unknown key id wait for the one fetch
        # (and then find it recent) instead of each fetching, which would defeat the refetch limit.
        self._keys_lock = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=HTTP_TIMEOUT, follow_redirects=False)

    async def _get_json(self, url: str, reason: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            async with self._client() as client:
                response = await client.get(url, headers=headers)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError):
            raise _unavailable("the identity provider could not be reached or answered wrongly", reason) from None
        if not isinstance(data, dict):
            raise _unavailable("the identity provider answered wrongly", reason)
        return data

    async def metadata(self) -> Metadata:
        if self._metadata and self.clock() - self._metadata[0] < METADATA_TTL_SECONDS:
            return self._metadata[1]
        issuer = self.config.issuer
        doc = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery_failed")
        if doc.get("issuer") != issuer:  # OpenID Connect Discovery 4.3: exactly the configured issuer
            raise _unavailable("the identity provider names another issuer than configured", "wrong_issuer")
        urls = [doc.get(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
        userinfo = doc.get("userinfo_endpoint")
        if not all(isinstance(u, str) and loopback_or_https(u) for u in [*urls, *([userinfo] if userinfo else [])]):
            raise _unavailable("the identity provider's endpoints are missing or not https", "discovery_failed")
        methods = doc.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise _unavailable("the identity provider does not support PKCE with S256", "discovery_failed")
        authorization, token, jwks = (str(u) for u in urls)  # strings: checked above
        metadata = Metadata(authorization, token, jwks, userinfo if isinstance(userinfo, str) else None)
        self._metadata = (self.clock(), metadata)
        return metadata

    def _cached_keys(self, refresh: bool) -> KeySet | None:
        now = self.clock()
        if self._keys and not (refresh and now - self._keys[0] >= JWKS_REFETCH_SECONDS) \
                and now - self._keys[0] < METADATA_TTL_SECONDS:
            return self._keys[1]
        return None

    async def keys(self, refresh: bool = False) -> KeySet:
        if (cached := self._cached_keys(refresh)) is not None:
            return cached
        async with self._keys_lock:
            if (cached := self._cached_keys(refresh)) is not None:
                return cached  # fetched by a sign-in that held the lock before this one
            now = self.clock()
            doc = await self._get_json((await self.metadata()).jwks_uri, "jwks_failed")
            try:
                keys = KeySet.import_key_set({"keys": [k for k in doc.get("keys", []) if k.get("use", "sig") == "sig"]})
            except (JoseError, ValueError, TypeError, AttributeError):
                raise _unavailable("the identity provider's keys are malformed", "jwks_failed") from None
            self._keys = (now, keys)
            return keys

    async def authorization_url(self, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
        config = self.config
        params = {"response_type": "code", "client_id": config.client_id, "redirect_uri": redirect_uri,
                  "scope": config.scope, "state": state, "nonce": nonce,
                  "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
        if config.required_acr:
            params["acr_values"] = " ".join(config.levels.requested(config.required_acr))
        if config.max_age:
            params["max_age"] = str(config.max_age)
        endpoint = (await self.metadata()).authorization_endpoint
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> Tokens:
        """client_secret_basic: id and secret form-encoded, then HTTP Basic (RFC 6749 2.3.1)."""
        config = self.config
        auth = httpx.BasicAuth(quote(config.client_id, safe=""), quote(config.client_secret, safe=""))
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier}
        try:
            async with self._client() as client:
                response = await client.post((await self.metadata()).token_endpoint, data=form, auth=auth,
                                             headers={"accept": "application/json"})
            body = response.json()
        except (httpx.HTTPError, ValueError):
            raise _unavailable("the identity provider's token endpoint could not be reached", "token_failed") from None
        error = body.get("error") if isinstance(body, dict) else None
        if error == "invalid_grant":
            raise LoginRefused(401, "the provider refused the sign-in code (used before, expired or not ours)",
                               code="code_rejected", reason="invalid_grant")
        if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            # e.g. invalid_client: the client id or secret configured here is not what the provider has
            detail = "".join(ch for ch in str(error or response.status_code)[:40] if ch.isalnum() or ch == "_")
            raise _unavailable("the identity provider's token endpoint refused us", f"token_failed_{detail}")
        access = body.get("access_token")
        return Tokens(body["id_token"], access if isinstance(access, str) else None)

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        config = self.config
        keys = await self.keys()
        for attempt in (1, 2):
            try:
                claims = validate_id_token(id_token, keys, issuer=config.issuer, client_id=config.client_id,
                                           nonce=nonce, now=self.clock(), max_age=config.max_age)
                break
            except LoginRefused as refused:
                if attempt == 2 or refused.reason != "id_token_signature" or not _has_unknown_kid(id_token, keys):
                    raise
                keys = await self.keys(refresh=True)  # the provider may have rotated its keys
        check_assurance(claims, config.required_acr, config.levels)
        return claims

    async def userinfo(self, access_token: str | None, subject: str) -> dict[str, Any]:
        """Claims the provider gives only at its userinfo endpoint (OpenID Connect Core 5.3). Their subject
        must be the ID token's, or they are someone else's."""
        endpoint = (await self.metadata()).userinfo_endpoint
        if not endpoint or not access_token:
            return {}
        claims = await self._get_json(endpoint, "userinfo_failed", {"authorization": f"Bearer {access_token}"})
        if claims.get("sub") != subject:
            raise _bad_token("the provider's user information is about someone else", "userinfo_subject")
        return claims


def _has_unknown_kid(token: str, keys: KeySet) -> bool:
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".", 1)[0] + "=="))
    except ValueError:
        return False
    kid = header.get("kid") if isinstance(header, dict) else None
    return isinstance(kid, str) and all(key.kid != kid for key in keys)
