"""Unit and case key wrapping, and the signed records that pin which key a server may hand out."""
import pytest

from crypto.errors import CryptoError, DecryptionError, MalformedError
from crypto.keys import DeviceKeys, generate_x25519
from crypto.sign import ed25519_public
from crypto.wrap import (
    WrappedKey,
    address_key_info,
    address_sign_key_info,
    case_key_info,
    new_case_key,
    open_address_key_wrap,
    sign_unit_epoch,
    sign_wrap,
    unit_key_info,
    unwrap_address_key,
    unwrap_address_sign_key,
    unwrap_case_key,
    unwrap_unit_key,
    verify_unit_epoch,
    verify_wrap,
    wrap_address_key,
    wrap_address_sign_key,
    wrap_case_key,
    wrap_signing_bytes,
    wrap_unit_key,
)

STAFF = DeviceKeys.generate()
CITIZEN = DeviceKeys.generate()
UNIT_PRIV, UNIT_PUB = generate_x25519()


def test_info_strings_are_labelled_length_prefixed_and_epoch_bound() -> None:
    assert unit_key_info("u", 2) == b"samtal/unit-key/v1\x00\x01u\x00\x00\x00\x02"
    assert case_key_info("c", 1) == b"samtal/case-key/v1\x00\x01c\x00\x00\x00\x01"


def test_unit_key_wrap_round_trips_to_the_staff_device() -> None:
    wrapped = wrap_unit_key(UNIT_PRIV, "unit-1", 3, STAFF.public.kem_pub)
    assert unwrap_unit_key(STAFF.kem_priv, "unit-1", 3, wrapped, UNIT_PUB) == UNIT_PRIV


def test_unit_key_unwrap_rejects_a_key_that_is_not_the_expected_unit_pub() -> None:
    # A server can seal any key to a device; the signed unit public key is what makes it the unit's.
    impostor_priv, _ = generate_x25519()
    wrapped = wrap_unit_key(impostor_priv, "unit-1", 3, STAFF.public.kem_pub)
    with pytest.raises(CryptoError):
        unwrap_unit_key(STAFF.kem_priv, "unit-1", 3, wrapped, UNIT_PUB)


@pytest.mark.parametrize("unit_id, epoch", [("unit-2", 3), ("unit-1", 4)])
def test_unit_key_unwrap_with_wrong_unit_or_epoch_fails(unit_id: str, epoch: int) -> None:
    wrapped = wrap_unit_key(UNIT_PRIV, "unit-1", 3, STAFF.public.kem_pub)
    with pytest.raises(DecryptionError):
        unwrap_unit_key(STAFF.kem_priv, unit_id, epoch, wrapped, UNIT_PUB)


def test_case_key_wrap_round_trips_to_citizen_device_and_to_unit_key() -> None:
    key = new_case_key()
    to_citizen = wrap_case_key(key, "case-9", 1, CITIZEN.public.kem_pub)
    to_unit = wrap_case_key(key, "case-9", 1, UNIT_PUB)
    assert unwrap_case_key(CITIZEN.kem_priv, "case-9", 1, to_citizen) == key
    assert unwrap_case_key(UNIT_PRIV, "case-9", 1, to_unit) == key


@pytest.mark.parametrize("case_id, epoch", [("case-8", 1), ("case-9", 2)])
def test_case_key_unwrap_with_wrong_case_or_epoch_fails(case_id: str, epoch: int) -> None:
    wrapped = wrap_case_key(new_case_key(), "case-9", 1, CITIZEN.public.kem_pub)
    with pytest.raises(DecryptionError):
        unwrap_case_key(CITIZEN.kem_priv, case_id, epoch, wrapped)


def test_case_key_unwrap_by_another_device_fails() -> None:
    wrapped = wrap_case_key(new_case_key(), "case-9", 1, CITIZEN.public.kem_pub)
    with pytest.raises(DecryptionError):
        unwrap_case_key(STAFF.kem_priv, "case-9", 1, wrapped)


def test_wrapping_to_a_small_order_key_is_refused() -> None:
    with pytest.raises(MalformedError):
        wrap_case_key(new_case_key(), "case-9", 1, bytes(32))


def test_wrapped_key_json_round_trips_and_rejects_wrong_lengths() -> None:
    wrapped = wrap_case_key(new_case_key(), "case-9", 1, CITIZEN.public.kem_pub)
    assert WrappedKey.from_json(wrapped.to_json()) == wrapped
    with pytest.raises(MalformedError):
        WrappedKey.from_json({"enc": wrapped.to_json()["enc"], "ct": "AAAA"})
    with pytest.raises(MalformedError):
        WrappedKey.from_json({"enc": wrapped.to_json()["enc"]})


def test_wrap_signing_bytes_layout() -> None:
    wrapped = WrappedKey(enc=bytes(range(32)), ct=bytes(48))
    expected = (
        b"samtal/wrap-sig/v1" + b"\x00\x04case" + b"\x00\x01c" + b"\x00\x00\x00\x07" + b"\x00\x06unit:2"
        + b"\x00\x20" + bytes(range(32)) + b"\x00\x30" + bytes(48)
    )
    assert wrap_signing_bytes("case", "c", 7, "unit:2", wrapped) == expected


