"""Sign-in with OpenID Connect against a real provider: Node's oidc-provider (tests/oidc/provider.mjs) on
loopback, with a citizen client and a staff client, driven like a browser (redirects followed by hand, cookies
kept per browser). Token-level attacks are tested on the validator directly, with tokens minted here."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import websockets
from joserfc import jwt
from joserfc.errors import InvalidClaimError, MissingClaimError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from chat.storage.sqlite.store import SqliteStore
from crypto.encoding import b64u
from web.client.session import ClientSession
from web.config import Settings
from web.login import identity_key
from web.oidc import (
    AssuranceLevels,
    IdTokenClaims,
    LoginRefused,
    OpenIdProvider,
    ProviderConfig,
    validate_id_token,
)
from web.ratelimit import RateLimiter
from web.sessions import COOKIE

from .conftest import ROOT, RunningServer, free_port, start_server, stop_server

NPM_PREFIX = ROOT / ".cache" / "npm" / "oidc"  # git-ignored; dev.py installs it there too
LOA = "http://id.elegnamnden.se/loa/1.0/loa{}"
PNR = "https://id.oidc.se/claim/personalIdentityNumber"
TOLVAN = "191212121212"  # Skatteverket's well-known test person, Tolvan Tolvansson
UNIT = "ekonomiskt-bistand"  # the demo unit
SECRETS = {"citizen": "citizen-secret-for-tests-only", "staff": "staff-secret-for-tests-only"}
ACCOUNTS = {
    "tolvan": {"acr": LOA.format(3), "claims": {"name": "Tolvan Tolvansson", PNR: TOLVAN}},
    # A citizen no other test signs in: her first device is proven by this provider's token alone (test_browser_login).
    "signe": {"acr": LOA.format(3), "claims": {"name": "Signe Ny", PNR: "198103039841"}},
    "low": {"acr": LOA.format(2), "claims": {"name": "Låg Nivå", PNR: "198001019802"}},
    "no-acr": {"claims": {"name": "Utan Nivå", PNR: "198002029801"}},
    "anna": {"claims": {"given_name": "Anna", "family_name": "Lind", "samtal_role": "caseworker",
                        "samtal_unit": UNIT}},
    "janitor": {"claims": {"name": "Vaktmästare", "samtal_role": "janitor", "samtal_unit": UNIT}},
    # One person (the same `sub`) whose role at the provider changes between two sign-ins.
    "ville": {"claims": {"name": "Ville Vikarie", "samtal_role": "caseworker", "samtal_unit": UNIT}},
    "ville-promoted": {"sub": "ville", "claims": {"name": "Ville Vikarie", "samtal_role": "supervisor",
                                                  "samtal_unit": UNIT}},
    # Bo, whose role the test takes away (tell_provider).
    "bo": {"claims": {"name": "Bo Ek", "samtal_role": "caseworker", "samtal_unit": UNIT}},
    # Tolvan's number with a newline after it, and a number whose check digit is wrong.
    "tolvan-newline": {"acr": LOA.format(3), "claims": {"name": "Tolvan Tolvansson", PNR: TOLVAN + "\n"}},
    "bad-check-digit": {"acr": LOA.format(3), "claims": {"name": "Fel Siffra", PNR: "191212121213"}},
}


# -- the provider and the server ---------------------------------------------------------------------------
def node_modules() -> Path:
    if not (NPM_PREFIX / "node_modules" / "oidc-provider").exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(NPM_PREFIX),
                        "oidc-provider@9"], check=False, stdout=subprocess.DEVNULL, timeout=300)
    if not shutil.which("node") or not (NPM_PREFIX / "node_modules" / "oidc-provider").exists():
        pytest.skip("Node and oidc-provider are needed (python3 dev.py test installs oidc-provider with npm)")
    return NPM_PREFIX / "node_modules"


def start_provider(tmp: Path, port: int, samtal_url: str) -> subprocess.Popen[str]:
    clients = [{"client_id": f"samtal-{kind}", "client_secret": SECRETS[kind], "token_endpoint_auth_method":
                "client_secret_basic", "redirect_uris": [f"{samtal_url}/login/{kind}/callback"],
                "id_token_signed_response_alg": alg} for kind, alg in (("citizen", "RS256"), ("staff", "ES256"))]
    config = tmp / "provider.json"
    config.write_text(json.dumps({"port": port, "issuer": f"http://127.0.0.1:{port}", "clients": clients,
                                  "accounts": ACCOUNTS, "node_modules": str(node_modules())}))
    process = subprocess.Popen(["node", str(ROOT / "tests" / "oidc" / "provider.mjs"), str(config)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"the OpenID provider did not start: {line!r}")
    return process


@pytest.fixture(scope="module")
def issuer_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, issuer_port: int):  # type: ignore[no-untyped-def]
    """Samtal with both providers configured; the provider starts second, once Samtal's address is known."""
    tmp = tmp_path_factory.mktemp("oidc")
    issuer = f"http://127.0.0.1:{issuer_port}"
    # The test client plays the proxy too: its X-Forwarded-For is believed from loopback only because it is
    # configured so (SAMTAL_TRUSTED_PROXIES; by default no proxy is trusted).
    env = {"SAMTAL_LOGIN_RATE": "60", "SAMTAL_OIDC_STAFF_SCOPE": "openid profile samtal",
           "SAMTAL_TRUSTED_PROXIES": "127.0.0.1"}
    for kind in ("citizen", "staff"):
        env |= {f"SAMTAL_OIDC_{kind.upper()}_ISSUER": issuer, f"SAMTAL_OIDC_{kind.upper()}_CLIENT_ID":
                f"samtal-{kind}", f"SAMTAL_OIDC_{kind.upper()}_CLIENT_SECRET": SECRETS[kind]}
    running = start_server(tmp, **env)
    provider = start_provider(tmp, issuer_port, running.url)
    running.provider = provider  # type: ignore[attr-defined]  (tell_provider writes to it)
    yield running
    provider.stdin.close()  # type: ignore[union-attr]
    provider.wait(10)
    stop_server(running)


