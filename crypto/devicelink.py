"""Whose a citizen's device is, in a way the server cannot forge (docs/protocol.md §21).

A citizen's device is *proven* when either
- its key was carried through the person's e-identification: the device's keys and a random salt make the
  OpenID `nonce` of the sign-in, so the identity provider's signed ID token attests this device (kind
  "signin"), checked against the provider's published keys (JWKS); or
- one of the person's proven devices signed a link certificate for it, after the person compared the short
  code both devices show (kind "link"), as linked devices work in the best messengers.

A device without either (one the server added to the account) is *unproven*: the key work wraps no case key
to it, and clients show it as such. The browser's copy is web/static/js/crypto/devicelink.js; the vectors
are tests/vectors/golden_devices.json.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .encoding import b64u, lp16, u64, unb64u, utf8
from .errors import MalformedError
from .keys import DeviceKeys, DevicePublicKeys, verify_registration_proof
from .sign import verify_strict

_NONCE_LABEL = b"samtal/signin-nonce/v1"
_LINK_LABEL = b"samtal/device-link/v1"
SALT_BYTES = 32
# The ID token's signature algorithms a client accepts (asymmetric only, as at sign-in: web/oidc.py).
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
_KTY = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}

# Verdicts for a device that is not proven.
NO_PROOF = "no_proof"  # neither a sign-in nor a link: the server's word only
BAD_REGISTRATION = "bad_registration"  # its own registration proof names someone else
BAD_TOKEN = "bad_token"  # noqa: S105 (a verdict): the ID token is not the provider's, or attests another key
BAD_LINK = "bad_link"  # the link is not signed by a proven device of the same person
OTHER_PERSON = "other_person"  # proven, but by another person's e-identification than the account's


def signin_nonce(keys: DevicePublicKeys, salt: bytes) -> str:
    """The OpenID nonce that binds a sign-in to this device: b64u(SHA-256(label || sign_pub || kem_pub || salt))."""
    if len(salt) != SALT_BYTES:
        raise MalformedError("the salt is 32 bytes")
    return b64u(hashlib.sha256(_NONCE_LABEL + keys.sign_pub + keys.kem_pub + salt).digest())


def link_signed(user_id: str, keys: DevicePublicKeys, issued_at: int) -> bytes:
    return _LINK_LABEL + lp16(utf8(user_id)) + lp16(keys.device_id.encode("ascii")) + keys.sign_pub \
        + keys.kem_pub + u64(issued_at)


def sign_link(linker: DeviceKeys, user_id: str, new: DevicePublicKeys, issued_at: int) -> dict[str, Any]:
    """The binding a proven device gives a new device of the same person (JSON form, §21)."""
    signature = linker.sign(link_signed(user_id, new, issued_at))
    return {"kind": "link", "by": linker.public.device_id, "issued_at": issued_at, "signature": b64u(signature)}


def link_code(keys: DevicePublicKeys) -> str:
    """What a person compares on both devices before linking: the first three groups of the safety number."""
    return " ".join(keys.fingerprint().split(" ")[:3])


def link_uri(user_id: str, keys: DevicePublicKeys) -> str:
    """What the new device's QR code says."""
    return f"samtal-link:1:{user_id}:{b64u(keys.sign_pub)}:{b64u(keys.kem_pub)}"


