"""JOSE for the exchange (RFC 7515/7516/7518/7638/8037) through joserfc, with our allow-lists: agencies
sign with EdDSA, ES256 or PS256 and encrypt with ECDH-ES+A256KW (X25519 or P-256) and A256GCM."""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

from joserfc import jwe, jwk, jws
from joserfc.errors import JoseError

from chat import json_input
from crypto.encoding import b64u, unb64u
from crypto.errors import MalformedError

SIGNING_ALGS = ("EdDSA", "ES256", "PS256")
KEY_WRAP_ALG = "ECDH-ES+A256KW"
CONTENT_ENC = "A256GCM"
ENC_CURVES = ("X25519", "P-256")
# RFC 9864 prefers "Ed25519" to "EdDSA"; agencies' libraries still send EdDSA, and the issue asks for it.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")

Key = Any  # a joserfc key object

MAX_HEADER_BYTES = 8 * 1024  # a protected header is a few fields


class JoseInvalid(Exception):
    """A token that is malformed or whose signature does not verify."""


def sha256_b64u(data: str | bytes) -> str:
    return b64u(hashlib.sha256(data.encode("ascii") if isinstance(data, str) else data).digest())


def import_public(jwk_dict: dict[str, Any]) -> Key:
    if any(k in jwk_dict for k in ("d", "p", "q")):
        raise MalformedError("a public key must not carry its private part")
    return jwk.import_key(jwk_dict)


def import_key(jwk_dict: dict[str, Any]) -> Key:
    return jwk.import_key(jwk_dict)


def public_jwk(key: Key, **extra: str) -> dict[str, Any]:
    data = dict(key.as_dict(private=False))
    data.update(extra)
    data.setdefault("kid", key.thumbprint())
    return data


def generate(kind: str) -> Key:
    """kind: a signing algorithm (EdDSA, ES256, PS256) or an encryption curve (X25519, P-256)."""
    if kind in ("EdDSA", "X25519"):
        return jwk.OKPKey.generate_key("Ed25519" if kind == "EdDSA" else "X25519")
    if kind in ("ES256", "P-256"):
        return jwk.ECKey.generate_key("P-256")
    if kind == "PS256":
        return jwk.RSAKey.generate_key(2048)
    raise ValueError(f"unsupported key kind {kind}")


def alg_for(key: Key) -> str:
    params = key.as_dict(private=False)
    return {"OKP": "EdDSA", "EC": "ES256", "RSA": "PS256"}[params["kty"]]


def sign(payload: dict[str, Any], key: Key, kid: str, typ: str, alg: str | None = None) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    alg = alg or alg_for(key)
    return jws.serialize_compact({"alg": alg, "kid": kid, "typ": typ}, body, key, algorithms=[alg])