def to_callback(server: RunningServer, account: str, kind: str = "citizen",
                browser: httpx.Client | None = None, nonce: str | None = None) -> tuple[httpx.Client, str]:
    """Start a sign-in and go through the provider as `account`; the callback URL, not yet visited. `nonce`:
    the one a new device's keys make (docs/protocol.md §21), as the citizen's browser sends it."""
    browser = browser or httpx.Client(timeout=20)
    response = browser.get(f"{server.url}/login/{kind}" + (f"?nonce={nonce}" if nonce else ""))
    assert response.status_code == 302, response.text
    url = response.headers["location"] + f"&login_hint={account}"  # the test provider's way to pick a person
    while not url.startswith(server.url):
        response = browser.get(url)
        assert response.status_code in (302, 303), response.text
        url = urljoin(url, response.headers["location"])
    return browser, url


def sign_in(server: RunningServer, account: str, kind: str = "citizen") -> tuple[httpx.Client, httpx.Response]:
    browser, callback = to_callback(server, account, kind)
    return browser, browser.get(callback)


def audit(server: RunningServer, reason: str) -> list[tuple]:
    with server.db() as db:
        return db.execute("SELECT action, outcome, actor, reason, detail FROM audit_log WHERE reason = ?",
                          (reason,)).fetchall()


