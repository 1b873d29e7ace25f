"""Property tests of the binary and JSON parsers a server or client runs on bytes from someone else (issue #15
item 2): the message envelope, sealed records, key wraps, history links, certificates and their subjects, log
leaves and tree heads. Whatever the bytes, a parser returns a value or raises MalformedError, never another
exception; what the sealing functions make parses back to the same fields; a changed byte never parses to a
different message that still verifies."""
from __future__ import annotations

from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from crypto import merkle, unitcert
from crypto.encoding import b64u, unb64u
from crypto.envelope import MAX_ENVELOPE_BYTES, Header, decode_body, parse_envelope, seal_message, verify_envelope
from crypto.errors import CryptoError, MalformedError
from crypto.keys import DeviceKeys, DevicePublicKeys
from crypto.record import RecordHeader, parse_record, seal_record, verify_record
from crypto.wrap import WrappedKey, new_case_key

from .fuzzing import examples

SENDER = DeviceKeys.from_private(bytes(range(32)), bytes(range(32, 64)))
KEY = bytes(32)
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ids16 = st.binary(min_size=16, max_size=16).map(b64u)
case_ids = st.text(ID_CHARS, min_size=1, max_size=64)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=40),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=4), max_leaves=20)


def parses_or_refuses(parse: Any, data: Any) -> Any:
    """The parser's value, or None when it refused with MalformedError; anything else fails the test."""
    try:
        return parse(data)
    except MalformedError:
        return None


@st.composite
def headers(draw: st.DrawFn) -> Header:
    transcript = draw(st.booleans())
    return Header(draw(case_ids), draw(ids16), SENDER.public.device_id, draw(st.integers(1, 2**32 - 1)),
                  draw(st.integers(0, 2**64 - 1)), draw(st.integers(1, 2**32 - 1)) if transcript else 0,
                  draw(st.binary(min_size=32, max_size=32)) if transcript else b"")


# -- the message envelope (docs/protocol.md §9) ----------------------------------------------------------------
@examples(400)
@given(st.binary(max_size=600))
def test_any_bytes_parse_as_an_envelope_or_are_refused(data: bytes) -> None:
    parses_or_refuses(parse_envelope, data)


@examples(100)
@given(headers(), st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_a_sealed_envelope_parses_back_to_its_header_and_verifies(header: Header, body: dict[str, Any]) -> None:
    raw = seal_message(KEY, header, body, SENDER)
    env = parse_envelope(raw)
    assert env.header == header and env.raw == raw
    assert verify_envelope(env, SENDER.public.sign_pub)


@examples(300)
@given(headers(), st.data())
def test_a_changed_or_cut_envelope_is_refused_or_fails_its_signature(header: Header, data: st.DataObject) -> None:
    raw = bytearray(seal_message(KEY, header, {"text": "hej"}, SENDER))
    if data.draw(st.booleans(), label="cut"):
        changed = bytes(raw[:data.draw(st.integers(0, len(raw) - 1), label="length")])
    else:
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        raw[at] ^= data.draw(st.integers(1, 255), label="xor")
        changed = bytes(raw)
    env = parses_or_refuses(parse_envelope, changed)
    assert env is None or not verify_envelope(env, SENDER.public.sign_pub)


def test_an_envelope_over_the_size_limit_is_refused_before_it_is_read() -> None:
    assert parses_or_refuses(parse_envelope, b"\x01" + bytes(MAX_ENVELOPE_BYTES)) is None


@examples(300)
@given(st.binary(max_size=300) | json_values.map(lambda v: repr(v).encode()) | st.just(b"[" * 100_000))
def test_any_decrypted_body_is_an_object_or_refused(plaintext: bytes) -> None:
    body = parses_or_refuses(decode_body, plaintext)
    assert body is None or isinstance(body, dict)


# -- sealed records (applications, journal entries: docs/protocol.md §15) ----------------------------------------
@examples(300)
@given(st.binary(max_size=600))
def test_any_bytes_parse_as_a_record_or_are_refused(data: bytes) -> None:
    parses_or_refuses(parse_record, data)


@examples(150)
@given(st.from_regex(r"[a-z0-9._-]{1,40}", fullmatch=True), ids16, st.text(min_size=1, max_size=50),
       st.just("") | case_ids, st.integers(0, 2**64 - 1), st.data())
def test_a_sealed_record_parses_back_and_a_changed_byte_does_not_verify(
        kind: str, record_id: str, unit_id: str, case_id: str, created: int, data: st.DataObject) -> None:
    assume(not any(0xD800 <= ord(c) <= 0xDFFF for c in unit_id) and len(unit_id.encode()) <= 200)
    header = RecordHeader(kind, record_id, unit_id, case_id, SENDER.public.device_id, created)
    raw = bytearray(seal_record(KEY, header, {"a": 1}, SENDER))
    assert parse_record(bytes(raw)).header == header
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    record = parses_or_refuses(parse_record, bytes(raw))
    assert record is None or not verify_record(record, SENDER.public.sign_pub)


# -- key wraps, device keys, certificates and the key log (§14.1, §18, §19) -----------------------------------
b64_or_junk = st.binary(max_size=80).map(b64u) | st.text(max_size=40)
json_objects = st.dictionaries(st.sampled_from(["enc", "ct", "sign_pub", "kem_pub", "size", "root", "timestamp",
                                                "signature", "unit_id", "kind", "subject", "issued_at", "signer"]),
                               b64_or_junk | json_values, max_size=8) | json_values


@examples(200)
@given(json_objects)
def test_any_json_is_a_wrapped_key_device_keys_certificate_or_tree_head_or_refused(value: Any) -> None:
    for parse in (WrappedKey.from_json, DevicePublicKeys.from_json, unitcert.UnitCert.from_json,
                  merkle.TreeHead.from_json):
        parses_or_refuses(parse, value)


@examples(100)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=48, max_size=48))
def test_a_wrapped_key_round_trips_through_its_json(enc: bytes, ct: bytes) -> None:
    wrapped = WrappedKey(enc, ct)
    assert WrappedKey.from_json(wrapped.to_json()) == wrapped


