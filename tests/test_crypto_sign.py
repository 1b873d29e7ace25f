"""Strict Ed25519: Wycheproof verdicts, small-order keys, malleated signatures and non-canonical points."""
import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest

from crypto.sign import L, ed25519_public, is_small_order_or_noncanonical, sign, verify_strict

VECTORS = Path(__file__).parent / "vectors"
SEED = hashlib.sha256(b"test signer").digest()
IDENTITY = bytes([1]) + bytes(31)

# All 14 encodings of the eight small-order points: eight canonical ones, then the non-canonical
# ones (x = 0 with the sign bit set, and y = p, y = p + 1 with either sign bit).
SMALL_ORDER_ENCODINGS = [
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity, order 1
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
    "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
    "0100000000000000000000000000000000000000000000000000000000000080",  # identity, "negative zero" x
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  # order 2, "negative zero" x
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p (= 0)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p + 1 (= 1)
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
]


def _wycheproof_ed25519() -> list[tuple[int, str, list[str], bytes, bytes, bytes]]:
    doc = json.loads((VECTORS / "wycheproof_ed25519.json").read_text())
    return [
        (t["tcId"], t["result"], t["flags"], bytes.fromhex(g["publicKey"]["pk"]), bytes.fromhex(t["msg"]),
         bytes.fromhex(t["sig"]))
        for g in doc["testGroups"]
        for t in g["tests"]
    ]


def _forgery_message(public_key: bytes) -> bytes:
    """A message for which R = identity, S = 0 satisfies [S]B = R + [k]A for any A of order dividing 8."""
    for i in range(1000):
        msg = b"forged %d" % i
        k = int.from_bytes(hashlib.sha512(IDENTITY + public_key + msg).digest(), "little") % L
        if k % 8 == 0:
            return msg
    raise AssertionError("no message found")


def _clamped_scalar(seed: bytes) -> int:
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little")


@pytest.mark.parametrize("case", _wycheproof_ed25519(), ids=lambda c: f"tc{c[0]}")
def test_verify_strict_gives_the_wycheproof_verdict(case: tuple[Any, ...]) -> None:
    tc_id, result, flags, pk, msg, sig = case
    got = verify_strict(pk, msg, sig)
    if result == "valid":
        assert got is True
    elif result == "invalid":
        assert got is False
    elif "SmallOrderPublicKey" in flags:
        # "acceptable": we reject, on purpose; a small-order key "signs" messages for anyone.
        assert got is False
    else:
        # "acceptable" MixedOrderPublicKey: accepted when the cofactorless equation holds, as libsodium
        # and WebCrypto do. Pinned here so a change of behaviour is a visible decision.
        assert flags == ["MixedOrderPublicKey"] and got is True


def test_sign_then_verify_strict_round_trips() -> None:
    pk = ed25519_public(SEED)
    sig = sign(SEED, b"hej")
    assert len(sig) == 64
    assert verify_strict(pk, b"hej", sig)
    assert not verify_strict(pk, b"hej!", sig)


@pytest.mark.parametrize("encoding", SMALL_ORDER_ENCODINGS)
def test_every_small_order_encoding_really_has_small_order(encoding: str) -> None:
    # Independent of our blocklist: 8 * P computed by libsodium is the identity.
    point = bytes.fromhex(encoding)
    for _ in range(3):
        point = nacl.bindings.crypto_core_ed25519_add(point, point)
    assert point == IDENTITY


@pytest.mark.parametrize("encoding", SMALL_ORDER_ENCODINGS)
def test_verify_strict_rejects_forgery_under_small_order_public_key(encoding: str) -> None:
    pk = bytes.fromhex(encoding)
    msg = _forgery_message(pk)
    assert is_small_order_or_noncanonical(pk)
    assert not verify_strict(pk, msg, IDENTITY + bytes(32))


def test_verify_strict_rejects_s_plus_l_malleated_signature() -> None:
    sig = sign(SEED, b"message")
    s = int.from_bytes(sig[32:], "little")
    malleated = sig[:32] + (s + L).to_bytes(32, "little")
    assert verify_strict(ed25519_public(SEED), b"message", sig)
    assert not verify_strict(ed25519_public(SEED), b"message", malleated)


def test_verify_strict_rejects_signature_with_small_order_r_made_by_the_key_holder() -> None:
    # With R = identity the key holder can solve [S]B = [k]A for S; the equation holds, R is small order.
    pk, msg = ed25519_public(SEED), b"identity R"
    k = int.from_bytes(hashlib.sha512(IDENTITY + pk + msg).digest(), "little") % L
    s = k * _clamped_scalar(SEED) % L
    assert not verify_strict(pk, msg, IDENTITY + s.to_bytes(32, "little"))


def test_noncanonical_public_key_encoding_is_rejected_even_for_a_real_point() -> None:
    # y = p + 2 is y = 2 spelled with y >= p: a second name for whatever point y = 2 is.
    y = 2**255 - 19 + 2
    assert is_small_order_or_noncanonical(y.to_bytes(32, "little"))
    assert not is_small_order_or_noncanonical(ed25519_public(SEED))


@pytest.mark.parametrize(
    "pk, msg, sig",
    [
        (b"\x00" * 31, b"m", b"\x00" * 64),
        (ed25519_public(SEED), b"m", sign(SEED, b"m")[:63]),
        (ed25519_public(SEED), b"m", sign(SEED, b"m") + b"\x00"),
        ("not bytes", b"m", sign(SEED, b"m")),
        (ed25519_public(SEED), None, sign(SEED, b"m")),
    ],
)
def test_verify_strict_returns_false_instead_of_raising_for_wrong_input(pk: Any, msg: Any, sig: Any) -> None:
    assert verify_strict(pk, msg, sig) is False
