"""Sealed records and their grants (crypto/record.py): who can open a record, and what tampering is caught."""
from __future__ import annotations

import dataclasses

import pytest

from crypto.errors import DecryptionError, MalformedError
from crypto.keys import DeviceKeys, generate_x25519
from crypto.record import (
    CASE_GRANT_LEN,
    KEY_GRANT_LEN,
    MAX_RECORD_BYTES,
    RecordHeader,
    check_grant_shape,
    grant_to_case,
    grant_to_key,
    new_record_id,
    new_record_key,
    open_case_grant,
    open_key_grant,
    open_record,
    parse_record,
    recipient_epoch,
    recipient_kind,
    seal_record,
    sign_grant,
    verify_grant,
    verify_record,
)
from crypto.wrap import new_case_key

STAFF = DeviceKeys.generate()
CITIZEN = DeviceKeys.generate()
UNIT_PRIV, UNIT_PUB = generate_x25519()
BODY = {"text": "Anteckning om besöket, åäö ✓", "type": "journal.entry"}


def header(**changes: object) -> RecordHeader:
    base = RecordHeader("journal.entry", new_record_id(), "ekonomiskt-bistånd", "eb-2026-0001",
                        STAFF.public.device_id, 1_790_000_000_000)
    return dataclasses.replace(base, **changes)


def test_a_record_round_trips_for_whoever_has_its_key() -> None:
    key, h = new_record_key(), header()
    rec = parse_record(seal_record(key, h, BODY, STAFF))
    assert rec.header == h
    assert verify_record(rec, STAFF.public.sign_pub)
    assert open_record(key, rec) == BODY


def test_an_application_names_no_case_yet() -> None:
    h = header(kind="application", case_id="", author_device=CITIZEN.public.device_id)
    rec = parse_record(seal_record(new_record_key(), h, {"form": "x"}, CITIZEN))
    assert rec.header.case_id == ""


def test_another_key_cannot_open_it_and_another_device_did_not_sign_it() -> None:
    rec = parse_record(seal_record(new_record_key(), header(), BODY, STAFF))
    with pytest.raises(DecryptionError):
        open_record(new_record_key(), rec)
    assert not verify_record(rec, CITIZEN.public.sign_pub)


@pytest.mark.parametrize("offset", [0, 3, 40, -70, -1])
def test_any_flipped_byte_breaks_the_signature_or_the_parse(offset: int) -> None:
    key = new_record_key()
    raw = bytearray(seal_record(key, header(), BODY, STAFF))
    raw[offset] ^= 0x01
    try:
        rec = parse_record(bytes(raw))
    except MalformedError:
        return
    assert not verify_record(rec, STAFF.public.sign_pub)


def test_the_header_is_bound_to_the_ciphertext() -> None:
    # Moving a record to another case (re-signed by a device that has the key) still fails to decrypt,
    # because the header is the AES-GCM additional data.
    key, h = new_record_key(), header()
    rec = parse_record(seal_record(key, h, BODY, STAFF))
    moved = dataclasses.replace(h, case_id="eb-2026-0002").to_bytes()
    forged = parse_record(seal_record(key, dataclasses.replace(h, case_id="eb-2026-0002"), {}, STAFF))
    spliced = moved + rec.nonce + len(rec.ciphertext).to_bytes(4, "big") + rec.ciphertext + forged.signature
    with pytest.raises(DecryptionError):
        open_record(key, parse_record(spliced))


@pytest.mark.parametrize("bad", [
    {"kind": "Journal"}, {"kind": ""}, {"record_id": "short"}, {"unit_id": ""}, {"case_id": "a b"},
    {"author_device": "x"}, {"created_at_ms": -1},
])
def test_header_rules(bad: dict[str, object]) -> None:
    with pytest.raises(MalformedError):
        header(**bad)


