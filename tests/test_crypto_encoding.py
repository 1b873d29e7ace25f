"""Strict base64url and the fixed-width/length-prefixed encodings every format is built from."""
import pytest

from crypto.encoding import b64u, epoch_bytes, is_id16, lp16, u32, u64, unb64u
from crypto.errors import MalformedError


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff\xfe", b"abc", bytes(range(256))])
def test_b64u_round_trips_without_padding(data: bytes) -> None:
    text = b64u(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert unb64u(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "QQ==",  # padding
        "QQ=",
        "QUJD+w",  # standard alphabet, not URL-safe
        "QUJD/w",
        "QUJ D",  # whitespace
        "QUJDR",  # length % 4 == 1
        "QR",  # unused trailing bits set: a second spelling of b"A" (canonical "QQ")
        "QUF",  # a second spelling of b"AA" (canonical "QUE")
        "ÅÄÖA",  # non-ASCII letters
    ],
)
def test_unb64u_rejects_padding_foreign_characters_and_noncanonical_bits(text: str) -> None:
    with pytest.raises(MalformedError):
        unb64u(text)


def test_unb64u_accepts_the_canonical_spelling_and_not_its_aliases() -> None:
    assert unb64u("QUE") == b"AA"
    assert unb64u("QQ") == b"A"


def test_unb64u_rejects_bytes_input() -> None:
    with pytest.raises(MalformedError):
        unb64u(b"QQ")  # type: ignore[arg-type]


def test_malformed_error_is_a_value_error_for_generic_handlers() -> None:
    with pytest.raises(ValueError):
        unb64u("QQ==")


def test_lp16_prefixes_big_endian_length_and_rejects_over_65535() -> None:
    assert lp16(b"abc") == b"\x00\x03abc"
    assert lp16(b"") == b"\x00\x00"
    assert lp16(bytes(65535))[:2] == b"\xff\xff"
    with pytest.raises(MalformedError):
        lp16(bytes(65536))


def test_fixed_width_integers_are_big_endian_and_range_checked() -> None:
    assert u32(1) == b"\x00\x00\x00\x01"
    assert u64(2**64 - 1) == b"\xff" * 8
    for bad in (-1, 2**32, True, 1.0):
        with pytest.raises(MalformedError):
            u32(bad)  # type: ignore[arg-type]
    with pytest.raises(MalformedError):
        u64(2**64)


def test_epoch_zero_is_rejected_because_epochs_start_at_one() -> None:
    assert epoch_bytes(1) == b"\x00\x00\x00\x01"
    with pytest.raises(MalformedError):
        epoch_bytes(0)


def test_id16_accepts_only_canonical_16_byte_ids() -> None:
    ident = b64u(bytes(range(16)))
    assert is_id16(ident)
    assert not is_id16(ident[:-1] + "B")  # trailing bits set
    assert not is_id16(ident + "A")
    assert not is_id16(ident[:-1] + "=")
