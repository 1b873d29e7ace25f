"""Which e-identification providers a citizen's devices are proven by (docs/protocol.md §21), and the demo's
stand-in for e-identification.

`GET /api/signin/citizen` names the providers (issuer and this service's client id there); a client fetches
each provider's keys from the provider itself, never from this server, and pins the providers it was told of
first. In demo mode there is no real e-identification, so the server plays a provider of its own ("demo
e-identification", issuer `<public base>/demo/eid`): it signs an ID token for whoever is signed in, over the
nonce their device's keys make. Its key is the server's, so in the demo a hostile server can still prove a
device of its own: the demo shows the protocol, not the protection (§13)."""
from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, Response

from chat.policy import Action
from crypto.encoding import b64u
from crypto.sign import ed25519_public, sign
from web.apischema import STR, array, enum, obj
from web.config import Settings
from web.httpapi import PUBLIC, Ctx, RouteTable
from web.keyfiles import server_secret
from web.problems import problem

api = RouteTable()

DEMO_KEY_FILE = "demo-eid.key"
DEMO_CLIENT_ID = "samtal-demo"
DEMO_KID = "demo-eid-1"
DEMO_TOKEN_SECONDS = 600


def demo_issuer(settings: Settings) -> str:
    return f"{settings.public_base}/demo/eid"


def citizen_providers(settings: Settings) -> list[dict[str, str]]:
    """The providers whose ID tokens prove a citizen's device here: the citizens' OpenID provider when one is
    configured, and in demo mode the demo's own."""
    providers = []
    if settings.oidc_citizen_issuer:
        providers.append({"issuer": settings.oidc_citizen_issuer, "client_id": settings.oidc_citizen_client_id})
    if settings.demo:
        providers.append({"issuer": demo_issuer(settings), "client_id": DEMO_CLIENT_ID})
    return providers


def provider_origins(settings: Settings) -> tuple[str, ...]:
    """The origins of those providers, which the pages may fetch the providers' keys from."""
    origins = []
    for provider in citizen_providers(settings):
        parts = urlsplit(provider["issuer"])
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def _demo_seed(settings: Settings) -> bytes:
    return bytes.fromhex(server_secret(settings.data_dir, DEMO_KEY_FILE).decode("ascii"))[:32]


def demo_jwks(settings: Settings) -> dict[str, Any]:
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64u(ed25519_public(_demo_seed(settings))),
                      "kid": DEMO_KID, "alg": "EdDSA", "use": "sig"}]}


def demo_id_token(settings: Settings, subject: str, name: str, nonce: str) -> str:
    """An ID token of the demo's e-identification: EdDSA over the claims a real provider's token has."""
    now = int(time.time())
    header = {"alg": "EdDSA", "kid": DEMO_KID, "typ": "JWT"}
    claims = {"iss": demo_issuer(settings), "aud": DEMO_CLIENT_ID, "sub": subject, "name": name, "nonce": nonce,
              "iat": now, "exp": now + DEMO_TOKEN_SECONDS}
    signing_input = ".".join(b64u(json.dumps(part, separators=(",", ":")).encode("utf-8"))
                             for part in (header, claims))
    return f"{signing_input}.{b64u(sign(_demo_seed(settings), signing_input.encode('ascii')))}"


@api("/api/signin/citizen", "GET", action=PUBLIC,
     response=obj({"providers": array(obj({"issuer": STR, "client_id": STR}))}))
async def providers(ctx: Ctx) -> Response:
    return JSONResponse({"providers": citizen_providers(ctx.services.settings)})


@api("/demo/eid/.well-known/openid-configuration", "GET", action=PUBLIC, response=obj({
    "issuer": STR, "jwks_uri": STR, "id_token_signing_alg_values_supported": array(STR)}))
async def demo_discovery(ctx: Ctx) -> Response:
    settings = ctx.services.settings
    if not settings.demo:
        return problem(404, "not_found", "the demo e-identification exists only in demo mode")
    issuer = demo_issuer(settings)
    return JSONResponse({"issuer": issuer, "jwks_uri": f"{issuer}/jwks",
                         "id_token_signing_alg_values_supported": ["EdDSA"]},
                        headers={"access-control-allow-origin": "*"})


@api("/demo/eid/jwks", "GET", action=PUBLIC, response=obj({"keys": array(obj({
    "kty": enum("OKP"), "crv": enum("Ed25519"), "x": STR, "kid": STR, "alg": STR, "use": enum("sig")}))}))
async def demo_keys(ctx: Ctx) -> Response:
    if not ctx.services.settings.demo:
        return problem(404, "not_found", "the demo e-identification exists only in demo mode")
    return JSONResponse(demo_jwks(ctx.services.settings), headers={"access-control-allow-origin": "*"})


@api("/api/demo/identify", "POST", action=Action.SELF, response=obj({"id_token": STR}))
async def demo_identify(ctx: Ctx) -> Response:
    """Demo mode only: the demo's e-identification of the signed-in person, over the nonce their new device
    made from its keys (§21), as a real provider's ID token would be."""
    settings = ctx.services.settings
    if not settings.demo:
        return problem(404, "not_found", "the demo e-identification exists only in demo mode")
    body = await ctx.body()
    nonce = body.str("nonce", max_len=43)
    if len(nonce) != 43:
        return problem(400, "invalid_field", "the nonce is a device's sign-in nonce (43 characters)")
    return JSONResponse({"id_token": demo_id_token(settings, ctx.user.id, ctx.user.display_name, nonce)})