def assert_refused(server: RunningServer, response: httpx.Response, status: int, code: str, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert "samtal_session" not in response.cookies
    assert any(row[:2] == ("login", "denied") for row in audit(server, reason)), reason


# -- end to end -------------------------------------------------------------------------------------------
def test_a_citizen_signs_in_at_level_3_and_is_known_by_a_keyed_hash_of_the_number(server):
    browser, response = sign_in(server, "tolvan")
    assert response.status_code == 303 and response.headers["location"] == "/"
    me = browser.get(f"{server.url}/api/me").json()["user"]
    assert (me["role"], me["display_name"], me["unit_id"]) == ("citizen", "Tolvan Tolvansson", None)
    again = sign_in(server, "tolvan")[0].get(f"{server.url}/api/me").json()["user"]
    assert again["id"] == me["id"]  # the same person, the same account
    assert TOLVAN.encode() not in server.stored_bytes()
    assert TOLVAN not in server.log_text()
    rows = [r for r in audit(server, "") if r[:3] == ("login", "allowed", me["id"])]
    assert len(rows) == 2 and TOLVAN not in str(rows)
    assert json.loads(rows[0][4]) == {"kind": "citizen", "acr": LOA.format(3), "new_account": True}


def test_a_caseworker_signs_in_with_role_and_unit_from_claims_and_sees_the_units_cases(server):
    browser, response = sign_in(server, "anna", "staff")
    assert response.status_code == 303
    me = browser.get(f"{server.url}/api/me").json()["user"]
    assert (me["role"], me["unit_id"], me["display_name"]) == ("caseworker", UNIT, "Anna Lind")
    cases = browser.get(f"{server.url}/api/cases").json()["cases"]
    assert {c["id"] for c in cases} >= {"eb-2026-0001", "eb-2026-0002"}


def test_the_sign_in_page_offers_the_configured_providers(server):
    page = httpx.get(f"{server.url}/", headers={"accept-language": "sv"}).text
    assert 'href="/login/citizen"' in page and 'href="/login/staff"' in page
    assert "Logga in med BankID eller Freja eID" in page
    assert "är inte inställd" not in page  # the "not set up yet" notice is gone


@pytest.mark.parametrize(("account", "reason"), [("tolvan-newline", "pnr_missing"), ("bad-check-digit", "pnr_invalid")])
def test_a_personal_number_with_a_trailing_newline_or_a_wrong_check_digit_is_refused(server, account, reason):
    assert_refused(server, sign_in(server, account)[1], 403, "identity_missing", reason)


def tell_provider(server: RunningServer, account: str, claims: dict) -> None:
    """Change what the provider says of a person from now on (tests/oidc/provider.mjs reads it on stdin)."""
    provider = server.provider  # type: ignore[attr-defined]
    provider.stdin.write(json.dumps({"account": account, "claims": claims}) + "\n")
    provider.stdin.flush()
    for _ in range(50):  # the provider also prints its own notices on stdout
        if provider.stdout.readline().strip() == "ok":
            return
    raise AssertionError("the provider did not take the change")


def test_a_staff_member_whose_role_is_removed_loses_it_in_the_sessions_they_have(server):
    browser, response = sign_in(server, "bo", "staff")
    assert response.status_code == 303
    assert browser.get(f"{server.url}/api/cases").status_code == 200
    tell_provider(server, "bo", {"name": "Bo Ek"})  # the municipality takes his role away
    assert_refused(server, sign_in(server, "bo", "staff")[1], 403, "identity_missing", "role_or_unit_missing")
    response = browser.get(f"{server.url}/api/cases")  # the session from before the role was removed
    assert response.status_code == 401 and response.json()["code"] == "not_signed_in"


def test_concurrent_sign_ins_with_an_unknown_key_id_fetch_the_keys_once(server, issuer_port):
    """Eight callbacks at once, each with a token under a key id the provider does not have: one refetch."""
    fetched: list[str] = []

    class Counting(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            fetched.append(request.url.path)
            return await super().handle_async_request(request)

    now = [time.time()]
    provider = OpenIdProvider(config(issuer=f"http://127.0.0.1:{issuer_port}"), transport=Counting(),
                              clock=lambda: now[0])
    forged = jwt.encode({"alg": "RS256", "kid": "rsa-9"}, claims(iss=f"http://127.0.0.1:{issuer_port}"),
                        RSAKey.generate_key(2048, parameters={"kid": "rsa-9"}))

    async def burst() -> list[BaseException | dict]:
        await provider.keys()  # the keys as they were before the burst, fetched long enough ago to refetch
        now[0] += 120
        return await asyncio.gather(*(provider.verify_id_token(forged, NONCE) for _ in range(8)),
                                    return_exceptions=True)

    outcomes = run(burst())
    assert all(isinstance(o, LoginRefused) and o.reason == "id_token_signature" for o in outcomes)
    jwks = [path for path in fetched if "openid-configuration" not in path]
    assert len(jwks) == 2, fetched  # the first fetch and a single refetch for all eight


def test_a_staff_role_the_service_does_not_know_is_refused(server):
    assert_refused(server, sign_in(server, "janitor", "staff")[1], 403, "unknown_role", "unknown_role")


@pytest.mark.parametrize(("account", "reason"), [("low", "acr_too_low"), ("no-acr", "acr_missing")])
def test_a_sign_in_below_level_3_or_without_a_level_is_refused(server, account, reason):
    assert_refused(server, sign_in(server, account)[1], 403, "assurance_too_low", reason)


def test_the_request_asks_for_level_3_with_pkce_and_a_nonce(server):
    response = httpx.get(f"{server.url}/login/citizen")
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["acr_values"] == [f"{LOA.format(3)} {LOA.format(4)}"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["nonce"] and query["state"] and query["nonce"] != query["state"]
    assert "samtal_login" in response.cookies  # the attempt is bound to this browser


def test_a_browser_gets_the_refusal_as_a_page_and_a_program_as_problem_json(server):
    browser, callback = to_callback(server, "low")
    page = browser.get(callback, headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "assurance_too_low" in page.text and "samtal_session" not in page.cookies
    assert "content-security-policy" in page.headers
    assert_refused(server, sign_in(server, "low")[1], 403, "assurance_too_low", "acr_too_low")


def test_a_replayed_callback_is_refused(server):
    browser, callback = to_callback(server, "tolvan")
    assert browser.get(callback).status_code == 303
    assert_refused(server, browser.get(callback), 400, "login_replayed", "replayed_state")


def test_a_replayed_authorization_code_is_refused_by_the_provider(server):
    browser, callback = to_callback(server, "tolvan")
    assert browser.get(callback).status_code == 303
    code = parse_qs(urlsplit(callback).query)["code"][0]
    other, fresh = to_callback(server, "tolvan")  # a new attempt of its own: state, nonce and verifier
    state = parse_qs(urlsplit(fresh).query)["state"][0]
    response = other.get(f"{server.url}/login/citizen/callback", params={"code": code, "state": state})
    assert_refused(server, response, 401, "code_rejected", "invalid_grant")


def test_a_code_issued_to_the_staff_client_is_refused_at_the_citizen_callback(server):
    _, staff_callback = to_callback(server, "anna", "staff")
    browser, citizen_callback = to_callback(server, "tolvan")
    params = {"code": parse_qs(urlsplit(staff_callback).query)["code"][0],
              "state": parse_qs(urlsplit(citizen_callback).query)["state"][0]}
    response = browser.get(f"{server.url}/login/citizen/callback", params=params)
    assert_refused(server, response, 401, "code_rejected", "invalid_grant")


def test_a_callback_in_another_browser_or_with_a_made_up_state_is_refused(server):
    _, callback = to_callback(server, "tolvan")
    assert_refused(server, httpx.get(callback), 400, "unknown_login", "other_browser")
    assert_refused(server, httpx.get(f"{server.url}/login/citizen/callback?state=made-up&code=x"), 400,
                   "unknown_login", "unknown_state")


def test_a_session_is_refused_after_logout_and_after_logout_everywhere(server):
    first, _ = sign_in(server, "tolvan")
    second, _ = sign_in(server, "tolvan")
    third, _ = sign_in(server, "tolvan")
    assert first.post(f"{server.url}/api/logout").status_code == 200
    assert first.get(f"{server.url}/api/me").status_code == 401
    assert second.get(f"{server.url}/api/me").status_code == 200
    assert second.post(f"{server.url}/api/logout-everywhere").status_code == 200
    for browser in (second, third):
        response = browser.get(f"{server.url}/api/me")
        assert response.status_code == 401 and response.json()["code"] == "not_signed_in"


def test_logout_everywhere_from_another_site_is_refused(server):
    browser, _ = sign_in(server, "tolvan")
    response = browser.post(f"{server.url}/api/logout-everywhere", headers={"origin": "https://evil.example"})
    assert response.status_code == 403 and response.json()["code"] == "bad_origin"
    assert browser.get(f"{server.url}/api/me").status_code == 200


def test_sign_in_attempts_are_limited_per_address(server):
    elsewhere = {"x-forwarded-for": "198.51.100.7"}  # the proxy's word for the client (a configured proxy)
    started, allowed = time.monotonic(), 0
    while (limited := httpx.get(f"{server.url}/login/citizen", headers=elsewhere)).status_code == 302:
        allowed += 1
        assert allowed <= 200
    refilled = (time.monotonic() - started) * 60 / 60  # SAMTAL_LOGIN_RATE=60: one more each second
    assert 60 <= allowed <= 60 + refilled + 1
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert httpx.get(f"{server.url}/login/citizen").status_code == 302  # other addresses go on
    assert "198.51.100.7" not in server.log_text()
    assert audit(server, "rate_limited")


def test_the_configured_issuer_must_be_the_one_the_provider_names(server, issuer_port):
    provider = OpenIdProvider(config(issuer=f"http://localhost:{issuer_port}"))  # the same provider, another name
    with pytest.raises(LoginRefused) as refused:
        run(provider.metadata())
    assert (refused.value.code, refused.value.reason) == ("provider_unavailable", "wrong_issuer")


def test_a_token_signed_with_another_key_under_the_providers_key_id_is_refused(server, issuer_port):
    provider = OpenIdProvider(config(issuer=f"http://127.0.0.1:{issuer_port}"))
    real_keys = run(provider.keys())
    assert {key.kid for key in real_keys} == {"rsa-1", "ec-1"}
    forged = jwt.encode({"alg": "RS256", "kid": "rsa-1"}, claims(), RSAKey.generate_key(2048))
    assert reason_of(lambda: validate(forged, real_keys)) == "id_token_signature"


# -- the ID token validator -----------------------------------------------------------------------------------
ISSUER, CLIENT, NONCE = "https://idp.example", "samtal-citizen", "n-0S6_WzA2Mj"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])


def config(**changes: object) -> ProviderConfig:
    values = {"kind": "citizen", "issuer": ISSUER, "client_id": CLIENT, "client_secret": "s", "scope": "openid",
              "required_acr": LOA.format(3), "levels": AssuranceLevels(tuple(LOA.format(n) for n in range(1, 5))),
              "max_age": 0} | changes
    return ProviderConfig(**values)  # type: ignore[arg-type]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


class FromNow(int):
    """A time given as seconds from when the token is made. Parameters are collected minutes before the
    tests run, so an absolute time written there would have drifted (a token meant to be issued too long
    ago would simply have expired)."""


def claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    values = {"iss": ISSUER, "aud": CLIENT, "sub": "abc", "nonce": NONCE, "iat": now, "exp": now + 300,
              "acr": LOA.format(3), "auth_time": now - 5} | changes
    return {k: now + v if isinstance(v, FromNow) else v for k, v in values.items() if v is not None}


def token(key=KEY, alg: str = "RS256", **changes: object) -> str:  # type: ignore[no-untyped-def]
    return jwt.encode({"alg": alg, "kid": key.kid or "k1"}, claims(**changes), key, algorithms=[alg])


def validate(value: str, keys: KeySet = KEYS, max_age: int = 0) -> dict[str, object]:
    return validate_id_token(value, keys, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=time.time(),
                             max_age=max_age)


def reason_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(LoginRefused) as refused:
        call()
    return refused.value.reason


def test_a_valid_id_token_gives_its_claims():
    assert validate(token())["sub"] == "abc"


@pytest.mark.parametrize(("changes", "reason"), [
    ({"iss": "https://evil.example"}, "id_token_issuer"),
    ({"aud": "another-client"}, "id_token_audience"),
    ({"aud": [CLIENT, "another-client"]}, "id_token_azp"),  # several audiences need azp naming us
    ({"azp": "another-client"}, "id_token_azp"),
    ({"exp": FromNow(-60), "iat": FromNow(-120)}, "id_token_expired"),
    ({"nbf": FromNow(300)}, "id_token_not_yet_valid"),
    ({"iat": FromNow(300)}, "id_token_iat"),
    ({"iat": FromNow(-3600), "exp": FromNow(60)}, "id_token_iat"),
    ({"nonce": "another-sign-in"}, "id_token_nonce"),
    ({"nonce": None}, "id_token_nonce"),
    ({"exp": None}, "id_token_malformed"),
    ({"exp": float("inf")}, "id_token_malformed"),  # these were a 500 (int() of them raised)
    ({"exp": float("nan")}, "id_token_malformed"),
    ({"iat": float("-inf")}, "id_token_malformed"),
    ({"sub": ""}, "id_token_malformed"),
    ({"sub": 5}, "id_token_malformed"),
    ({"iss": [ISSUER]}, "id_token_issuer"),  # a list that holds the issuer is not the issuer
    ({"aud": [CLIENT, 5]}, "id_token_audience"),
    ({"iat": True}, "id_token_malformed"),  # true is no time, though Python counts it an int
    ({"iss": None}, "id_token_issuer"),
])
def test_an_id_token_with_wrong_claims_is_refused(changes, reason):
    assert reason_of(lambda: validate(token(**changes))) == reason


def test_the_claims_are_checked_by_a_joserfc_claims_registry():
    """The OpenID Connect rules are a joserfc JWTClaimsRegistry, which other code can use on claims as well."""
    registry = IdTokenClaims(issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=time.time())
    assert isinstance(registry, jwt.JWTClaimsRegistry)
    assert {"iss", "aud", "sub", "nonce", "exp", "iat"} <= registry.essential_keys
    registry.validate(claims())
    with pytest.raises(MissingClaimError):
        registry.validate(claims(sub=None))
    with pytest.raises(InvalidClaimError):
        registry.validate(claims(aud="another-client"))


def test_a_forged_id_token_is_refused():
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert reason_of(lambda: validate(token(other))) == "id_token_signature"
    unknown_kid = RSAKey.generate_key(2048, parameters={"kid": "k9"})
    assert reason_of(lambda: validate(token(unknown_kid))) == "id_token_signature"
    header, body, _ = token().split(".")
    assert reason_of(lambda: validate(f"{header}.{token(sub='someone-else').split('.')[1]}.{_}")) \
        == "id_token_signature"
    assert reason_of(lambda: validate("not.a.token")) == "id_token_malformed"


def hand_made(header: dict[str, str], secret: bytes | None = None) -> str:
    signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims()).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64u(mac)}"


