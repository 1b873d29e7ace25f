"""Device keys: ids, safety numbers, JSON forms, validation of published keys, registration proofs."""
import hashlib

import pytest

from crypto.encoding import b64u
from crypto.errors import MalformedError
from crypto.keys import (
    DeviceKeys,
    DevicePublicKeys,
    generate_x25519,
    registration_proof,
    verify_registration_proof,
    x25519_public,
)

KEYS = DeviceKeys.from_private(hashlib.sha256(b"seed").digest(), hashlib.sha256(b"kem").digest())
P = 2**255 - 19


def test_device_id_is_22_chars_of_the_labelled_hash_of_both_keys() -> None:
    pub = KEYS.public
    digest = hashlib.sha256(b"samtal/device-id/v1" + pub.sign_pub + pub.kem_pub).digest()
    assert pub.device_id == b64u(digest[:16])
    assert len(pub.device_id) == 22


def test_fingerprint_is_six_groups_of_five_digits_from_the_labelled_hash() -> None:
    pub = KEYS.public
    digest = hashlib.sha256(b"samtal/fingerprint/v1" + pub.sign_pub + pub.kem_pub).digest()
    groups = pub.fingerprint().split(" ")
    assert len(groups) == 6 and all(len(g) == 5 and g.isdigit() for g in groups)
    assert int(groups[0]) == int.from_bytes(digest[:5], "big") % 100000
    assert int(groups[5]) == int.from_bytes(digest[25:30], "big") % 100000


def test_public_keys_json_round_trips() -> None:
    pub = KEYS.public
    assert DevicePublicKeys.from_json(pub.to_json()) == pub


def test_private_json_round_trips_to_the_same_device() -> None:
    again = DeviceKeys.from_private_json(KEYS.to_private_json())
    assert again.public == KEYS.public
    assert again.sign_seed == KEYS.sign_seed and again.kem_priv == KEYS.kem_priv


def test_repr_of_device_keys_does_not_contain_private_key_material() -> None:
    text = repr(KEYS) + str(KEYS)
    for secret in (KEYS.sign_seed, KEYS.kem_priv):
        assert b64u(secret) not in text and secret.hex() not in text
    assert KEYS.public.device_id in text


@pytest.mark.parametrize(
    "field, value",
    [
        ("sign_pub", b64u(bytes([1]) + bytes(31))),  # Ed25519 identity: small order
        ("sign_pub", b64u((P + 1).to_bytes(32, "little"))),  # non-canonical identity
        ("sign_pub", b64u(bytes(31))),  # 31 bytes
        ("kem_pub", b64u(bytes(32))),  # all-zero X25519 key
        ("kem_pub", b64u((1).to_bytes(32, "little"))),  # small order
        ("kem_pub", b64u(bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"))),
        ("kem_pub", b64u((P).to_bytes(32, "little"))),  # non-canonical zero
        ("kem_pub", "not base64url!"),
        ("kem_pub", 42),
    ],
)
def test_from_json_rejects_small_order_noncanonical_or_malformed_keys(field: str, value: object) -> None:
    d: dict[str, object] = dict(KEYS.public.to_json())
    d[field] = value
    with pytest.raises(MalformedError):
        DevicePublicKeys.from_json(d)


def test_from_private_json_rejects_wrong_lengths() -> None:
    d = KEYS.to_private_json()
    d["kem_priv"] = b64u(bytes(16))
    with pytest.raises(MalformedError):
        DeviceKeys.from_private_json(d)


def test_generated_devices_differ_and_x25519_pairs_match() -> None:
    assert DeviceKeys.generate().public != DeviceKeys.generate().public
    priv, pub = generate_x25519()
    assert x25519_public(priv) == pub


def test_registration_proof_binds_user_and_both_keys() -> None:
    proof = registration_proof(KEYS, "handläggare-1")
    assert verify_registration_proof(KEYS.public, "handläggare-1", proof)
    assert not verify_registration_proof(KEYS.public, "handläggare-2", proof)
    other = DeviceKeys.generate().public
    swapped_kem = DevicePublicKeys(KEYS.public.sign_pub, other.kem_pub)
    assert not verify_registration_proof(swapped_kem, "handläggare-1", proof)


def test_registration_proof_verification_returns_false_for_unencodable_user_id() -> None:
    assert not verify_registration_proof(KEYS.public, "\ud800", bytes(64))
