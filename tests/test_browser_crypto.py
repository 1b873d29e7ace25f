"""The browser crypto (web/static/js/crypto/) in real Chromium: byte-identical to `crypto/` on the golden
vectors, every RFC 9180 entry of our suite, the same verdicts as Python on Wycheproof and on broken input,
round trips with Python in both directions, and non-extractable keys that survive IndexedDB.

One browser and one page for the module (tests/browser.py's `page` fixture); each test sends its vectors to the page in one evaluate call and
asserts in Python, against the vector files or against what `crypto/` computes.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from crypto import hpke
from crypto.encoding import b64u, lp16, unb64u
from crypto.envelope import (
    Header,
    decode_body,
    encode_body,
    open_message,
    parse_envelope,
    seal_message,
    verify_envelope,
)
from crypto.errors import CryptoError
from crypto.keys import DeviceKeys, DevicePublicKeys, verify_registration_proof, x25519_public
from crypto.sign import L, is_small_order_or_noncanonical, verify_strict
from crypto.wrap import (
    WrappedKey,
    case_key_info,
    sign_unit_epoch,
    sign_wrap,
    unwrap_case_key,
    verify_wrap,
    wrap_case_key,
    wrap_unit_key,
)
from tests.browser import load_crypto, page, run  # noqa: F401 (the page fixture)

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
GOLDEN = json.loads((VECTORS / "golden_envelopes.json").read_text(encoding="utf-8"))
RFC9180 = json.loads((VECTORS / "rfc9180_base_x25519_sha256_aes256gcm.json").read_text(encoding="utf-8"))
P = 2**255 - 19

def outcome(fn: Any, *args: Any) -> dict[str, Any]:
    """Python's counterpart of the page's `outcome`: the value, or the name of the crypto error."""
    try:
        return {"ok": True, "value": fn(*args)}
    except CryptoError as exc:
        return {"ok": False, "error": type(exc).__name__}


# ------------------------------------------------------------------------------------------ golden vectors


def test_golden_devices_ids_fingerprints_and_registration_proofs(page: Any) -> None:
    got = run(page, """
        const out = {};
        for (const [name, d] of Object.entries(arg)) {
          const k = await golden(d);
          const pub = C.devicePublicFromJson(d.public_json);
          out[name] = {
            sign_pub: hex(k.signPub), kem_pub: hex(k.kemPub), id: k.id,
            id_from_pub: await C.deviceId(pub.signPub, pub.kemPub),
            fingerprint: await C.fingerprint(k.signPub, k.kemPub),
            proof: hex(await C.registrationProof(k, d.user_id)),
            verifies: await C.verifyRegistrationProof(pub, d.user_id, unhex(d.registration_proof_hex)),
            other_user: await C.verifyRegistrationProof(pub, d.user_id + "x", unhex(d.registration_proof_hex)),
            extractable: [k.sign.privateKey.extractable, k.kem.privateKey.extractable],
            json: C.devicePublicToJson(k),
          };
        }
        return out;""", GOLDEN["devices"])
    for name, d in GOLDEN["devices"].items():
        g = got[name]
        assert (g["sign_pub"], g["kem_pub"]) == (d["sign_pub_hex"], d["kem_pub_hex"])
        assert g["id"] == g["id_from_pub"] == d["device_id"]
        assert g["fingerprint"] == d["fingerprint"]
        assert g["proof"] == d["registration_proof_hex"], "Ed25519 is deterministic: the proof must be byte-equal"
        assert g["verifies"] is True and g["other_user"] is False
        assert g["extractable"] == [False, False]
        assert g["json"] == d["public_json"]


def test_golden_unit_epoch_signature(page: Any) -> None:
    u = GOLDEN["unit"]
    staff = GOLDEN["devices"]["staff"]
    got = run(page, """
        const k = await golden(arg.staff), pub = unhex(arg.u.unit_pub_hex), sig = unhex(arg.u.epoch_signature_hex);
        return {
          sig: hex(await C.signUnitEpoch(k, arg.u.unit_id, arg.u.epoch, pub)),
          signed: hex(C.unitEpochSigningBytes(arg.u.unit_id, arg.u.epoch, pub)),
          ok: await C.verifyUnitEpoch(k.signPub, sig, arg.u.unit_id, arg.u.epoch, pub),
          ok_obj: await C.verifyUnitEpoch(k, sig, arg.u.unit_id, arg.u.epoch, pub),
          other_epoch: await C.verifyUnitEpoch(k.signPub, sig, arg.u.unit_id, 2, pub),
          epoch_zero: await C.verifyUnitEpoch(k.signPub, sig, arg.u.unit_id, 0, pub),
        };""", {"u": u, "staff": staff})
    assert got == {"sig": u["epoch_signature_hex"], "signed": u["epoch_signed_hex"], "ok": True, "ok_obj": True,
                   "other_epoch": False, "epoch_zero": False}


def test_golden_wraps_are_byte_identical_unwrap_and_verify(page: Any) -> None:
    got = run(page, """
        const devices = await goldenDevices(arg.devices);
        const unitPub = unhex(arg.unit.unit_pub_hex);
        const staff = devices[arg.unit.epoch_signer_device_id];
        const unitKey = await C.unwrapUnitKey(staff.kem.privateKey, arg.unit.unit_id, 1, arg.unitWraps[0].wrapped_json,
                                              unitPub);
        const records = [];
        for (const w of [...arg.unitWraps, ...arg.caseWraps]) {
          const signer = devices[w.signer_device_id];
          const raw = unhex(w.kind === "unit" ? arg.unit.unit_priv_hex : arg.caseKeyHex);
          const info = w.kind === "unit" ? C.unitKeyInfo(w.target_id, w.epoch) : C.caseKeyInfo(w.target_id, w.epoch);
          const wrapFn = w.kind === "unit" ? C.wrapUnitKey : C.wrapCaseKey;
          const wrapped = await wrapFn(raw, w.target_id, w.epoch, unhex(w.recipient_pub_hex), unhex(w.ikm_e_hex));
          const { enc, ctx } = await C.hpkeSetupSender(unhex(w.recipient_pub_hex), info, unhex(w.ikm_e_hex));
          const recipient = w.recipient_id === "unit:1" ? unitKey : devices[w.recipient_id].kem.privateKey;
          const sig = unhex(w.signature_hex);
          const r = {
            info: hex(info), enc: hex(wrapped.enc), ct: hex(wrapped.ct), enc_ctx: hex(enc),
            shared_secret: hex(ctx.sharedSecret), key: hex(ctx.key), base_nonce: hex(ctx.baseNonce),
            json: C.wrappedToJson(wrapped),
            signed: hex(C.wrapSigningBytes(w.kind, w.target_id, w.epoch, w.recipient_id, wrapped)),
            signature: hex(await C.signWrap(signer, w.kind, w.target_id, w.epoch, w.recipient_id, w.wrapped_json)),
            verifies: await C.verifyWrap(signer, sig, w.kind, w.target_id, w.epoch, w.recipient_id, wrapped),
            verifies_json: await C.verifyWrap(signer, sig, w.kind, w.target_id, w.epoch, w.recipient_id,
                                              w.wrapped_json),
            other_epoch: await C.verifyWrap(signer, sig, w.kind, w.target_id, 2, w.recipient_id, wrapped),
            other_target: await C.verifyWrap(signer, sig, w.kind, w.target_id + "x", w.epoch, w.recipient_id, wrapped),
          };
          if (w.kind === "unit") {
            const key = await C.unwrapUnitKey(recipient, w.target_id, w.epoch, wrapped, unitPub);
            r.unwrapped_pub = hex(await C.x25519PublicKey(key));
            r.unwrapped_extractable = key.extractable;
            const wrongPub = devices[w.recipient_id].kemPub;
            r.wrong_expected = await outcome(() => C.unwrapUnitKey(recipient, w.target_id, w.epoch, wrapped, wrongPub));
            r.wrong_epoch = await outcome(() => C.unwrapUnitKey(recipient, w.target_id, 2, wrapped, unitPub));
          } else {
            const key = await C.unwrapCaseKey(recipient, w.target_id, w.epoch, w.wrapped_json);
            r.unwrapped_extractable = key.extractable;
            r.usages = [...key.usages].sort();
            const env = C.parseEnvelope(unhex(arg.firstEnvHex));
            r.opens = await C.openMessage(key, env);
            r.wrong_epoch = await outcome(() => C.unwrapCaseKey(recipient, w.target_id, 2, wrapped));
            r.wrong_case = await outcome(() => C.unwrapCaseKey(recipient, w.target_id + "x", w.epoch, wrapped));
          }
          records.push(r);
        }
        return records;""", {"devices": GOLDEN["devices"], "unit": GOLDEN["unit"],
                             "unitWraps": GOLDEN["unit_key_wraps"], "caseWraps": GOLDEN["case_key_wraps"],
                             "caseKeyHex": GOLDEN["case"]["case_key_hex"],
                             "firstEnvHex": GOLDEN["envelopes"][0]["env_hex"]})
    wraps = GOLDEN["unit_key_wraps"] + GOLDEN["case_key_wraps"]
    assert len(got) == len(wraps) == 3
    for w, g in zip(wraps, got):
        assert (g["info"], g["enc"], g["ct"], g["enc_ctx"]) == (w["info_hex"], w["enc_hex"], w["ct_hex"], w["enc_hex"])
        assert g["shared_secret"] == w["shared_secret_hex"]
        assert (g["key"], g["base_nonce"]) == (w["key_hex"], w["base_nonce_hex"])
        assert g["json"] == w["wrapped_json"]
        assert (g["signed"], g["signature"]) == (w["signed_hex"], w["signature_hex"])
        assert (g["verifies"], g["verifies_json"], g["other_epoch"], g["other_target"]) == (True, True, False, False)
        assert g["unwrapped_extractable"] is False
        assert g["wrong_epoch"] == {"ok": False, "error": "DecryptionError"}
        if w["kind"] == "unit":
            assert g["unwrapped_pub"] == GOLDEN["unit"]["unit_pub_hex"]
            assert g["wrong_expected"] == {"ok": False, "error": "CryptoError"}
        else:
            assert g["opens"] == GOLDEN["envelopes"][0]["body"]
            assert g["usages"] == ["decrypt", "encrypt"]
            assert g["wrong_case"] == {"ok": False, "error": "DecryptionError"}


def test_golden_envelopes_seal_byte_identical_and_open(page: Any) -> None:
    got = run(page, """
        const devices = await goldenDevices(arg.devices);
        const caseKey = await C.importCaseKeyForTest(unhex(arg.caseKeyHex));
        const out = [];
        for (const e of arg.envelopes) {
          const sender = devices[e.sender_device_id];
          const raw = await C.sealMessage(caseKey, e.header, e.body, sender, unhex(e.nonce_hex));
          const env = C.parseEnvelope(unhex(e.env_hex));
          const other = Object.values(devices).find((d) => d !== sender);
          out.push({
            env: hex(raw), env_b64u: C.b64u(raw), header: env.header, header_hex: hex(C.headerBytes(e.header)),
            aad: hex(env.headerBytes), nonce: hex(env.nonce), ct: hex(env.ciphertext), signature: hex(env.signature),
            plaintext: hex(C.encodeBody(e.body)), verifies: await C.verifyEnvelope(env, sender.signPub),
            other_sender: await C.verifyEnvelope(env, other), body: await C.openMessage(caseKey, env),
            random_nonce_differs: hex(await C.sealMessage(caseKey, e.header, e.body, sender)) !== e.env_hex,
          });
        }
        return out;""", {"devices": GOLDEN["devices"], "caseKeyHex": GOLDEN["case"]["case_key_hex"],
                         "envelopes": GOLDEN["envelopes"]})
    assert len(got) == len(GOLDEN["envelopes"]) == 3
    for e, g in zip(GOLDEN["envelopes"], got):
        assert (g["env"], g["env_b64u"]) == (e["env_hex"], e["env_b64u"]), e["label"]
        assert g["header"] == e["header"] and g["header_hex"] == g["aad"] == e["header_hex"] == e["aad_hex"]
        assert (g["nonce"], g["ct"], g["signature"]) == (e["nonce_hex"], e["ct_hex"], e["signature_hex"])
        assert g["plaintext"] == e["plaintext_hex"] == e["plaintext_json"].encode("utf-8").hex()
        assert (g["verifies"], g["other_sender"]) == (True, False)
        assert g["body"] == e["body"]
        assert g["random_nonce_differs"] is True


def test_golden_negative_envelopes_fail_as_specified(page: Any) -> None:
    first = GOLDEN["envelopes"][0]
    sign_pub = GOLDEN["devices"]["citizen"]["sign_pub_hex"]
    assert first["sender_device_id"] == GOLDEN["devices"]["citizen"]["device_id"]
    got = run(page, """
        const caseKey = await C.importCaseKeyForTest(unhex(arg.caseKeyHex));
        const out = [];
        for (const n of arg.negatives) {
          const parsed = await outcome(() => C.parseEnvelope(unhex(n.env_hex)));
          if (!parsed.ok) { out.push({ parse: parsed.error }); continue; }
          out.push({ verifies: await C.verifyEnvelope(parsed.value, unhex(arg.signPub)),
                     opened: await outcome(() => C.openMessage(caseKey, parsed.value)) });
        }
        return out;""", {"negatives": GOLDEN["negative_envelopes"], "caseKeyHex": GOLDEN["case"]["case_key_hex"],
                         "signPub": sign_pub})
    expected = {
        "malformed": {"parse": "MalformedError"},
        "signature_invalid_and_decryption_fails": {"verifies": False,
                                                   "opened": {"ok": False, "error": "DecryptionError"}},
        "signature_invalid_but_decrypts": {"verifies": False, "opened": {"ok": True, "value": first["body"]}},
    }
    assert len(got) == len(GOLDEN["negative_envelopes"]) == 7
    for n, g in zip(GOLDEN["negative_envelopes"], got):
        assert g == expected[n["expect"]], n["description"]


def test_golden_strict_verification_cases(page: Any) -> None:
    cases = GOLDEN["strict_verify_cases"]
    got = run(page, """
        return Promise.all(arg.map((c) =>
          C.verifyStrict(unhex(c.public_key_hex), unhex(c.message_hex), unhex(c.signature_hex))));
    """, cases)
    assert got == [c["expected"] for c in cases]
    assert got.count(True) == 1


# ----------------------------------------------------------------------------------------- RFC 9180, Wycheproof


def test_rfc9180_vectors_every_value(page: Any) -> None:
    got = run(page, """
        const out = [];
        for (const v of arg) {
          const kpR = await C.deriveKeyPair(unhex(v.ikmR)), kpE = await C.deriveKeyPair(unhex(v.ikmE));
          const { enc, ctx } = await C.hpkeSetupSender(unhex(v.pkRm), unhex(v.info), unhex(v.ikmE));
          const rctx = await C.hpkeSetupReceiver(enc, kpR.sk, unhex(v.info));
          const fields = (c) => ({ shared_secret: hex(c.sharedSecret), key_schedule_context: hex(c.keyScheduleContext),
                                   secret: hex(c.secret), key: hex(c.key), base_nonce: hex(c.baseNonce),
                                   exporter_secret: hex(c.exporterSecret) });
          const encryptions = [];
          for (const e of v.encryptions) {
            const ct = await ctx.seal(unhex(e.aad), unhex(e.pt));
            encryptions.push({ ct: hex(ct), pt: hex(await rctx.open(unhex(e.aad), unhex(e.ct))) });
          }
          const exports = [];
          for (const x of v.exports) {
            exports.push([hex(await ctx.export(unhex(x.exporter_context), x.L)),
                          hex(await rctx.export(unhex(x.exporter_context), x.L))]);
          }
          // A ciphertext out of turn fails, and a failed open does not advance the sequence number.
          const fresh = await C.hpkeSetupReceiver(enc, kpR.sk, unhex(v.info));
          const outOfTurn = await outcome(() => fresh.open(unhex(v.encryptions[1].aad), unhex(v.encryptions[1].ct)));
          const inTurn = hex(await fresh.open(unhex(v.encryptions[0].aad), unhex(v.encryptions[0].ct)));
          out.push({ skRm: hex(kpR.skRaw), pkRm: hex(kpR.pk), skEm: hex(kpE.skRaw), pkEm: hex(kpE.pk), enc: hex(enc),
                     sender: fields(ctx), receiver: fields(rctx), encryptions, exports, outOfTurn, inTurn,
                     seq: [String(ctx.seq), String(rctx.seq)] });
        }
        return out;""", RFC9180)
    assert len(got) == len(RFC9180) >= 1
    for v, g in zip(RFC9180, got):
        assert (g["skRm"], g["pkRm"], g["skEm"], g["pkEm"]) == (v["skRm"], v["pkRm"], v["skEm"], v["pkEm"])
        assert g["enc"] == v["enc"]
        schedule = {k: v[k] for k in ("shared_secret", "key_schedule_context", "secret", "key", "base_nonce",
                                      "exporter_secret")}
        assert g["sender"] == g["receiver"] == schedule
        assert g["encryptions"] == [{"ct": e["ct"], "pt": e["pt"]} for e in v["encryptions"]]
        assert g["exports"] == [[x["exported_value"]] * 2 for x in v["exports"]]
        assert g["outOfTurn"] == {"ok": False, "error": "DecryptionError"}
        assert g["inTurn"] == v["encryptions"][0]["pt"]
        assert g["seq"] == [str(len(v["encryptions"]))] * 2


def _wycheproof(name: str) -> list[dict[str, Any]]:
    doc = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return [{**t, **({"pk": g["publicKey"]["pk"]} if "publicKey" in g else {})} for g in doc["testGroups"]
            for t in g["tests"]]


def test_wycheproof_ed25519_verdicts_equal_python_verify_strict(page: Any) -> None:
    tests = _wycheproof("wycheproof_ed25519.json")
    python = [verify_strict(bytes.fromhex(t["pk"]), bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"])) for t in tests]
    browser = run(page, """
        return Promise.all(arg.map((t) => C.verifyStrict(unhex(t.pk), unhex(t.msg), unhex(t.sig))));""",
                  [{"pk": t["pk"], "msg": t["msg"], "sig": t["sig"]} for t in tests])
    assert len(browser) == len(tests) == 210
    differ = [(t["tcId"], t["comment"], p, b) for t, p, b in zip(tests, python, browser) if p != b]
    assert differ == []
    assert True in python and False in python
    assert not [t["tcId"] for t, p in zip(tests, python) if p and t["result"] == "invalid"]


def test_wycheproof_x25519_shared_secret_or_rejection_equal_python(page: Any) -> None:
    tests = _wycheproof("wycheproof_x25519.json")

    def python_dh(t: dict[str, Any]) -> str | None:
        try:
            return hpke.dh(bytes.fromhex(t["private"]), bytes.fromhex(t["public"])).hex()
        except CryptoError:
            return None

    python = [python_dh(t) for t in tests]
    browser = run(page, """
        const out = [];
        for (const t of arg) {
          const r = await outcome(async () =>
            hex(await C.x25519(await C.importX25519Private(unhex(t.private)), unhex(t.public))));
          out.push(r.ok ? r.value : r.error);
        }
        return out;""", [{"private": t["private"], "public": t["public"]} for t in tests])
    assert len(browser) == len(tests) == 518
    # Python refuses exactly the all-zero outputs; the browser must refuse the same ones, as CryptoError.
    expected = [p if p is not None else "CryptoError" for p in python]
    differ = [(t["tcId"], t["comment"], e, b) for t, e, b in zip(tests, expected, browser) if e != b]
    assert differ == []
    assert [t["shared"] for t, p in zip(tests, python) if p is None] == ["00" * 32] * python.count(None)
    assert python.count(None) > 0


def test_explicit_checks_hold_even_if_webcrypto_accepted_everything(page: Any) -> None:
    """Protocol section 4: the checks must not be left to the platform. Chromium's own Ed25519 accepts
    small-order keys (the identity key forges everything), so run the cases against a stubbed WebCrypto
    whose verify says yes and whose X25519 returns zeros: only the explicit checks can refuse then."""
    cases = [(c["public_key_hex"], c["message_hex"], c["signature_hex"]) for c in GOLDEN["strict_verify_cases"]]
    cases += [(t["pk"], t["msg"], t["sig"]) for t in _wycheproof("wycheproof_ed25519.json")]

    def prechecks_pass(pk: bytes, sig: bytes) -> bool:
        return (len(pk), len(sig)) == (32, 64) and not is_small_order_or_noncanonical(pk) \
            and not is_small_order_or_noncanonical(sig[:32]) and int.from_bytes(sig[32:], "little") < L

    expected = [prechecks_pass(bytes.fromhex(pk), bytes.fromhex(sig)) for pk, _, sig in cases]
    got = run(page, """
        const key = await C.importX25519Private(new Uint8Array(32).fill(7));
        const peer = await C.x25519PublicKey(await C.importX25519Private(new Uint8Array(32).fill(8)));
        const subtle = crypto.subtle;
        subtle.verify = async () => true;
        subtle.deriveBits = async () => new ArrayBuffer(32);
        try {
          const verdicts = await Promise.all(arg.map(([pk, msg, sig]) =>
            C.verifyStrict(unhex(pk), unhex(msg), unhex(sig))));
          return { verdicts, dh: await outcome(() => C.x25519(key, peer)) };
        } finally {
          delete subtle.verify;
          delete subtle.deriveBits;
        }""", cases)
    assert got["verdicts"] == expected
    assert expected.count(False) > 20  # S >= L, small-order and non-canonical A and R, wrong lengths
    assert got["dh"] == {"ok": False, "error": "CryptoError"}
    assert run(page, "return typeof Object.getOwnPropertyDescriptor(crypto.subtle, 'verify');") == "undefined"


def test_hpke_and_wraps_refuse_small_order_and_noncanonical_keys(page: Any) -> None:
    order8 = ["e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
              "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"]
    good = x25519_public(secrets.token_bytes(32))
    keys = [u.to_bytes(32, "little") for u in (0, 1, P - 1)] + [bytes.fromhex(h) for h in order8]
    keys += [(P + 1).to_bytes(32, "little"), good[:31] + bytes([good[31] | 0x80]), good]  # p + 1 is an alias of 1
    recipient = DeviceKeys.generate()
    info, ikm = b"info", bytes(32)

    def python(pk: bytes) -> list[Any]:
        return [outcome(lambda: hpke.seal(pk, info, b"", b"x" * 32, ikm_e=ikm)[0].hex()),
                outcome(lambda: wrap_case_key(b"k" * 32, "c", 1, pk, ikm_e=ikm).enc.hex()),
                outcome(lambda: hpke.open(recipient.kem_priv, pk, info, b"", b"\x00" * 48))]

    expected = [python(pk) for pk in keys]
    got = run(page, """
        const recipient = await C.importX25519Private(unhex(arg.recipientPriv));
        const info = new TextEncoder().encode("info"), ikm = new Uint8Array(32), empty = new Uint8Array(0);
        const out = [];
        for (const pk of arg.keys.map(unhex)) {
          const x32 = new Uint8Array(32).fill(120), k32 = new Uint8Array(32).fill(107);  // b"x" * 32, b"k" * 32
          out.push([await outcome(async () => hex((await C.hpkeSeal(pk, info, empty, x32, ikm)).enc)),
                    await outcome(async () => hex((await C.wrapCaseKey(k32, "c", 1, pk, ikm)).enc)),
                    await outcome(() => C.hpkeOpen(recipient, pk, info, empty, new Uint8Array(48)))]);
        }
        return out;""", {"keys": [k.hex() for k in keys], "recipientPriv": recipient.kem_priv.hex()})
    assert got == expected
    assert [e[0]["ok"] for e in expected] == [False] * 6 + [True, True]  # all-zero DH (p + 1 is u = 1)
    assert [e[1]["ok"] for e in expected] == [False] * 7 + [True]  # the directory rule also refuses u >= p


# ------------------------------------------------------------------------------------ parity on chosen inputs


def test_base64url_is_exactly_as_strict_as_python(page: Any) -> None:
    texts = ["", "A", "AA", "AB", "AAA", "AAB", "AAAA", "AQ", "Ag", "AAE", "AAI", "-_-_", "ab=", "ab==", "a+b/",
             "a b", "YWJj\n", "éé", "AAAAA", "_w", "__8", "___", GOLDEN["devices"]["staff"]["device_id"],
             GOLDEN["envelopes"][0]["env_b64u"], GOLDEN["envelopes"][0]["env_b64u"][:-1] + "B"]
    blobs = [secrets.token_bytes(n) for n in range(40)]
    expected = [outcome(lambda t=t: unb64u(t).hex()) for t in texts]
    got = run(page, """
        return { decoded: await Promise.all(arg.texts.map((t) => outcome(() => hex(C.unb64u(t))))),
                 encoded: arg.blobs.map((b) => C.b64u(unhex(b))) };""",
              {"texts": texts, "blobs": [b.hex() for b in blobs]})
    assert got["decoded"] == expected
    assert got["encoded"] == [b64u(b) for b in blobs]
    assert sum(not e["ok"] for e in expected) >= 10


def test_body_encoding_equals_python_and_decoding_gives_python_verdicts(page: Any) -> None:
    bodies: list[dict[str, Any]] = [e["body"] for e in GOLDEN["envelopes"]] + [
        {}, {"b": 1, "a": [1, -2, 0, 2**53 - 1, True, False, None, "x"], "c": {"z": {}, "y": []}},
        {"\ue000": 1, "\U0001f642": 2, "\uffff": 3, "Z": 4, "a": 5, "ä": 6, "": 7},
        {"text": "\x00\x01\x1f\x7f \u2028\u2029 / \\ \" \b\f\n\r\t é 🙂", "n": 1.5, "m": 0.1, "k": -7},
    ]
    plaintexts = [b'{"a":1}', b' {"a" : 1 , "b":[1,{"a":2}]} ', b'{"a":1,"a":2}', b'{"a":1,"\\u0061":2}',
                  b'{"x":{"a":1,"a":1}}', b'{"a":{"a":1},"b":[{"a":1},{"a":2}]}', b'{"a\\"":":\\"{[","b":"a"}',
                  b'{"a":"b","b":"a"}', b'\xef\xbb\xbf{}', b'{"a":"\xff"}', b'[]', b'null', b'"x"', b'{"a":NaN}',
                  b'{"a":Infinity}', b'{"a":1} x', b'', b'{"a":1,}', b"{'a':1}", b'{"a":"\x01"}',
                  b'{"__proto__":1,"b":{"__proto__":{"x":1}}}', b'{"a":1e400}', b'{"\\ud800":1}']

    def python_decode(pt: bytes) -> dict[str, Any]:
        """The verdict on a plaintext, and for a body the canonical re-encoding of what was decoded."""
        decoded = outcome(decode_body, pt)
        return {"ok": True, "value": outcome(lambda: encode_body(decoded["value"]).hex())} if decoded["ok"] else decoded

    got = run(page, """
        const reencode = (v) => outcome(() => hex(C.encodeBody(v)));
        const decoded = [];
        for (const p of arg.plaintexts) {
          const d = await outcome(() => C.decodeBody(unhex(p)));
          decoded.push(d.ok ? { ok: true, value: await reencode(d.value) } : d);
        }
        const circular = {}; circular.self = circular;
        const refused = [{ a: NaN }, { a: Infinity }, { a: undefined }, { a: () => 1 }, { a: 1n }, { a: "\\ud800" },
                         { ["\\udc00"]: 1 }, circular, [], null, "x", { a: new Date(0) }, { a: [1, , 2] }, new Map()];
        return { encoded: arg.bodies.map((b) => hex(C.encodeBody(b))), decoded,
                 refused: await Promise.all(refused.map((b) => outcome(() => C.encodeBody(b)))) };""",
                 {"bodies": bodies, "plaintexts": [p.hex() for p in plaintexts]})
    assert got["encoded"] == [encode_body(b).hex() for b in bodies]
    python = [python_decode(p) for p in plaintexts]
    assert got["decoded"] == python
    assert sum(not p["ok"] for p in python) >= 12
    assert got["refused"] == [{"ok": False, "error": "MalformedError"}] * 14


def test_envelope_mutations_give_python_verdicts(page: Any) -> None:
    first = GOLDEN["envelopes"][0]
    raw = bytes.fromhex(first["env_hex"])
    sign_pub = bytes.fromhex(GOLDEN["devices"]["citizen"]["sign_pub_hex"])
    key = bytes.fromhex(GOLDEN["case"]["case_key_hex"])
    mutants = [raw[:n] for n in range(len(raw))] + [raw + b"\x00", raw + raw, b"", b"\x01" * 70000]
    for mask in (0x01, 0x80, 0xFF):
        mutants += [raw[:i] + bytes([raw[i] ^ mask]) + raw[i + 1:] for i in range(len(raw))]
    # Consistent lengths with a ciphertext of 0..16 bytes: shorter than the tag is malformed, 16 is not.
    before_ct = len(bytes.fromhex(first["header_hex"])) + 12
    mutants += [raw[:before_ct] + n.to_bytes(4, "big") + bytes(n) + raw[-64:] for n in range(17)]
    # Exactly the size limit, and one byte more.
    mutants += [raw[:before_ct] + n.to_bytes(4, "big") + bytes(n) + raw[-64:]
                for n in (65536 - before_ct - 4 - 64, 65537 - before_ct - 4 - 64)]

    def python(env_bytes: bytes) -> Any:
        parsed = outcome(parse_envelope, env_bytes)
        if not parsed["ok"]:
            return parsed["error"]
        opened = outcome(open_message, key, parsed["value"])
        return [verify_envelope(parsed["value"], sign_pub), opened["value"] if opened["ok"] else opened["error"]]

    expected = [python(m) for m in mutants]
    got = run(page, """
        const caseKey = await C.importCaseKeyForTest(unhex(arg.key)), pub = unhex(arg.signPub);
        const out = [];
        for (const m of arg.mutants) {
          const parsed = await outcome(() => C.parseEnvelope(unhex(m)));
          if (!parsed.ok) { out.push(parsed.error); continue; }
          const opened = await outcome(() => C.openMessage(caseKey, parsed.value));
          out.push([await C.verifyEnvelope(parsed.value, pub), opened.ok ? opened.value : opened.error]);
        }
        return out;""", {"mutants": [m.hex() for m in mutants], "key": key.hex(), "signPub": sign_pub.hex()})
    differ = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert differ == []
    assert len(got) == len(mutants) == 4 * len(raw) + 4 + 17 + 2
    assert expected[-2:] == [[False, "DecryptionError"], "MalformedError"]
    verdicts = {json.dumps(e, sort_keys=True) for e in expected}
    opens_unsigned = json.dumps([False, first["body"]], sort_keys=True)
    assert {'"MalformedError"', '[false, "DecryptionError"]', opens_unsigned} <= verdicts


def test_header_and_record_inputs_are_checked_like_python(page: Any) -> None:
    staff = GOLDEN["devices"]["staff"]
    good = {"case_id": "c-1", "msg_id": b64u(bytes(16)), "sender_device": staff["device_id"], "epoch": 1,
            "sent_at_ms": 0}
    bad_headers = [{"case_id": ""}, {"case_id": "ä"}, {"case_id": "a" * 65}, {"case_id": "a b"},
                   {"msg_id": good["msg_id"][:-1] + "B"}, {"msg_id": "x"}, {"sender_device": "AAAAAAAAAAAAAAAAAAAAAA"},
                   {"epoch": 0}, {"epoch": 2**32}, {"epoch": 1.5}, {"sent_at_ms": -1}]
    keys = DeviceKeys.from_private(bytes.fromhex(staff["sign_seed_hex"]), bytes.fromhex(staff["kem_priv_hex"]))
    for change in bad_headers:
        with pytest.raises(CryptoError):
            seal_message(bytes(32), Header(**{**good, **change}), {}, keys)
    wrapped = WrappedKey(bytes(32), bytes(48))
    records = [("x", "t", 1, staff["device_id"]), ("unit", "t", 1, "unit:1"), ("case", "t", 1, "unit:01"),
               ("case", "t", 1, "unit:0"), ("case", "t", 1, "unit:4294967296"), ("case", "t", 0, "unit:1"),
               ("case", "t", 1, "unit:4294967295")]

    def signed_anyway(kind: str, target: str, epoch: int, recipient: str) -> str:
        """A valid signature over the record's bytes, made without the checks: only the format rules refuse it."""
        raw = (b"samtal/wrap-sig/v1" + lp16(kind.encode()) + lp16(target.encode()) + epoch.to_bytes(4, "big")
               + lp16(recipient.encode()) + lp16(wrapped.enc) + lp16(wrapped.ct))
        return keys.sign(raw).hex()

    signatures = [signed_anyway(*r) for r in records]
    assert signatures[-1] == sign_wrap(keys, *records[-1], wrapped).hex()
    expected_verdicts = [verify_wrap(keys.public, bytes.fromhex(s), *r, wrapped) for r, s in zip(records, signatures)]
    for text in ("\ud800", "a\udc00"):  # lone surrogates cannot be UTF-8 encoded, so cannot be signed
        with pytest.raises(CryptoError):
            case_key_info(text, 1)
    got = run(page, """
        const k = await golden(arg.staff), caseKey = await C.importCaseKeyForTest(new Uint8Array(32));
        const headers = arg.bad.map((change) => ({ ...arg.good, ...change }));
        const wrapped = { enc: new Uint8Array(32), ct: new Uint8Array(48) };
        return {
          good: await outcome(async () => C.parseEnvelope(await C.sealMessage(caseKey, arg.good, {}, k)).header),
          bigint_time: C.parseEnvelope(await C.sealMessage(caseKey, { ...arg.good, sent_at_ms: 2n ** 64n - 1n }, {}, k))
            .header.sent_at_ms,
          headers: await Promise.all(headers.map((h) => outcome(() => C.sealMessage(caseKey, h, {}, k)))),
          short_nonce: await outcome(() => C.sealMessage(caseKey, arg.good, {}, k, new Uint8Array(11))),
          too_big: await outcome(() => C.sealMessage(caseKey, arg.good, { text: "x".repeat(65536) }, k)),
          not_sender: await outcome(async () => C.sealMessage(caseKey, arg.good, {}, await golden(arg.citizen))),
          records: await Promise.all(arg.records.map((r, i) =>
            C.verifyWrap(k, unhex(arg.signatures[i]), ...r, wrapped))),
          bad_wrapped: await Promise.all([{ enc: "AA", ct: "AA" }, { enc: new Uint8Array(31), ct: new Uint8Array(48) },
                                          null].map((w) =>
            outcome(() => C.wrapSigningBytes("case", "t", 1, "unit:1", w)))),
          surrogates: [await outcome(() => C.caseKeyInfo("\\ud800", 1)),
                       await outcome(() => C.unitKeyInfo("a\\udc00", 1)),
                       await outcome(() => C.registrationProof(k, "\\ud800")),
                       await outcome(() => C.wrapSigningBytes("case", "\\udc00", 1, "unit:1", wrapped)),
                       await outcome(() => C.verifyWrap(k, new Uint8Array(64), "case", "\\udc00", 1, "unit:1",
                                                        wrapped))],
          too_long: [await outcome(() => C.registrationProof(k, "x".repeat(65536))),
                     await outcome(() => C.verifyRegistrationProof(k, "x".repeat(65536), new Uint8Array(64))),
                     hex(C.caseKeyInfo("x".repeat(65535), 1)).length / 2],
        };""", {"staff": staff, "citizen": GOLDEN["devices"]["citizen"], "good": good, "bad": bad_headers,
                "records": records, "signatures": signatures})
    assert got["good"] == {"ok": True, "value": good}
    assert float(got["bigint_time"]) == float(2**64 - 1)  # the nearest double (Playwright passes it as an int)
    assert got["headers"] == [{"ok": False, "error": "MalformedError"}] * len(bad_headers)
    for name in ("short_nonce", "too_big", "not_sender"):
        assert got[name] == {"ok": False, "error": "MalformedError"}, name
    assert got["records"] == expected_verdicts == [False] * 6 + [True]
    assert got["bad_wrapped"] == [{"ok": False, "error": "MalformedError"}] * 3
    assert got["surrogates"] == [{"ok": False, "error": "MalformedError"}] * 4 + [{"ok": True, "value": False}]
    with pytest.raises(CryptoError):
        case_key_info("x" * 65536, 1)
    assert got["too_long"] == [{"ok": False, "error": "MalformedError"}, {"ok": True, "value": False},
                               len(case_key_info("x" * 65535, 1))]


