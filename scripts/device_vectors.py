"""Golden vectors of citizen device proofs (docs/protocol.md §21): sign-in nonces, link certificates, ID tokens
and the verdict over an account's devices, from fixed inputs only (`SHA-256("samtal golden " || label)`), so that
regeneration is byte-identical. EdDSA tokens are signed here; the RS256 and ES256 tokens were signed once with
throwaway keys (only their public halves are kept), over nonces of the fixed devices below.
Used by scripts/make_vectors.py (`devices`), tests/test_device_vectors.py and tests/test_browser_device_vectors.py."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from crypto.devicelink import (
    CitizenDevice,
    Provider,
    evaluate,
    link_code,
    link_signed,
    link_uri,
    sign_link,
    signin_nonce,
)
from crypto.encoding import b64u
from crypto.keys import DeviceKeys, registration_proof
from crypto.sign import ed25519_public, sign

USER = "c-golden-dana"
ISSUER = "https://eid.example"
CLIENT_ID = "samtal"
SUB = "dana-at-eid"
ISSUED_AT = 1_796_000_000_000

# Public halves of keys that signed the two tokens below once (the private halves were thrown away).
RS256_JWK = {"kty": "RSA", "kid": "rsa-golden", "alg": "RS256", "use": "sig", "e": "AQAB",
             "n": (
                   "0BELSsnXUrG8quxyf5PieqV7FJpR94k8Cxse0KmzumV9HZkwGJYXc3pJGFXIeMcpHlbJ4RHdtyhCrJczVs1ECPBHuLrbZdUH"
                   "cOTHeUQi_3b0kwQh8oD8uHfftS8Yf7dLAfxqWxQQUIRU7CfLvU-FFqqVK3A26o0xt-6kWBQd045vm0oX43QaUOkzFjL1fl0r"
                   "67iDyzNYmGiIEof5tMoMODy7FQBFVy_AjHJUp7CiEQUXj30UNEHqu0Od-niR42cAWSuwtbwK5oeYbtt3XYPu7SAg7Hry5kHp"
                   "1tkxXBcmQIDMxD62S0DAmM0RvAF2HQQCdBZuTKSOWamqIOMV5SaH2w")}
RS256_TOKEN = ("eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS1nb2xkZW4iLCJ0eXAiOiJKV1QifQ.eyJhdWQiOiJzYW10YWwiLCJleHAiOjE3OTYwM"
               "DA2MDAsImlhdCI6MTc5NjAwMDAwMCwiaXNzIjoiaHR0cHM6Ly9laWQuZXhhbXBsZSIsIm5vbmNlIjoidllzOTRmbjBTMVZPUXc1b"
               "GhMb1psNE5kYl9QS19VU3RpWlRCNTVWWWRFbyIsInN1YiI6ImRhbmEtYXQtZWlkIn0.ctErVFGoTAc_szrXGKWICK4_8Y82dnaJQ"
               "Hptlp_2q5w70-rvsDz_NaT03P8wm2BNPV-zJyU16EvLLMYmOxakoMlcTPcpi3ifnoKmc-092VlXJNN-Q_FxZBM7v05IF2IoMW4PU"
               "0yZpsZA5pf_kgikEkp9L2JB4Iy2OzOe13Nm8WY7CyxYdaCjDiLby-qk8QPbp0UPWf-tN9jxbbel6n9bGJeFggqdReipyYB0AHa0u"
               "o5P8FmzWJhrj2rDgJCIWEUKHcogU88lLeBXkd_r-x-ZNNTbNoDqz0CHSTlfYfCla0TbUePnzny-aQQmPYOKHniIPL4tXn-lDU7Kh"
               "wWzMKqbjw")
ES256_JWK = {"kty": "EC", "kid": "ec-golden", "alg": "ES256", "use": "sig", "crv": "P-256",
             "x": "jnZM4bmSvbNoXs1XSv1RCvFRrcw0PZLArg-DhrpAHLE", "y": "9yoCNuBHjBTKHWoUO7bveOIJVg-SZ8RWlsTZJHv_i8c"}
ES256_TOKEN = ("eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjLWdvbGRlbiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJzYW10YWwiLCJleHAiOjE3OTYwMDA"
               "2MDAsImlhdCI6MTc5NjAwMDAwMCwiaXNzIjoiaHR0cHM6Ly9laWQuZXhhbXBsZSIsIm5vbmNlIjoiNldZTFY5bEJlNXEzVVM5X2d"
               "fODBSeHZjTDRHNkVJaDdLTzhQbWpjb0dOTSIsInN1YiI6ImRhbmEtYXQtZWlkIn0.R61y0AD5npDK02FepiNnj8Km-AemqljzO2I"
               "vqhI6y2UXuZ23p3d0Q0VNMqtWsgSLm3rxojSjudAfQ9xlRtuj1w")


def secret(label: str) -> bytes:
    return hashlib.sha256(b"samtal golden " + label.encode()).digest()


def device(name: str) -> DeviceKeys:
    return DeviceKeys.from_private(secret(f"device {name} sign"), secret(f"device {name} kem"))


def eddsa_token(key_label: str, claims: dict[str, Any]) -> str:
    header = {"alg": "EdDSA", "kid": key_label, "typ": "JWT"}
    signing_input = ".".join(b64u(json.dumps(p, separators=(",", ":"), sort_keys=True).encode()) for p in (header, claims))
    return f"{signing_input}.{b64u(sign(secret(key_label), signing_input.encode('ascii')))}"


def claims_for(keys: DeviceKeys, salt: bytes, sub: str = SUB) -> dict[str, Any]:
    return {"iss": ISSUER, "aud": CLIENT_ID, "sub": sub, "nonce": signin_nonce(keys.public, salt),
            "iat": ISSUED_AT // 1000, "exp": ISSUED_AT // 1000 + 600}


def view(keys: DeviceKeys, binding: dict[str, Any] | None, owner: str = USER,
         revoked_at: int | None = None) -> dict[str, Any]:
    return {"id": keys.public.device_id, **keys.public.to_json(), "proof": b64u(registration_proof(keys, owner)),
            "binding": binding, "revoked_at": revoked_at}


def build_devices() -> dict[str, Any]:
    provider_jwks = {"keys": [
        {"kty": "OKP", "crv": "Ed25519", "kid": "provider", "alg": "EdDSA", "use": "sig",
         "x": b64u(ed25519_public(secret("provider")))}, RS256_JWK, ES256_JWK]}
    names = ["phone", "tablet", "watch", "laptop", "inserted", "forged", "other", "relinked", "wrong_owner"]
    keys = {n: device(n) for n in names}
    salts = {n: secret(f"salt {n}") for n in names}

    def signin(name: str, token: str) -> dict[str, Any]:
        return {"kind": "signin", "id_token": token, "salt": b64u(salts[name])}

    bindings = {
        "phone": signin("phone", eddsa_token("provider", claims_for(keys["phone"], salts["phone"]))),
        "tablet": signin("tablet", RS256_TOKEN),
        "watch": signin("watch", ES256_TOKEN),
        "laptop": sign_link(keys["phone"], USER, keys["laptop"].public, ISSUED_AT + 1000),
        "inserted": None,
        "forged": None,  # below
        "other": signin("other", eddsa_token("provider", claims_for(keys["other"], salts["other"], "eve-at-eid"))),
        "relinked": sign_link(keys["inserted"], USER, keys["relinked"].public, ISSUED_AT + 2000),
        "wrong_owner": signin("wrong_owner", eddsa_token("provider", claims_for(keys["wrong_owner"],
                                                                                salts["wrong_owner"]))),
    }
    # Attests the right key and names the provider's kid, but is signed by a key that is not the provider's.
    header = {"alg": "EdDSA", "kid": "provider", "typ": "JWT"}
    forged_claims = claims_for(keys["forged"], salts["forged"])
    signing_input = ".".join(b64u(json.dumps(p, separators=(",", ":"), sort_keys=True).encode())
                             for p in (header, forged_claims))
    bindings["forged"] = signin("forged", f"{signing_input}.{b64u(sign(secret('not the provider'), signing_input.encode()))}")
    views = [view(keys[n], bindings[n], owner="c-golden-eve" if n == "wrong_owner" else USER) for n in names]
    providers = [Provider(ISSUER, CLIENT_ID, provider_jwks)]

    def verdict(devices: list[dict[str, Any]], pinned: list[str] | None = None) -> dict[str, Any]:
        result = evaluate(USER, [CitizenDevice.from_json(d) for d in devices], providers,
                          tuple(pinned) if pinned else None)  # type: ignore[arg-type]
        return {"proven": dict(sorted(result.proven.items())), "unproven": dict(sorted(result.unproven.items())),
                "person": list(result.person) if result.person else None}

    phone_revoked = [dict(v, revoked_at=ISSUED_AT + 500) if v["id"] == keys["phone"].public.device_id else v
                     for v in views]
    cases = [
        {"description": "every device: three proven by sign-in (EdDSA, RS256, ES256), one linked, the others not",
         "devices": list(range(len(views))), "pinned": None},
        {"description": "the account's person was pinned as someone else: only that person's device is proven",
         "devices": list(range(len(views))), "pinned": [ISSUER, "eve-at-eid"]},
        {"description": "the phone was revoked before it signed the laptop's link: the link does not count",
         "devices": list(range(len(views))), "pinned": None, "revoked_phone": True},
    ]
    for case in cases:
        chosen = phone_revoked if case.pop("revoked_phone", False) else views
        case["views"] = "revoked_phone" if chosen is phone_revoked else "views"
        case["verdict"] = verdict([chosen[i] for i in case["devices"]], case["pinned"])
    laptop = keys["laptop"].public
    return {
        "note": ("Samtal golden vectors for citizen device proofs (docs/protocol.md §21). Keys from "
                 "SHA-256('samtal golden ' || label). 'nonces': the sign-in nonce of a device and salt. "
                 "'link': the signed bytes and signature of a link certificate, the code a person compares and "
                 "the QR text. 'devices' are device views as the server lists them; 'revoked_phone' the same with "
                 "the phone revoked; each case's verdict is what every implementation must reach."),
        "user_id": USER,
        "providers": [{"issuer": ISSUER, "client_id": CLIENT_ID, "jwks": provider_jwks}],
        "nonces": [{"device": n, **keys[n].public.to_json(), "salt": b64u(salts[n]),
                    "nonce": signin_nonce(keys[n].public, salts[n])} for n in ("phone", "tablet", "watch")],
        "link": {"by": keys["phone"].public.device_id, "device": laptop.device_id, "issued_at": ISSUED_AT + 1000,
                 "signed_hex": link_signed(USER, laptop, ISSUED_AT + 1000).hex(),
                 "signature": bindings["laptop"]["signature"], "code": link_code(laptop),
                 "uri": link_uri(USER, laptop)},
        "names": {keys[n].public.device_id: n for n in names},
        "views": views,
        "revoked_phone": phone_revoked,
        "cases": cases,
    }