def test_an_unsigned_or_shared_secret_id_token_is_refused():
    assert reason_of(lambda: validate(hand_made({"alg": "none"}))) == "id_token_algorithm"
    # Key confusion: an HMAC "signed" with the provider's public key, which anyone has.
    confused = hand_made({"alg": "HS256", "kid": "k1"}, KEY.as_pem(private=False))
    assert reason_of(lambda: validate(confused)) == "id_token_algorithm"


@pytest.mark.parametrize("key, alg", [(ECKey.generate_key("P-256", parameters={"kid": "k1"}), "ES256"),
                                      (OKPKey.generate_key("Ed25519", parameters={"kid": "k1"}), "EdDSA")])
def test_ec_and_eddsa_signatures_are_accepted(key, alg):
    keys = KeySet([type(key).import_key(key.as_dict(private=False))])
    with pytest.warns() if alg == "EdDSA" else contextlib.nullcontext():  # joserfc prefers RFC 9864's Ed25519
        assert validate(token(key, alg), keys)["sub"] == "abc"


def test_with_max_age_the_sign_in_must_be_recent_and_say_when():
    assert validate(token(), max_age=60)["sub"] == "abc"
    assert reason_of(lambda: validate(token(auth_time=int(time.time()) - 600), max_age=60)) == "id_token_auth_time"
    assert reason_of(lambda: validate(token(auth_time=None), max_age=60)) in {"id_token_auth_time",
                                                                              "id_token_malformed"}