def test_signed_wrap_record_verifies_and_any_substitution_fails() -> None:
    wrapped = wrap_case_key(new_case_key(), "case-9", 1, CITIZEN.public.kem_pub)
    other = wrap_case_key(new_case_key(), "case-9", 1, CITIZEN.public.kem_pub)
    cid = CITIZEN.public.device_id
    sig = sign_wrap(STAFF, "case", "case-9", 1, cid, wrapped)
    assert verify_wrap(STAFF.public, sig, "case", "case-9", 1, cid, wrapped)
    assert not verify_wrap(STAFF.public, sig, "case", "case-9", 1, cid, other)  # substituted key
    assert not verify_wrap(STAFF.public, sig, "case", "case-9", 2, cid, wrapped)  # other epoch
    assert not verify_wrap(STAFF.public, sig, "case", "case-1", 1, cid, wrapped)  # other case
    assert not verify_wrap(STAFF.public, sig, "case", "case-9", 1, STAFF.public.device_id, wrapped)
    assert not verify_wrap(CITIZEN.public, sig, "case", "case-9", 1, cid, wrapped)  # other signer


@pytest.mark.parametrize(
    "kind, recipient",
    [("unit", "unit:1"), ("case", "unit:01"), ("case", "unit:0"), ("case", "unit:4294967296"),
     ("case", "someone"), ("group", None)],
)
def test_wrap_records_with_malformed_kind_or_recipient_do_not_verify(kind: str, recipient: str | None) -> None:
    wrapped = wrap_case_key(new_case_key(), "case-9", 1, UNIT_PUB)
    recipient = recipient or CITIZEN.public.device_id
    with pytest.raises(MalformedError):
        sign_wrap(STAFF, kind, "case-9", 1, recipient, wrapped)
    assert not verify_wrap(STAFF.public, bytes(64), kind, "case-9", 1, recipient, wrapped)


def test_unit_epoch_signature_binds_unit_epoch_and_public_key() -> None:
    sig = sign_unit_epoch(STAFF, "unit-1", 3, UNIT_PUB)
    assert verify_unit_epoch(STAFF.public, sig, "unit-1", 3, UNIT_PUB)
    assert not verify_unit_epoch(STAFF.public, sig, "unit-1", 4, UNIT_PUB)
    assert not verify_unit_epoch(STAFF.public, sig, "unit-2", 3, UNIT_PUB)
    assert not verify_unit_epoch(STAFF.public, sig, "unit-1", 3, generate_x25519()[1])
    assert not verify_unit_epoch(STAFF.public, sig, "unit-1", 3, b"short")


# -- exchange address keys wrapped to the unit key (docs/exchange.md, Address keys in staff browsers) ----
def test_address_key_info_binds_address_and_key_version() -> None:
    assert address_key_info("bou.kommun", 1) == b"samtal/address-key/v1\x00\x0abou.kommun\x00\x00\x00\x01"


def test_address_key_wrap_round_trips_through_the_unit_key_and_checks_the_public_key() -> None:
    addr_priv, addr_pub = generate_x25519()
    wrapped = wrap_address_key(addr_priv, "bou.kommun", 2, UNIT_PUB)
    assert unwrap_address_key(UNIT_PRIV, "bou.kommun", 2, wrapped, addr_pub) == addr_priv
    for address, version in (("other.kommun", 2), ("bou.kommun", 1)):
        with pytest.raises(DecryptionError):
            unwrap_address_key(UNIT_PRIV, address, version, wrapped, addr_pub)
    _, other_pub = generate_x25519()
    with pytest.raises(CryptoError):
        unwrap_address_key(UNIT_PRIV, "bou.kommun", 2, wrapped, other_pub)


def test_address_key_wrap_records_are_signed_for_a_unit_epoch_only() -> None:
    addr_priv, _ = generate_x25519()
    wrapped = wrap_address_key(addr_priv, "bou.kommun", 1, UNIT_PUB)
    signature = sign_wrap(STAFF, "address", "bou.kommun", 1, "unit:3", wrapped)
    assert verify_wrap(STAFF.public, signature, "address", "bou.kommun", 1, "unit:3", wrapped)
    assert not verify_wrap(STAFF.public, signature, "address", "bou.kommun", 1, "unit:4", wrapped)
    assert not verify_wrap(STAFF.public, signature, "case", "bou.kommun", 1, "unit:3", wrapped)
    with pytest.raises(MalformedError):
        wrap_signing_bytes("address", "bou.kommun", 1, STAFF.public.device_id, wrapped)


def test_address_signing_key_wrap_has_its_own_label_kind_and_checks_the_ed25519_key() -> None:
    seed = DeviceKeys.generate().sign_seed
    pub = ed25519_public(seed)
    assert address_sign_key_info("bou.kommun", 1) == (b"samtal/address-sign-key/v1\x00\x0abou.kommun"
                                                      b"\x00\x00\x00\x01")
    wrapped = wrap_address_sign_key(seed, "bou.kommun", 2, UNIT_PUB)
    assert unwrap_address_sign_key(UNIT_PRIV, "bou.kommun", 2, wrapped, pub) == seed
    assert open_address_key_wrap(UNIT_PRIV, "address-sign", "bou.kommun", 2, wrapped, pub) == seed
    with pytest.raises(DecryptionError):  # a signing key wrap never opens as a decryption key, or the reverse
        unwrap_address_key(UNIT_PRIV, "bou.kommun", 2, wrapped, pub)
    with pytest.raises(CryptoError):
        unwrap_address_sign_key(UNIT_PRIV, "bou.kommun", 2, wrapped, ed25519_public(DeviceKeys.generate().sign_seed))
    signature = sign_wrap(STAFF, "address-sign", "bou.kommun", 2, "unit:3", wrapped)
    assert verify_wrap(STAFF.public, signature, "address-sign", "bou.kommun", 2, "unit:3", wrapped)
    assert not verify_wrap(STAFF.public, signature, "address", "bou.kommun", 2, "unit:3", wrapped)
    with pytest.raises(MalformedError):
        wrap_signing_bytes("address-sign", "bou.kommun", 2, STAFF.public.device_id, wrapped)