# -- ID tokens -------------------------------------------------------------------------------------------
def _json_part(part: str) -> dict[str, Any]:
    value = json.loads(unb64u(part).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _verify_signature(alg: str, jwk: dict[str, Any], signed: bytes, signature: bytes) -> bool:
    try:
        if alg == "EdDSA":
            return jwk.get("crv") == "Ed25519" and verify_strict(unb64u(jwk["x"]), signed, signature)
        if alg == "ES256":
            if jwk.get("crv") != "P-256" or len(signature) != 64:
                return False
            public = ec.EllipticCurvePublicNumbers(int.from_bytes(unb64u(jwk["x"]), "big"),
                                                   int.from_bytes(unb64u(jwk["y"]), "big"),
                                                   ec.SECP256R1()).public_key()
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            return True
        rsa_key = rsa.RSAPublicNumbers(int.from_bytes(unb64u(jwk["e"]), "big"),
                                       int.from_bytes(unb64u(jwk["n"]), "big")).public_key()
        if rsa_key.key_size < 2048:
            return False
        pad = padding.PKCS1v15() if alg == "RS256" else padding.PSS(padding.MGF1(hashes.SHA256()), 32)
        rsa_key.verify(signature, signed, pad, hashes.SHA256())
        return True
    except (InvalidSignature, KeyError, ValueError, TypeError, MalformedError):
        return False


def verify_id_token(token: str, jwks: dict[str, Any]) -> dict[str, Any] | None:
    """The claims of an ID token whose signature verifies with one of the provider's keys (its `kid`, or any
    key of the algorithm's type when it names none); None otherwise. Claims are checked by the caller."""
    try:
        head, body, sig = token.split(".")
        header, claims = _json_part(head), _json_part(body)
        signature = unb64u(sig)
    except (ValueError, AttributeError, MalformedError, UnicodeDecodeError):
        return None
    alg = header.get("alg")
    if alg not in ALGORITHMS or header.get("crit") is not None:
        return None
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for jwk in keys if isinstance(keys, list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != _KTY[alg] or jwk.get("use", "sig") != "sig":
            continue
        if "kid" in header and jwk.get("kid") != header["kid"]:
            continue
        if jwk.get("alg", alg) != alg:
            continue
        if _verify_signature(alg, jwk, f"{head}.{body}".encode("ascii"), signature):
            return claims
    return None


@dataclass(frozen=True)
class Provider:
    """An e-identification provider the client trusts for citizens: its issuer, this service's client id
    there, and its published keys (fetched by the client from the provider, never from the Samtal server)."""

    issuer: str
    client_id: str
    jwks: dict[str, Any]


def check_signin(binding: dict[str, Any], keys: DevicePublicKeys, providers: list[Provider]) -> tuple[str, str] | None:
    """(issuer, sub) of the person whose sign-in attests this device, or None when it does not."""
    token, salt = binding.get("id_token"), binding.get("salt")
    if not isinstance(token, str) or not isinstance(salt, str):
        return None
    try:
        nonce = signin_nonce(keys, unb64u(salt))
    except MalformedError:
        return None
    for provider in providers:
        claims = verify_id_token(token, provider.jwks)
        if claims is None or claims.get("iss") != provider.issuer:
            continue
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        sub = claims.get("sub")
        if provider.client_id in audiences and isinstance(claims.get("nonce"), str) \
                and hmac.compare_digest(claims["nonce"], nonce) and isinstance(sub, str) and sub:
            return provider.issuer, sub
    return None


# -- the devices of one account --------------------------------------------------------------------------
@dataclass(frozen=True)
class CitizenDevice:
    """A device of the account as the server lists it: keys, registration proof, binding (§21)."""

    keys: DevicePublicKeys
    proof: bytes | None
    binding: dict[str, Any] | None
    revoked_at: int | None = None

    @property
    def id(self) -> str:
        return self.keys.device_id

    @staticmethod
    def from_json(d: dict[str, Any]) -> CitizenDevice:
        keys = DevicePublicKeys.from_json(d)
        if keys.device_id != d.get("id", keys.device_id):
            raise MalformedError("the device id is not the hash of its keys")
        binding = d.get("binding")
        return CitizenDevice(keys, unb64u(d["proof"]) if d.get("proof") else None,
                             binding if isinstance(binding, dict) else None,
                             d["revoked_at"] if isinstance(d.get("revoked_at"), int) else None)


@dataclass
class Verdict:
    """Per device id: `proven` (how: "signin" or "link") or the reason it is not; and the person (issuer,
    sub) the account's proven devices belong to."""

    proven: dict[str, str] = field(default_factory=dict)
    unproven: dict[str, str] = field(default_factory=dict)
    person: tuple[str, str] | None = None


def evaluate(user_id: str, devices: list[CitizenDevice], providers: list[Provider],
             pinned: tuple[str, str] | None = None) -> Verdict:
    """Which of an account's devices are the person's. `pinned`: the person (issuer, sub) this client saw
    proven for the account before; without one, the first device proven by a sign-in (in the server's
    order) names the person. A link counts only from a proven device, and from a revoked one only when it was
    issued before the revocation (a lost phone links nothing after it was removed); links are followed until
    nothing changes, so their order does not matter."""
    verdict = Verdict(person=pinned)
    persons: dict[str, tuple[str, str]] = {}
    for device in devices:
        if device.proof is None or not verify_registration_proof(device.keys, user_id, device.proof):
            verdict.unproven[device.id] = BAD_REGISTRATION if device.proof is not None else NO_PROOF
            continue
        binding = device.binding or {}
        if binding.get("kind") == "signin":
            person = check_signin(binding, device.keys, providers)
            if person is None:
                verdict.unproven[device.id] = BAD_TOKEN
                continue
            persons[device.id] = person
            if verdict.person is None:
                verdict.person = person
            if person == verdict.person:
                verdict.proven[device.id] = "signin"
            else:
                verdict.unproven[device.id] = OTHER_PERSON
    by_id = {d.id: d for d in devices}
    changed = True
    while changed:
        changed = False
        for device in devices:
            binding = device.binding or {}
            if device.id in verdict.proven or device.id in verdict.unproven or binding.get("kind") != "link":
                continue
            linker = by_id.get(str(binding.get("by")))
            issued_at = binding.get("issued_at")
            if linker is None or verdict.proven.get(linker.id) is None or type(issued_at) is not int \
                    or (linker.revoked_at is not None and issued_at >= linker.revoked_at):
                continue
            try:
                ok = 0 <= issued_at < 2**64 and verify_strict(
                    linker.keys.sign_pub, link_signed(user_id, device.keys, issued_at),
                    unb64u(str(binding.get("signature"))))
            except MalformedError:
                ok = False
            if ok:
                verdict.proven[device.id] = "link"
                changed = True
    for device in devices:
        if device.id not in verdict.proven and device.id not in verdict.unproven:
            binding = device.binding or {}
            verdict.unproven[device.id] = BAD_LINK if binding.get("kind") == "link" else NO_PROOF
    return verdict