def test_parser_rejects_trailing_bytes_truncation_and_other_versions() -> None:
    raw = seal_record(new_record_key(), header(), BODY, STAFF)
    for broken in (raw + b"\x00", raw[:-1], b"\x02" + raw[1:], b""):
        with pytest.raises(MalformedError):
            parse_record(broken)


def test_size_limit() -> None:
    with pytest.raises(MalformedError):
        seal_record(new_record_key(), header(), {"text": "x" * MAX_RECORD_BYTES}, STAFF)
    with pytest.raises(MalformedError):
        parse_record(b"\x01" * (MAX_RECORD_BYTES + 1))


def test_seal_refuses_a_header_naming_another_device() -> None:
    with pytest.raises(MalformedError):
        seal_record(new_record_key(), header(author_device=CITIZEN.public.device_id), BODY, STAFF)


def test_unit_grant_opens_with_the_unit_key_only() -> None:
    key, record_id = new_record_key(), new_record_id()
    grant = grant_to_key(key, record_id, UNIT_PUB)
    assert len(grant) == KEY_GRANT_LEN
    assert open_key_grant(UNIT_PRIV, record_id, grant) == key
    with pytest.raises(DecryptionError):
        open_key_grant(CITIZEN.kem_priv, record_id, grant)  # an internal entry stays internal
    with pytest.raises(DecryptionError):
        open_key_grant(UNIT_PRIV, new_record_id(), grant)  # bound to its record


def test_case_grant_opens_with_that_case_key_epoch_only() -> None:
    key, record_id, case_key = new_record_key(), new_record_id(), new_case_key()
    grant = grant_to_case(key, record_id, "eb-2026-0001", 2, case_key)
    assert len(grant) == CASE_GRANT_LEN
    assert open_case_grant(case_key, record_id, "eb-2026-0001", 2, grant) == key
    for args in (("eb-2026-0001", 3), ("eb-2026-0002", 2)):
        with pytest.raises(DecryptionError):
            open_case_grant(case_key, record_id, *args, grant)
    with pytest.raises(DecryptionError):
        open_case_grant(new_case_key(), record_id, "eb-2026-0001", 2, grant)


def test_grant_signatures_bind_record_recipient_and_bytes() -> None:
    record_id = new_record_id()
    grant = grant_to_case(new_record_key(), record_id, "c", 1, new_case_key())
    sig = sign_grant(STAFF, record_id, "case:1", grant)
    assert verify_grant(STAFF.public, sig, record_id, "case:1", grant)
    assert not verify_grant(CITIZEN.public, sig, record_id, "case:1", grant)
    assert not verify_grant(STAFF.public, sig, record_id, "case:2", grant)
    assert not verify_grant(STAFF.public, sig, new_record_id(), "case:1", grant)
    assert not verify_grant(STAFF.public, sig, record_id, "case:1", bytes([grant[0] ^ 1]) + grant[1:])
    assert not verify_grant(STAFF.public, sig, record_id, "unit:1", grant)  # wrong length for a unit grant


@pytest.mark.parametrize("recipient, kind, epoch", [
    ("unit:1", "unit", 1), ("case:4294967295", "case", 4294967295), (CITIZEN.public.device_id, "device", None),
])
def test_recipients(recipient: str, kind: str, epoch: int | None) -> None:
    assert recipient_kind(recipient) == kind
    assert recipient_epoch(recipient) == epoch


@pytest.mark.parametrize("recipient", ["unit:0", "unit:01", "case:4294967296", "team:1", "", "unit:"])
def test_bad_recipients(recipient: str) -> None:
    with pytest.raises(MalformedError):
        recipient_kind(recipient)


def test_grant_shape_follows_the_recipient() -> None:
    check_grant_shape("unit:1", b"\x00" * KEY_GRANT_LEN)
    check_grant_shape("case:1", b"\x00" * CASE_GRANT_LEN)
    with pytest.raises(MalformedError):
        check_grant_shape("case:1", b"\x00" * KEY_GRANT_LEN)