@examples(300)
@given(st.sampled_from(unitcert.KINDS), st.binary(max_size=200))
def test_any_certificate_subject_is_read_or_refused(kind: str, subject: bytes) -> None:
    parses_or_refuses(lambda s: unitcert.parse_subject(kind, s), subject)


LEAF_SPECS = ["sskk", "ss", "s4ksg", "bg", "sbb"]  # the bodies the key log monitor reads (web/cli/keys.py)


@st.composite
def leaf_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A body laid out as its spec says (length prefixes that fit), with any bytes in the fields, then perhaps
    cut or lengthened: a hostile log's leaves get past the framing and reach the field decoders."""
    spec = draw(st.sampled_from(LEAF_SPECS))
    body = b""
    for kind in spec:
        if kind in "sb":
            field = draw(st.binary(max_size=12))
            body += len(field).to_bytes(2, "big") + field
        else:
            body += draw(st.binary(min_size={"4": 4, "k": 32, "g": 64}[kind], max_size={"4": 4, "k": 32, "g": 64}[kind]))
    return spec, body[:draw(st.integers(0, len(body)))] + draw(st.binary(max_size=2)) if draw(st.booleans()) else body


@examples(300)
@given(st.binary(max_size=200), leaf_bodies())
def test_any_log_leaf_and_leaf_body_is_read_or_refused(data: bytes, spec_and_body: tuple[str, bytes]) -> None:
    spec, body = spec_and_body
    parses_or_refuses(merkle.parse_leaf, data)
    parses_or_refuses(merkle.parse_leaf, merkle.leaf_bytes("device", 1, body) + data[:1])
    parses_or_refuses(lambda b: merkle.read_fields(b, spec), body)


@examples(200)
@given(st.text(max_size=30), st.binary(max_size=40))
def test_base64url_is_strict_and_round_trips(text: str, data: bytes) -> None:
    assert unb64u(b64u(data)) == data
    decoded = parses_or_refuses(unb64u, text)
    assert decoded is None or b64u(decoded) == text


def test_a_case_key_wrap_refuses_every_other_length() -> None:
    for enc, ct in ((bytes(31), bytes(48)), (bytes(32), bytes(47)), (bytes(33), bytes(48))):
        try:
            WrappedKey(enc, ct)
        except CryptoError:
            continue
        raise AssertionError("a wrap of the wrong length was accepted")
    assert len(new_case_key()) == 32