def test_envelope_with_largest_header_values_parses_like_python(page: Any) -> None:
    keys = DeviceKeys.generate()
    key = secrets.token_bytes(32)
    header = Header("x" * 64, b64u(secrets.token_bytes(16)), keys.public.device_id, 2**32 - 1, 2**64 - 1)
    raw = seal_message(key, header, {"t": "ok"}, keys)
    got = run(page, """
        const env = C.parseEnvelope(unhex(arg.raw));
        return { header: env.header, verifies: await C.verifyEnvelope(env, unhex(arg.pub)),
                 body: await C.openMessage(await C.importCaseKeyForTest(unhex(arg.key)), env) };""",
              {"raw": raw.hex(), "pub": keys.public.sign_pub.hex(), "key": key.hex()})
    assert float(got["header"].pop("sent_at_ms")) == float(2**64 - 1)  # a Number: the nearest double
    assert got == {"header": {"case_id": "x" * 64, "msg_id": header.msg_id, "sender_device": header.sender_device,
                              "epoch": 2**32 - 1}, "verifies": True, "body": {"t": "ok"}}


# ----------------------------------------------------------------------------- round trips with fresh keys


def test_round_trip_python_to_browser_and_back(page: Any) -> None:
    staff = DeviceKeys.generate()  # plays the staff device, in Python
    citizen2 = DeviceKeys.generate()  # a second citizen device the browser wraps to, in Python
    unit_priv = secrets.token_bytes(32)
    unit_pub = x25519_public(unit_priv)
    case_key = secrets.token_bytes(32)
    case_id, unit_id = "eb-2026-0099", "enhet-vuxen"
    browser = run(page, """
        const rt = window.rt = await C.generateDeviceKeys();
        return { sign_pub: hex(rt.signPub), kem_pub: hex(rt.kemPub), id: rt.id,
                 fingerprint: await C.fingerprint(rt.signPub, rt.kemPub),
                 proof: hex(await C.registrationProof(rt, "medborgare-9")) };""")
    device = DevicePublicKeys(bytes.fromhex(browser["sign_pub"]), bytes.fromhex(browser["kem_pub"]))
    assert browser["id"] == device.device_id and browser["fingerprint"] == device.fingerprint()
    assert verify_registration_proof(device, "medborgare-9", bytes.fromhex(browser["proof"]))
    assert not verify_registration_proof(device, "medborgare-8", bytes.fromhex(browser["proof"]))

    # Python -> browser: a case key wrapped to the browser device and to the unit, the unit key wrapped to
    # the browser device (as if it were staff), signed records, and a message.
    to_device = wrap_case_key(case_key, case_id, 1, device.kem_pub)
    to_unit = wrap_case_key(case_key, case_id, 1, unit_pub)
    unit_wrap = wrap_unit_key(unit_priv, unit_id, 1, device.kem_pub)
    msg_header = Header(case_id, b64u(secrets.token_bytes(16)), staff.public.device_id, 1, 1767261600000)
    message = {"type": "text", "text": "Hej från handläggaren 🙂"}
    arg = {
        "staff_pub": staff.public.sign_pub.hex(), "case_id": case_id, "unit_id": unit_id, "unit_pub": unit_pub.hex(),
        "to_device": to_device.to_json(), "to_unit": to_unit.to_json(), "unit_wrap": unit_wrap.to_json(),
        "to_device_sig": sign_wrap(staff, "case", case_id, 1, device.device_id, to_device).hex(),
        "unit_wrap_sig": sign_wrap(staff, "unit", unit_id, 1, device.device_id, unit_wrap).hex(),
        "epoch_sig": sign_unit_epoch(staff, unit_id, 1, unit_pub).hex(),
        "env": seal_message(case_key, msg_header, message, staff).hex(),
        "reply_header": {"case_id": case_id, "msg_id": b64u(secrets.token_bytes(16)), "sender_device": device.device_id,
                         "epoch": 1, "sent_at_ms": 1767261700000},
        "citizen2_kem": citizen2.public.kem_pub.hex(), "citizen2_id": citizen2.public.device_id,
        "reply_text": "Tack, vi ses på måndag!",
    }
    got = run(page, """
        const staff = unhex(arg.staff_pub), me = window.rt;
        const caseKey = await C.unwrapCaseKey(me.kem.privateKey, arg.case_id, 1, arg.to_device);
        const unitKey = await C.unwrapUnitKey(me.kem.privateKey, arg.unit_id, 1, arg.unit_wrap, unhex(arg.unit_pub));
        const viaUnit = await C.unwrapCaseKey(unitKey, arg.case_id, 1, arg.to_unit);
        const env = C.parseEnvelope(unhex(arg.env));
        const fresh = crypto.getRandomValues(new Uint8Array(32));
        const wrapped = await C.wrapCaseKey(fresh, arg.case_id, 2, unhex(arg.citizen2_kem));
        return {
          wrap_ok: await C.verifyWrap({ signPub: staff }, unhex(arg.to_device_sig), "case", arg.case_id, 1, me.id,
                                      arg.to_device),
          unit_wrap_ok: await C.verifyWrap(staff, unhex(arg.unit_wrap_sig), "unit", arg.unit_id, 1, me.id,
                                           arg.unit_wrap),
          epoch_ok: await C.verifyUnitEpoch(staff, unhex(arg.epoch_sig), arg.unit_id, 1, unhex(arg.unit_pub)),
          env_ok: await C.verifyEnvelope(env, staff), header: env.header,
          body: await C.openMessage(caseKey, env), body_via_unit: await C.openMessage(viaUnit, env),
          reply: hex(await C.sealMessage(viaUnit, arg.reply_header, { type: "text", text: arg.reply_text }, me)),
          new_case_key: hex(fresh), new_wrap: C.wrappedToJson(wrapped),
          new_wrap_sig: hex(await C.signWrap(me, "case", arg.case_id, 2, arg.citizen2_id, wrapped)),
        };""", arg)
    assert (got["wrap_ok"], got["unit_wrap_ok"], got["epoch_ok"], got["env_ok"]) == (True, True, True, True)
    assert got["header"] == {"case_id": case_id, "msg_id": msg_header.msg_id, "sender_device": staff.public.device_id,
                             "epoch": 1, "sent_at_ms": 1767261600000}
    assert got["body"] == got["body_via_unit"] == message

    # Browser -> Python: the reply opens and verifies, and the browser's wrap unwraps and its record verifies.
    reply = parse_envelope(bytes.fromhex(got["reply"]))
    assert verify_envelope(reply, device.sign_pub) and not verify_envelope(reply, staff.public.sign_pub)
    assert open_message(case_key, reply) == {"type": "text", "text": "Tack, vi ses på måndag!"}
    new_wrap = WrappedKey.from_json(got["new_wrap"])
    assert unwrap_case_key(citizen2.kem_priv, case_id, 2, new_wrap) == bytes.fromhex(got["new_case_key"])
    new_wrap_sig = bytes.fromhex(got["new_wrap_sig"])
    assert verify_wrap(device, new_wrap_sig, "case", case_id, 2, citizen2.public.device_id, new_wrap)