def header_of(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS or JWE, unverified."""
    try:
        header = json_input.parse(unb64u(token.split(".", 1)[0]), max_bytes=MAX_HEADER_BYTES)
    except (json_input.JsonRefused, MalformedError):
        raise JoseInvalid("the protected header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise JoseInvalid("the protected header is not a JSON object")
    if any(not isinstance(header[name], str) for name in ("alg", "kid", "typ", "cty", "enc", "zip") if name in header):
        raise JoseInvalid("the protected header's alg, kid, typ, cty, enc and zip are strings")
    return header


def unverified_payload(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseInvalid("not a compact JWS")
    try:
        payload = json_input.parse(unb64u(parts[1]), max_bytes=len(parts[1]))
    except (json_input.JsonRefused, MalformedError):
        raise JoseInvalid("the payload is not base64url JSON") from None
    if not isinstance(payload, dict):
        raise JoseInvalid("the payload is not a JSON object")
    return payload


def verify(token: str, key: Key, typ: str | None = None) -> dict[str, Any]:
    """Verify a compact JWS with one of the allowed algorithms; returns its JSON payload."""
    header = header_of(token)
    alg = header.get("alg")
    if alg not in SIGNING_ALGS or alg != alg_for(key):
        raise JoseInvalid(f"alg must be one of {', '.join(SIGNING_ALGS)} and match the key")
    if header.get("crit"):
        raise JoseInvalid("no critical header parameters are understood")
    if typ is not None and header.get("typ") != typ:
        raise JoseInvalid(f"typ must be {typ}")
    try:
        obj = jws.deserialize_compact(token, key, algorithms=[alg])
    except (JoseError, ValueError, TypeError):
        raise JoseInvalid("the signature does not verify") from None
    try:
        payload = json_input.parse(obj.payload, max_bytes=len(obj.payload))
    except json_input.JsonRefused:
        raise JoseInvalid("the payload is not JSON within the limits (chat/json_input.py)") from None
    if not isinstance(payload, dict):
        raise JoseInvalid("the payload is not a JSON object")
    return payload


def encrypt(plaintext: bytes, recipient: Key, kid: str) -> str:
    return jwe.encrypt_compact({"alg": KEY_WRAP_ALG, "enc": CONTENT_ENC, "kid": kid, "cty": "json"}, plaintext,
                               recipient, algorithms=[KEY_WRAP_ALG, CONTENT_ENC])


def decrypt(token: str, key: Key) -> bytes:
    try:
        plaintext = jwe.decrypt_compact(token, key, algorithms=[KEY_WRAP_ALG, CONTENT_ENC]).plaintext
        if plaintext is None:
            raise JoseInvalid("the content does not decrypt with this key")
        return bytes(plaintext)
    except (JoseError, ValueError, TypeError):
        raise JoseInvalid("the content does not decrypt with this key") from None


def check_jwe_for(token: str, recipient_jwk: dict[str, Any]) -> str | None:
    """Without decrypting: is this a compact JWE with our algorithms, addressed (kid and curve) to this key?
    Returns None when it is, otherwise why not."""
    if token.count(".") != 4:
        return "the content is not a compact JWE"
    try:
        header = header_of(token)
    except JoseInvalid as error:
        return str(error)
    if header.get("alg") != KEY_WRAP_ALG or header.get("enc") != CONTENT_ENC:
        return f"the content must use alg {KEY_WRAP_ALG} and enc {CONTENT_ENC}"
    epk = header.get("epk")
    if not isinstance(epk, dict) or epk.get("crv") != recipient_jwk.get("crv"):
        return "the content's ephemeral key is not on the recipient key's curve"
    if header.get("kid") != recipient_jwk.get("kid"):
        return "the content is not encrypted to the recipient's current key (kid)"
    return None


# -- key files: JSON with the address and its private JWKs, kept by the agency or the unit's staff client
def write_key_file(path: Path, address: str, sign_key: Key, enc_key: Key) -> dict[str, Any]:
    """Writes the private key file (0600) and returns the public part to register."""
    sign_pub = public_jwk(sign_key, use="sig", alg=alg_for(sign_key))
    enc_pub = public_jwk(enc_key, use="enc", alg=KEY_WRAP_ALG)
    private = {"address": address,
               "sign": {**sign_key.as_dict(private=True), "kid": sign_pub["kid"], "alg": sign_pub["alg"]},
               "enc": {**enc_key.as_dict(private=True), "kid": enc_pub["kid"]}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(0o600)
    path.write_text(json.dumps(private, indent=2))
    return {"address": address, "keys": [sign_pub, enc_pub]}


class KeyFile:
    def __init__(self, path: Path) -> None:
        data = json.loads(Path(path).read_text())
        self.address: str = data["address"]
        self.sign_kid: str = data["sign"]["kid"]
        self.sign_alg: str = data["sign"]["alg"]
        self.enc_kid: str = data["enc"]["kid"]
        self.sign_key = import_key({k: v for k, v in data["sign"].items() if k not in ("kid", "alg")})
        self.enc_key = import_key({k: v for k, v in data["enc"].items() if k != "kid"})

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        return sign(payload, self.sign_key, self.sign_kid, typ, self.sign_alg)
