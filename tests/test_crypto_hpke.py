"""HPKE (RFC 9180) for our suite: every RFC vector step, Wycheproof X25519, interop with `cryptography`."""
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke as crypto_hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto import hpke
from crypto.errors import CryptoError, DecryptionError

VECTORS = Path(__file__).parent / "vectors"
RFC = json.loads((VECTORS / "rfc9180_base_x25519_sha256_aes256gcm.json").read_text())
SUITE = crypto_hpke.Suite(crypto_hpke.KEM.X25519, crypto_hpke.KDF.HKDF_SHA256, crypto_hpke.AEAD.AES_256_GCM)


def _h(entry: dict[str, Any], name: str) -> bytes:
    return bytes.fromhex(entry[name])


def test_rfc_file_holds_only_our_suite_in_base_mode() -> None:
    assert RFC and all((e["mode"], e["kem_id"], e["kdf_id"], e["aead_id"]) == (0, 32, 1, 2) for e in RFC)


@pytest.mark.parametrize("v", RFC)
def test_rfc9180_derive_key_pair_and_encap_match(v: dict[str, Any]) -> None:
    assert hpke.derive_key_pair(_h(v, "ikmR")) == (_h(v, "skRm"), _h(v, "pkRm"))
    assert hpke.derive_key_pair(_h(v, "ikmE")) == (_h(v, "skEm"), _h(v, "pkEm"))
    shared_secret, enc = hpke.encap(_h(v, "pkRm"), _h(v, "ikmE"))
    assert (shared_secret, enc) == (_h(v, "shared_secret"), _h(v, "enc"))
    assert hpke.decap(enc, _h(v, "skRm")) == _h(v, "shared_secret")


@pytest.mark.parametrize("v", RFC)
def test_rfc9180_key_schedule_matches(v: dict[str, Any]) -> None:
    ctx = hpke.key_schedule(_h(v, "shared_secret"), _h(v, "info"))
    assert ctx.key_schedule_context == _h(v, "key_schedule_context")
    assert ctx.key == _h(v, "key")
    assert ctx.base_nonce == _h(v, "base_nonce")
    assert ctx.exporter_secret == _h(v, "exporter_secret")


@pytest.mark.parametrize("v", RFC)
def test_rfc9180_every_encryption_in_sequence_matches_for_sender_and_receiver(v: dict[str, Any]) -> None:
    enc, sender = hpke.setup_base_sender(_h(v, "pkRm"), _h(v, "info"), ikm_e=_h(v, "ikmE"))
    receiver = hpke.setup_base_receiver(enc, _h(v, "skRm"), _h(v, "info"))
    for e in v["encryptions"]:
        ct = sender.seal(bytes.fromhex(e["aad"]), bytes.fromhex(e["pt"]))
        assert ct == bytes.fromhex(e["ct"])
        assert receiver.open(bytes.fromhex(e["aad"]), ct) == bytes.fromhex(e["pt"])
    assert sender.seq == receiver.seq == len(v["encryptions"])


@pytest.mark.parametrize("v", RFC)
def test_rfc9180_exports_match(v: dict[str, Any]) -> None:
    ctx = hpke.setup_base_receiver(_h(v, "enc"), _h(v, "skRm"), _h(v, "info"))
    for x in v["exports"]:
        assert ctx.export(bytes.fromhex(x["exporter_context"]), x["L"]) == bytes.fromhex(x["exported_value"])


def test_failed_open_does_not_advance_the_sequence_number() -> None:
    v = RFC[0]
    ctx = hpke.setup_base_receiver(_h(v, "enc"), _h(v, "skRm"), _h(v, "info"))
    first = v["encryptions"][0]
    with pytest.raises(DecryptionError):
        ctx.open(b"wrong aad", bytes.fromhex(first["ct"]))
    assert ctx.seq == 0
    assert ctx.open(bytes.fromhex(first["aad"]), bytes.fromhex(first["ct"])) == bytes.fromhex(first["pt"])


def _wycheproof_x25519() -> list[dict[str, Any]]:
    doc = json.loads((VECTORS / "wycheproof_x25519.json").read_text())
    return [t for g in doc["testGroups"] for t in g["tests"]]


@pytest.mark.parametrize("t", _wycheproof_x25519(), ids=lambda t: f"tc{t['tcId']}")
def test_wycheproof_x25519_shared_secret_or_rejection_of_all_zero(t: dict[str, Any]) -> None:
    private, public, shared = (bytes.fromhex(t[k]) for k in ("private", "public", "shared"))
    if shared == bytes(32):
        # Small-order peer keys ("acceptable" in Wycheproof): HPKE must refuse them (RFC 9180 7.1.4).
        with pytest.raises(CryptoError):
            hpke.dh(private, public)
    else:
        # Valid, and acceptable twist / non-canonical keys with a non-zero result: same value as RFC 7748.
        assert t["result"] in ("valid", "acceptable")
        assert hpke.dh(private, public) == shared