# ------------------------------------------------------------------------------------------- key storage


def test_generated_private_keys_are_not_extractable(page: Any) -> None:
    got = run(page, """
        const k = await C.generateDeviceKeys();
        const attempts = [];
        for (const key of [k.sign.privateKey, k.kem.privateKey]) {
          for (const format of ["pkcs8", "jwk", "raw"]) {
            attempts.push(await outcome(() => crypto.subtle.exportKey(format, key)));
          }
        }
        const stored = C.deviceKeysToStored(k);
        return { attempts, flags: [k.sign.privateKey.extractable, k.kem.privateKey.extractable],
                 algorithms: [k.sign.privateKey.algorithm.name, k.kem.privateKey.algorithm.name],
                 id_ok: k.id === await C.deviceId(k.signPub, k.kemPub),
                 public_export: hex(new Uint8Array(await crypto.subtle.exportKey("raw", k.sign.publicKey))),
                 sign_pub: hex(k.signPub),
                 stored_private_same: stored.sign.privateKey === k.sign.privateKey
                   && stored.kem.privateKey === k.kem.privateKey };""")
    assert got["attempts"] == [{"ok": False, "error": "InvalidAccessError"}] * 6
    assert got["flags"] == [False, False] and got["algorithms"] == ["Ed25519", "X25519"]
    assert got["id_ok"] and got["stored_private_same"]
    assert got["public_export"] == got["sign_pub"]


