"""The v1 message envelope: round trip, strict parsing, and that no byte can change unnoticed."""
import pytest

from crypto.aead import aead_seal
from crypto.encoding import b64u, u32
from crypto.envelope import (
    MAX_ENVELOPE_BYTES,
    Header,
    encode_body,
    new_msg_id,
    open_message,
    parse_envelope,
    seal_message,
    verify_envelope,
)
from crypto.errors import DecryptionError, MalformedError
from crypto.keys import DeviceKeys
from crypto.wrap import new_case_key

SENDER = DeviceKeys.generate()
CASE_KEY = new_case_key()
BODY = {"type": "text", "text": "Hej! Mötet är på fredag 🙂"}


def _header(**changes: object) -> Header:
    fields: dict[str, object] = dict(
        case_id="case-42", msg_id=new_msg_id(), sender_device=SENDER.public.device_id, epoch=1,
        sent_at_ms=1767261600000,
    )
    fields.update(changes)
    return Header(**fields)  # type: ignore[arg-type]


def _raw_envelope(header: Header, plaintext: bytes) -> bytes:
    """An envelope around arbitrary plaintext bytes, signed correctly (to test body parsing)."""
    nonce = bytes(12)
    ct = aead_seal(CASE_KEY, nonce, header.to_bytes(), plaintext)
    signed = header.to_bytes() + nonce + u32(len(ct)) + ct
    return signed + SENDER.sign(b"samtal/msg-sig/v1" + signed)


def test_envelope_round_trip_verifies_and_opens() -> None:
    header = _header()
    env = parse_envelope(seal_message(CASE_KEY, header, BODY, SENDER))
    assert env.header == header
    assert verify_envelope(env, SENDER.public.sign_pub)
    assert open_message(CASE_KEY, env) == BODY


def test_envelope_layout_is_header_nonce_length_ciphertext_signature() -> None:
    header = _header()
    raw = seal_message(CASE_KEY, header, BODY, SENDER, nonce=bytes(range(12)))
    env = parse_envelope(raw)
    hb = header.to_bytes()
    assert raw[: len(hb)] == hb and hb[0] == 1
    assert env.nonce == bytes(range(12))
    assert raw[len(hb) + 12 : len(hb) + 16] == u32(len(env.ciphertext))
    assert len(env.ciphertext) == len(encode_body(BODY)) + 16
    assert env.signed_part + env.signature == raw


def test_body_is_canonical_compact_sorted_utf8_json() -> None:
    assert encode_body({"type": "text", "text": "Hej åäö"}) == '{"text":"Hej åäö","type":"text"}'.encode()


def test_tampering_with_any_byte_of_the_envelope_is_detected() -> None:
    raw = seal_message(CASE_KEY, _header(), BODY, SENDER)
    for i in range(len(raw)):
        for mask in (0x01, 0x80):
            tampered = bytearray(raw)
            tampered[i] ^= mask
            try:
                env = parse_envelope(bytes(tampered))
            except MalformedError:
                continue
            assert not verify_envelope(env, SENDER.public.sign_pub), f"byte {i} mask {mask:#x}"
            if i < len(raw) - 64:  # everything but the signature is also covered by the AEAD
                with pytest.raises(DecryptionError):
                    open_message(CASE_KEY, env)


def test_envelope_with_flipped_header_bit_fails_to_open() -> None:
    header = _header()
    raw = bytearray(seal_message(CASE_KEY, header, BODY, SENDER))
    raw[len(header.to_bytes()) - 1] ^= 1  # sent_at_ms, still well-formed
    env = parse_envelope(bytes(raw))
    with pytest.raises(DecryptionError):
        open_message(CASE_KEY, env)


def test_envelope_does_not_open_with_another_case_key() -> None:
    env = parse_envelope(seal_message(CASE_KEY, _header(), BODY, SENDER))
    with pytest.raises(DecryptionError):
        open_message(new_case_key(), env)


def test_envelope_does_not_verify_under_another_device() -> None:
    env = parse_envelope(seal_message(CASE_KEY, _header(), BODY, SENDER))
    assert not verify_envelope(env, DeviceKeys.generate().public.sign_pub)


@pytest.mark.parametrize(
    "changes",
    [
        {"case_id": ""},
        {"case_id": "x" * 65},
        {"case_id": "ärende"},
        {"case_id": "case 1"},
        {"msg_id": "short"},
        {"msg_id": b64u(bytes(16))[:-1] + "B"},  # non-canonical trailing bits
        {"sender_device": "x" * 23},
        {"epoch": 0},
        {"epoch": 2**32},
        {"sent_at_ms": -1},
    ],
)
def test_header_rejects_fields_outside_the_specification(changes: dict[str, object]) -> None:
    with pytest.raises(MalformedError):
        _header(**changes)


def test_seal_refuses_a_header_naming_another_sender_device() -> None:
    with pytest.raises(MalformedError):
        seal_message(CASE_KEY, _header(sender_device=DeviceKeys.generate().public.device_id), BODY, SENDER)


def test_seal_refuses_an_envelope_over_the_size_limit() -> None:
    with pytest.raises(MalformedError):
        seal_message(CASE_KEY, _header(), {"text": "x" * MAX_ENVELOPE_BYTES}, SENDER)


def test_parse_rejects_wrong_version_trailing_bytes_truncation_and_oversize() -> None:
    raw = seal_message(CASE_KEY, _header(), BODY, SENDER)
    for bad in (b"\x02" + raw[1:], raw + b"\x00", raw[:-1], b"", raw + bytes(MAX_ENVELOPE_BYTES)):
        with pytest.raises(MalformedError):
            parse_envelope(bad)


def test_parse_rejects_ciphertext_shorter_than_the_tag() -> None:
    hb = _header().to_bytes()
    with pytest.raises(MalformedError):
        parse_envelope(hb + bytes(12) + u32(15) + bytes(15) + bytes(64))


@pytest.mark.parametrize("plaintext", [b"[1,2]", b"\"text\"", b"not json", b"\xff\xfe", b'{"a":1,"a":2}', b'{"a":NaN}'])
def test_open_rejects_a_body_that_is_not_a_plain_json_object(plaintext: bytes) -> None:
    env = parse_envelope(_raw_envelope(_header(), plaintext))
    assert verify_envelope(env, SENDER.public.sign_pub)
    with pytest.raises(MalformedError):
        open_message(CASE_KEY, env)


def test_open_accepts_a_json_object_that_is_not_in_canonical_form() -> None:
    env = parse_envelope(_raw_envelope(_header(), b'{ "type": "text", "text": "hej" }'))
    assert open_message(CASE_KEY, env) == {"type": "text", "text": "hej"}


def test_message_ids_are_fresh_22_character_ids() -> None:
    ids = {new_msg_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 22 for i in ids)


def test_a_deeply_nested_body_is_malformed_not_a_crash():
    import pytest

    from crypto.envelope import decode_body
    from crypto.errors import MalformedError
    with pytest.raises(MalformedError):
        decode_body(b'{"a":' * 5000 + b"1" + b"}" * 5000)