def test_assurance_levels_compare_by_the_configured_order_or_as_numbers():
    levels = AssuranceLevels(tuple(LOA.format(n) for n in range(1, 5)))
    assert levels.meets(LOA.format(3), LOA.format(3)) and levels.meets(LOA.format(4), LOA.format(3))
    assert not levels.meets(LOA.format(2), LOA.format(3))
    assert not levels.meets("http://id.elegnamnden.se/loa/1.0/uncertified-loa3", LOA.format(3))
    assert not levels.meets(None, LOA.format(3)) and not levels.meets(3, LOA.format(3))
    assert levels.meets("3", "3") and levels.meets("4", "3") and not levels.meets("2", "3")
    assert not levels.meets(LOA.format(4), "3")
    assert levels.requested(LOA.format(3)) == [LOA.format(3), LOA.format(4)]


# -- rate limit and identity key -------------------------------------------------------------------------------
def test_the_rate_limit_refills_over_the_minute():
    limiter = RateLimiter(2)
    assert [limiter.retry_after("a", now=0.0) for _ in range(3)] == [0, 0, 30]
    assert limiter.retry_after("b", now=0.0) == 0
    assert limiter.retry_after("a", now=31.0) == 0


def test_the_identity_key_is_made_once_readable_by_the_server_only(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    key = identity_key(settings)
    path = tmp_path / "data" / "identity-hmac.key"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert identity_key(settings) == key and len(key) == 64
    assert identity_key(Settings(data_dir=tmp_path, pnr_hmac_key="k" * 32)) == b"k" * 32


async def test_a_database_that_has_later_migrations_gets_the_identity_tables_too(tmp_path):
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # as if 0004 had landed after the later numbers
        db.executescript("DROP TABLE identities; DROP TABLE login_attempts;"
                         " DELETE FROM schema_migrations WHERE version = 4;")
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    try:
        assert await store.take_login_attempt(b"x" * 32, 0) is None and await store.user_by_identity(b"x") is None
    finally:
        await store.close()


async def test_a_new_role_at_sign_in_ends_the_old_sessions_and_their_websockets(server, tmp_path):
    browser, answer = sign_in(server, "ville", "staff")
    assert answer.status_code == 303
    old_cookie = browser.cookies.get(COOKIE)
    client = ClientSession(server.url, tmp_path / "ville", "ville")
    client.transport.http.cookies.set(COOKIE, old_cookie)
    client.user = (await client.transport.call("GET", "/api/me"))["user"]
    await client.ensure_device()
    ws = await websockets.connect(server.url.replace("http://", "ws://") + f"/ws?device={client.device_id}",
                                  additional_headers={"Cookie": f"{COOKIE}={old_cookie}"})
    try:
        _, promoted = sign_in(server, "ville-promoted", "staff")  # the provider now says supervisor
        assert promoted.status_code == 303
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(1.0):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert httpx.get(f"{server.url}/api/me", cookies={COOKIE: old_cookie}).status_code == 401
    finally:
        await ws.close()
        await client.close()