def test_device_keys_survive_indexeddb_and_a_reload(page: Any) -> None:
    store = """
        const open = () => new Promise((resolve, reject) => {
          const req = indexedDB.open("samtal-crypto-test", 1);
          req.onupgradeneeded = () => req.result.createObjectStore("keys");
          req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error);
        });
        const tx = async (mode, fn) => { const db = await open(); return new Promise((resolve, reject) => {
          const req = fn(db.transaction("keys", mode).objectStore("keys"));
          req.onsuccess = () => { db.close(); resolve(req.result); }; req.onerror = () => reject(req.error); }); };
    """
    before = run(page, store + """
        const k = await C.generateDeviceKeys();
        await tx("readwrite", (s) => s.put(C.deviceKeysToStored(k), "device"));
        return { id: k.id, sign_pub: hex(k.signPub), kem_pub: hex(k.kemPub) };""")
    page.reload()
    load_crypto(page)
    after = run(page, store + """
        const record = await tx("readonly", (s) => s.get("device"));
        const k = C.deviceKeysFromStored(record);
        const extractable = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
        const leaky = { ...record, sign: extractable };
        return {
          id: k.id, sign_pub: hex(k.signPub), kem_pub: hex(k.kemPub),
          proof: hex(await C.registrationProof(k, "user-after-reload")),
          kem_pub_from_private: hex(await C.x25519PublicKey(k.kem.privateKey)),
          export: await outcome(() => crypto.subtle.exportKey("pkcs8", k.sign.privateKey)),
          refused: [await outcome(() => C.deviceKeysFromStored({})), await outcome(() => C.deviceKeysFromStored(null)),
                    await outcome(() => C.deviceKeysFromStored(leaky)),
                    await outcome(() => C.deviceKeysFromStored({ ...record, kemPub: new Uint8Array(32) }))],
        };""")
    assert (after["id"], after["sign_pub"], after["kem_pub"]) == (before["id"], before["sign_pub"], before["kem_pub"])
    assert after["kem_pub_from_private"] == before["kem_pub"]
    pub = DevicePublicKeys(bytes.fromhex(before["sign_pub"]), bytes.fromhex(before["kem_pub"]))
    assert pub.device_id == before["id"]
    assert verify_registration_proof(pub, "user-after-reload", bytes.fromhex(after["proof"]))
    assert after["export"] == {"ok": False, "error": "InvalidAccessError"}
    assert after["refused"] == [{"ok": False, "error": "MalformedError"}] * 4