def test_seal_to_small_order_key_is_refused_and_small_order_enc_fails_to_open() -> None:
    with pytest.raises(CryptoError):
        hpke.seal(bytes(32), b"info", b"", b"pt")
    sk, _ = hpke.derive_key_pair(bytes(32))
    with pytest.raises(DecryptionError):
        hpke.open(sk, bytes(32), b"info", b"", bytes(48))


def test_ours_opens_what_cryptography_hpke_suite_sealed() -> None:
    sk = X25519PrivateKey.generate()
    sk_raw = sk.private_bytes_raw()
    sealed = SUITE.encrypt(b"unit key bytes", sk.public_key(), info=b"samtal info")
    enc, ct = sealed[: hpke.N_ENC], sealed[hpke.N_ENC :]
    assert hpke.open(sk_raw, enc, b"samtal info", b"", ct) == b"unit key bytes"


def test_cryptography_hpke_suite_opens_what_ours_sealed() -> None:
    sk = X25519PrivateKey.generate()
    enc, ct = hpke.seal(sk.public_key().public_bytes_raw(), b"samtal info", b"", b"case key bytes")
    assert SUITE.decrypt(enc + ct, sk, info=b"samtal info") == b"case key bytes"


def test_single_shot_seal_and_open_go_through_cryptography_not_our_key_schedule(monkeypatch: Any) -> None:
    """What the product uses (empty aad, a fresh ephemeral key) is cryptography's HPKE; our steps are the oracle."""
    sk = X25519PrivateKey.generate()
    pk, sk_raw = sk.public_key().public_bytes_raw(), sk.private_bytes_raw()
    enc, ct = hpke.seal(pk, b"samtal info", b"", b"case key bytes")
    # Our step-by-step receiver opens what cryptography sealed: the two agree byte for byte.
    assert hpke.setup_base_receiver(enc, sk_raw, b"samtal info").open(b"", ct) == b"case key bytes"
    oracle_enc, oracle_sender = hpke.setup_base_sender(pk, b"samtal info")
    oracle_ct = oracle_sender.seal(b"", b"unit key bytes")

    def unused(*_: object) -> None:
        raise AssertionError("the single-shot calls must not use our key schedule")
    monkeypatch.setattr(hpke, "key_schedule", unused)
    assert hpke.open(sk_raw, oracle_enc, b"samtal info", b"", oracle_ct) == b"unit key bytes"
    enc, ct = hpke.seal(pk, b"samtal info", b"", b"again")
    assert SUITE.decrypt(enc + ct, sk, info=b"samtal info") == b"again"


@pytest.mark.parametrize("v", RFC)
def test_cryptography_opens_a_seal_of_our_steps_with_the_rfc_keys(v: dict[str, Any]) -> None:
    """The RFC vectors fix the ephemeral key, which cryptography's API cannot: our steps seal with the vector's
    keys (checked against every intermediate value above), cryptography opens, for each vector's info."""
    enc, ct = hpke.seal(_h(v, "pkRm"), _h(v, "info"), b"", b"pt", ikm_e=_h(v, "ikmE"))
    assert enc == _h(v, "enc")
    assert hpke.open(_h(v, "skRm"), enc, _h(v, "info"), b"", ct) == b"pt"
    assert SUITE.decrypt(enc + ct, X25519PrivateKey.from_private_bytes(_h(v, "skRm")), info=_h(v, "info")) == b"pt"


def test_open_with_wrong_info_fails() -> None:
    sk = X25519PrivateKey.generate()
    enc, ct = hpke.seal(sk.public_key().public_bytes_raw(), b"info A", b"", b"secret")
    with pytest.raises(DecryptionError):
        hpke.open(sk.private_bytes_raw(), enc, b"info B", b"", ct)


def test_random_ephemeral_keys_differ_between_seals() -> None:
    pk = hpke.derive_key_pair(bytes(32))[1]
    assert hpke.seal(pk, b"", b"", b"x")[0] != hpke.seal(pk, b"", b"", b"x")[0]


def test_context_repr_does_not_show_the_key() -> None:
    v = RFC[0]
    ctx = hpke.key_schedule(_h(v, "shared_secret"), _h(v, "info"))
    assert v["key"] not in repr(ctx)