def test_signature_over_s_plus_l_is_refused_for_fresh_browser_keys(page: Any) -> None:
    got = run(page, """
        const k = await C.generateDeviceKeys(), msg = new TextEncoder().encode("m");
        const sig = await C.deviceSign(k, msg);
        return { pub: hex(k.signPub), sig: hex(sig), ok: await C.verifyStrict(k.signPub, msg, sig) };""")
    pub, sig = bytes.fromhex(got["pub"]), bytes.fromhex(got["sig"])
    s_plus_l = sig[:32] + (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
    assert got["ok"] and verify_strict(pub, b"m", sig) and not verify_strict(pub, b"m", s_plus_l)
    assert run(page, "return C.verifyStrict(unhex(arg.pub), new TextEncoder().encode('m'), unhex(arg.sig));",
               {"pub": pub.hex(), "sig": s_plus_l.hex()}) is False


def test_address_key_wrap_is_byte_identical_to_python_and_unwraps_with_the_unit_key(page: Any) -> None:
    from crypto.keys import generate_x25519
    from crypto.wrap import address_key_info, unwrap_address_key, wrap_address_key

    unit_priv, unit_pub = generate_x25519()
    addr_priv, addr_pub = generate_x25519()
    ikm_e = secrets.token_bytes(32)
    staff = DeviceKeys.generate()
    py = wrap_address_key(addr_priv, "bou.kommun", 3, unit_pub, ikm_e=ikm_e)
    got = run(page, """
        const unitKey = await C.importX25519Private(unhex(arg.unitPriv));
        const wrapped = await C.wrapAddressKey(unhex(arg.addrPriv), "bou.kommun", 3, unhex(arg.unitPub), unhex(arg.ikm));
        const fresh = await C.wrapAddressKey(unhex(arg.addrPriv), "bou.kommun", 3, unhex(arg.unitPub));
        const key = await C.unwrapAddressKey(unitKey, "bou.kommun", 3, arg.pyJson, unhex(arg.addrPub));
        return {
          info: hex(C.addressKeyInfo("bou.kommun", 3)), enc: hex(wrapped.enc), ct: hex(wrapped.ct),
          fresh: C.wrappedToJson(fresh), pub: hex(await C.x25519PublicKey(key)), extractable: key.extractable,
          signed: hex(C.wrapSigningBytes("address", "bou.kommun", 3, "unit:2", wrapped)),
          wrongPub: await outcome(() => C.unwrapAddressKey(unitKey, "bou.kommun", 3, arg.pyJson, unhex(arg.unitPub))),
          wrongVersion: await outcome(() => C.unwrapAddressKey(unitKey, "bou.kommun", 4, arg.pyJson, unhex(arg.addrPub))),
          deviceRecipient: await outcome(() => C.wrapSigningBytes("address", "bou.kommun", 3, arg.deviceId, wrapped)),
        };""", {"unitPriv": unit_priv.hex(), "unitPub": unit_pub.hex(), "addrPriv": addr_priv.hex(),
                "addrPub": addr_pub.hex(), "ikm": ikm_e.hex(), "pyJson": py.to_json(),
                "deviceId": staff.public.device_id})
    assert got["info"] == address_key_info("bou.kommun", 3).hex()
    assert (got["enc"], got["ct"]) == (py.enc.hex(), py.ct.hex())
    assert got["signed"] == wrap_signing_bytes_hex("address", "bou.kommun", 3, "unit:2", py)
    assert unwrap_address_key(unit_priv, "bou.kommun", 3, WrappedKey.from_json(got["fresh"]), addr_pub) == addr_priv
    assert (got["pub"], got["extractable"]) == (addr_pub.hex(), False)
    assert got["wrongPub"] == {"ok": False, "error": "CryptoError"}
    assert got["wrongVersion"] == {"ok": False, "error": "DecryptionError"}
    assert got["deviceRecipient"] == {"ok": False, "error": "MalformedError"}


def wrap_signing_bytes_hex(*args: Any) -> str:
    from crypto.wrap import wrap_signing_bytes

    return wrap_signing_bytes(*args).hex()  # type: ignore[arg-type]


def test_exchange_jwe_made_by_joserfc_decrypts_in_the_browser_x25519_and_p256(page: Any) -> None:
    from chat.exchange import jose

    cases = []
    for curve in ("X25519", "P-256"):
        key = jose.generate(curve)
        private = key.as_dict(private=True)
        kid = key.thumbprint()
        plaintext = json.dumps({"child": {"name": "Alva Å"}, "immediate_danger": True}, ensure_ascii=False)
        token = jose.encrypt(plaintext.encode("utf-8"), jose.import_public(jose.public_jwk(key)), kid)
        other = jose.encrypt(b"{}", jose.import_public(jose.public_jwk(jose.generate(curve))), kid)
        parts = token.split(".")
        tampered = ".".join([*parts[:3], parts[3][:-2] + ("AA" if parts[3][-2:] != "AA" else "BA"), parts[4]])
        cases.append({"curve": curve, "jwk": private, "token": token, "other": other, "tampered": tampered,
                      "plaintext": plaintext, "sha": jose.sha256_b64u(token)})
    got = run(page, """
        const out = [];
        for (const c of arg) {
          const key = c.curve === "X25519" ? await C.importX25519Private(C.unb64u(c.jwk.d))
                                           : await C.importP256Private(c.jwk);
          const { header, plaintext } = await C.decryptJwe(c.token, key);
          out.push({
            text: new TextDecoder().decode(plaintext), alg: header.alg, enc: header.enc,
            sha: await C.sha256B64u(c.token),
            other: await outcome(() => C.decryptJwe(c.other, key)),
            tampered: await outcome(() => C.decryptJwe(c.tampered, key)),
            notJwe: await outcome(() => C.decryptJwe("a.b.c", key)),
          });
        }
        return out;""", cases)
    for case, g in zip(cases, got):
        assert g["text"] == case["plaintext"]
        assert (g["alg"], g["enc"], g["sha"]) == ("ECDH-ES+A256KW", "A256GCM", case["sha"])
        assert g["other"] == {"ok": False, "error": "DecryptionError"}
        assert g["tampered"]["ok"] is False
        assert g["notJwe"] == {"ok": False, "error": "MalformedError"}


def test_exchange_jws_made_by_joserfc_verifies_in_the_browser_eddsa_es256_ps256(page: Any) -> None:
    from chat.exchange import jose

    cases = []
    for alg in ("EdDSA", "ES256", "PS256"):
        key, other = jose.generate(alg), jose.generate(alg)
        token = jose.sign({"id": "m-12345678", "to": "bou"}, key, key.thumbprint(), "exchange-envelope+json", alg)
        cases.append({"token": token, "jwk": jose.public_jwk(key), "other": jose.public_jwk(other)})
    got = run(page, """
        const out = [];
        for (const c of arg) {
          const [h, p, s] = c.token.split(".");
          const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
          out.push([await C.verifyJws(c.token, c.jwk, "exchange-envelope+json"),
                    await C.verifyJws(c.token, c.jwk, "exchange-receipt+json"),
                    await C.verifyJws(c.token, c.other), await C.verifyJws(flipped, c.jwk)]);
        }
        return out;""", cases)
    for good, wrong_typ, other_key, flipped in got:
        assert good == {"id": "m-12345678", "to": "bou"}
        assert (wrong_typ, other_key, flipped) == (None, None, None)


# ------------------------------------------------------------------------------------------ sealed records


def test_sealed_records_and_grants_are_byte_identical_to_python_and_open_both_ways(page: Any) -> None:
    from crypto.keys import generate_x25519
    from crypto.record import (
        RecordHeader,
        grant_to_case,
        grant_to_key,
        new_record_id,
        new_record_key,
        open_case_grant,
        open_key_grant,
        open_record,
        parse_record,
        seal_record,
        sign_grant,
        verify_grant,
        verify_record,
    )
    from crypto.wrap import new_case_key

    author = DeviceKeys.generate()
    unit_priv, unit_pub = generate_x25519()
    key, case_key, nonce, ikm_e = new_record_key(), new_case_key(), secrets.token_bytes(12), secrets.token_bytes(32)
    header = RecordHeader("journal.entry", new_record_id(), "ekonomiskt-bistånd", "eb-2026-0001",
                          author.public.device_id, 1_790_000_000_123)
    body = {"text": "Hembesök, åäö och 🙂", "type": "journal.entry"}
    py_record = seal_record(key, header, body, author, nonce=nonce)
    py_unit_grant = grant_to_key(key, header.record_id, unit_pub, ikm_e=ikm_e)
    py_case_grant = grant_to_case(key, header.record_id, header.case_id, 2, case_key, nonce=nonce)
    got = run(page, """
        const author = await C.importDeviceKeysForTest(unhex(arg.seed), unhex(arg.kem));
        const unitKey = await C.importX25519Private(unhex(arg.unitPriv));
        const caseKey = await C.importCaseKeyForTest(unhex(arg.caseKey));
        const h = arg.header;
        const rec = await C.sealRecord(unhex(arg.key), h, arg.body, author, unhex(arg.nonce));
        const parsed = C.parseRecord(unhex(arg.pyRecord));
        const unitGrant = await C.grantToKey(unhex(arg.key), h.record_id, unhex(arg.unitPub), unhex(arg.ikm));
        const caseGrant = await C.grantToCase(unhex(arg.key), h.record_id, h.case_id, 2, caseKey, unhex(arg.nonce));
        const fromUnit = await C.openKeyGrant(unitKey, h.record_id, unhex(arg.pyUnitGrant));
        const fromCase = await C.openCaseGrant(caseKey, h.record_id, h.case_id, 2, unhex(arg.pyCaseGrant));
        const freshKey = C.newRecordKey();
        const freshId = C.newRecordId();
        const fresh = await C.sealRecord(freshKey, { ...h, record_id: freshId, case_id: "" }, { a: 1 }, author);
        const freshGrant = await C.grantToKey(freshKey, freshId, unhex(arg.unitPub));
        const tampered = unhex(arg.pyRecord); tampered[tampered.length - 70] ^= 1;
        return {
          record: hex(rec), header: parsed.header, verifies: await C.verifyRecord(parsed, author),
          body: await C.openRecord(fromUnit, parsed), bodyViaCase: await C.openRecord(fromCase, parsed),
          unitGrant: hex(unitGrant), caseGrant: hex(caseGrant),
          grantSig: hex(await C.signGrant(author, h.record_id, "case:2", caseGrant)),
          pyGrantSigOk: await C.verifyGrant(author, unhex(arg.pySig), h.record_id, "case:2", unhex(arg.pyCaseGrant)),
          pyGrantSigWrongRecipient: await C.verifyGrant(author, unhex(arg.pySig), h.record_id, "case:3", unhex(arg.pyCaseGrant)),
          tamperedVerifies: await C.verifyRecord(C.parseRecord(tampered), author),
          wrongEpoch: await outcome(() => C.openCaseGrant(caseKey, h.record_id, h.case_id, 3, unhex(arg.pyCaseGrant))),
          trailing: await outcome(async () => C.parseRecord(new Uint8Array([...unhex(arg.pyRecord), 0]))),
          badRecipient: await outcome(async () => C.grantRecipientKind("unit:01")),
          fresh: hex(fresh), freshGrant: hex(freshGrant), freshId,
        };""", {"seed": author.sign_seed.hex(), "kem": author.kem_priv.hex(), "unitPriv": unit_priv.hex(),
                "unitPub": unit_pub.hex(), "caseKey": case_key.hex(), "key": key.hex(), "nonce": nonce.hex(),
                "ikm": ikm_e.hex(), "header": dataclasses_asdict(header), "body": body,
                "pyRecord": py_record.hex(), "pyUnitGrant": py_unit_grant.hex(), "pyCaseGrant": py_case_grant.hex(),
                "pySig": sign_grant(author, header.record_id, "case:2", py_case_grant).hex()})
    assert got["record"] == py_record.hex()  # Ed25519 is deterministic, so equal inputs give equal bytes
    assert got["header"] == dataclasses_asdict(header)
    assert got["verifies"] and got["body"] == body and got["bodyViaCase"] == body
    assert (got["unitGrant"], got["caseGrant"]) == (py_unit_grant.hex(), py_case_grant.hex())
    assert verify_grant(author.public, bytes.fromhex(got["grantSig"]), header.record_id, "case:2", py_case_grant)
    assert got["pyGrantSigOk"] and not got["pyGrantSigWrongRecipient"] and not got["tamperedVerifies"]
    assert got["wrongEpoch"] == {"ok": False, "error": "DecryptionError"}
    assert got["trailing"] == {"ok": False, "error": "MalformedError"}
    assert got["badRecipient"] == {"ok": False, "error": "MalformedError"}
    fresh = parse_record(bytes.fromhex(got["fresh"]))  # and a browser-made record opens in Python
    assert verify_record(fresh, author.public.sign_pub)
    fresh_key = open_key_grant(unit_priv, got["freshId"], bytes.fromhex(got["freshGrant"]))
    assert open_record(fresh_key, fresh) == {"a": 1} and fresh.header.case_id == ""
    assert open_case_grant(case_key, header.record_id, header.case_id, 2, py_case_grant) == key


def dataclasses_asdict(obj: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(obj)


def test_address_signing_key_wrap_is_byte_identical_and_the_browser_signs_what_joserfc_signs(page: Any) -> None:
    from chat.exchange import jose
    from crypto.keys import generate_x25519
    from crypto.sign import ed25519_public
    from crypto.wrap import address_sign_key_info, unwrap_address_sign_key, wrap_address_sign_key

    unit_priv, unit_pub = generate_x25519()
    seed, ikm_e = secrets.token_bytes(32), secrets.token_bytes(32)
    pub = ed25519_public(seed)
    py = wrap_address_sign_key(seed, "bou.kommun", 2, unit_pub, ikm_e=ikm_e)
    key = jose.import_key({"kty": "OKP", "crv": "Ed25519", "x": b64u(pub), "d": b64u(seed)})
    envelope = {"id": "m-12345678", "label": "Svar på begäran, åäö", "to": "polisen", "created": 1767225600}
    got = run(page, """
        const unitKey = await C.importX25519Private(unhex(arg.unitPriv));
        const wrapped = await C.wrapAddressSignKey(unhex(arg.seed), "bou.kommun", 2, unhex(arg.unitPub),
          unhex(arg.ikm));
        const fresh = await C.wrapAddressSignKey(unhex(arg.seed), "bou.kommun", 2, unhex(arg.unitPub));
        const key = await C.unwrapAddressSignKey(unitKey, "bou.kommun", 2, arg.pyJson, unhex(arg.pub));
        const raw = await C.openAddressKeyWrap(unitKey, "address-sign", "bou.kommun", 2, arg.pyJson, unhex(arg.pub));
        return {
          info: hex(C.addressSignKeyInfo("bou.kommun", 2)), enc: hex(wrapped.enc), ct: hex(wrapped.ct),
          fresh: C.wrappedToJson(fresh), extractable: key.extractable, raw: hex(raw),
          jws: await C.signJws(arg.envelope, key, "KID", "exchange-envelope+json"),
          signed: hex(C.wrapSigningBytes("address-sign", "bou.kommun", 2, "unit:5", wrapped)),
          wrongPub: await outcome(() => C.unwrapAddressSignKey(unitKey, "bou.kommun", 2, arg.pyJson,
            unhex(arg.unitPub))),
          asDecryptionKey: await outcome(() => C.unwrapAddressKey(unitKey, "bou.kommun", 2, arg.pyJson,
            unhex(arg.pub))),
        };""", {"unitPriv": unit_priv.hex(), "unitPub": unit_pub.hex(), "seed": seed.hex(), "pub": pub.hex(),
                "ikm": ikm_e.hex(), "pyJson": py.to_json(), "envelope": envelope})
    assert got["info"] == address_sign_key_info("bou.kommun", 2).hex()
    assert (got["enc"], got["ct"]) == (py.enc.hex(), py.ct.hex())
    assert got["signed"] == wrap_signing_bytes_hex("address-sign", "bou.kommun", 2, "unit:5", py)
    assert unwrap_address_sign_key(unit_priv, "bou.kommun", 2, WrappedKey.from_json(got["fresh"]), pub) == seed
    assert (got["extractable"], got["raw"]) == (False, seed.hex())
    # Ed25519 is deterministic and the header and payload bytes are the same: the very same token.
    assert got["jws"] == jose.sign(envelope, key, "KID", "exchange-envelope+json", "EdDSA")
    assert got["wrongPub"] == {"ok": False, "error": "CryptoError"}
    assert got["asDecryptionKey"] == {"ok": False, "error": "DecryptionError"}


def test_browser_signed_es256_verifies_with_joserfc(page: Any) -> None:
    from chat.exchange import jose

    got = run(page, """
        const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
        const token = await C.signJws({ to: "fk", n: 1 }, pair.privateKey, "K", "exchange-envelope+json");
        const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
        return { token, jwk: { kty, crv, x, y },
                 publicKey: await outcome(() => C.signJws({}, pair.publicKey, "K", "t")) };""")
    assert jose.verify(got["token"], jose.import_public(got["jwk"]), "exchange-envelope+json") == {"to": "fk", "n": 1}
    assert got["publicKey"] == {"ok": False, "error": "CryptoError"}


def test_exchange_jwe_made_in_the_browser_decrypts_with_joserfc_x25519_and_p256(page: Any) -> None:
    from chat.exchange import jose

    keys = [jose.generate(curve) for curve in ("X25519", "P-256")]
    publics = [jose.public_jwk(k, use="enc") for k in keys]
    document = {"answer": "Uppgifterna lämnas ut: åäö 😀", "disclosed": True}
    got = run(page, """
        const out = [];
        for (const jwk of arg.publics) {
          const token = await C.encryptJwe(C.encodeBody(arg.document), jwk);
          out.push({ token, header: C.jweHeader(token), sha: await C.sha256B64u(token) });
        }
        const smallOrder = { kty: "OKP", crv: "X25519", x: C.b64u(new Uint8Array(32)), kid: "k" };
        return { out, smallOrder: await outcome(() => C.encryptJwe(new Uint8Array(1), smallOrder)),
                 signingKey: await outcome(() => C.encryptJwe(new Uint8Array(1), { kty: "OKP", crv: "Ed25519",
                   x: arg.publics[0].x, kid: "k" })) };""", {"publics": publics, "document": document})
    for key, public, made in zip(keys, publics, got["out"]):
        assert jose.check_jwe_for(made["token"], public) is None  # what the endpoint checks before storing
        assert json.loads(jose.decrypt(made["token"], key)) == document
        assert made["sha"] == jose.sha256_b64u(made["token"])
        assert {k: made["header"][k] for k in ("alg", "enc", "kid", "cty")} == {
            "alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": public["kid"], "cty": "json"}
        assert "d" not in made["header"]["epk"]
    assert got["smallOrder"] == {"ok": False, "error": "MalformedError"}
    assert got["signingKey"] == {"ok": False, "error": "MalformedError"}


def test_nodes_jose_verifies_and_decrypts_a_document_made_in_the_browser(page: Any, tmp_path: Path) -> None:
    """An agency with another JOSE implementation (panva's jose in Node) opens what a caseworker's browser
    sends: the EdDSA envelope verifies with the address's public key, the JWE decrypts with X25519 and P-256."""
    from chat.exchange import jose
    from crypto.sign import ed25519_public
    from tests.helpers import node_jose

    seed = secrets.token_bytes(32)
    sign_jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(ed25519_public(seed)), "alg": "EdDSA"}
    document = {"person": {"name": "Dana Karlsson"}, "questions": "Finns anmälningar om våld i hemmet?",
                "legal_basis": "OSL 10 kap. 18 §"}
    for curve in ("X25519", "P-256"):
        enc_key = jose.generate(curve)
        enc_public = jose.public_jwk(enc_key, use="enc")
        made = run(page, """
            const seed = unhex(arg.seed);
            const key = await crypto.subtle.importKey("pkcs8", new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30,
              0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, ...seed]), { name: "Ed25519" }, false,
              ["sign"]);
            const content = await C.encryptJwe(C.encodeBody(arg.document), arg.enc);
            const envelope = await C.signJws({ id: "m-abcdefgh", type: "begaran-om-uppgifter/v1", from: "bou.kommun",
              to: "polisen", content_sha256: await C.sha256B64u(content) }, key, "sig-kid", "exchange-envelope+json");
            return { envelope, content };""", {"seed": seed.hex(), "enc": enc_public, "document": document})
        (tmp_path / "in.json").write_text(json.dumps({**made, "sign_jwk": sign_jwk, "enc_jwk": {
            **enc_key.as_dict(private=True), "kid": enc_public["kid"]}}))
        opened = node_jose("open.mjs", str(tmp_path / "in.json"))
        assert opened.returncode == 0, opened.stderr
        result = json.loads(opened.stdout)
        assert result["document"] == document
        assert result["envelope"]["to"] == "polisen"
        assert result["header"] == {"alg": "EdDSA", "kid": "sig-kid", "typ": "exchange-envelope+json"}
