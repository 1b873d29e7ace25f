"""Wycheproof AES-GCM (256-bit key, 96-bit IV, 128-bit tag) through the exact AEAD calls our envelope uses."""
import json
from pathlib import Path
from typing import Any

import pytest

from crypto.aead import aead_open, aead_seal
from crypto.errors import DecryptionError

VECTORS = Path(__file__).parent / "vectors"


def _cases() -> list[dict[str, Any]]:
    doc = json.loads((VECTORS / "wycheproof_aes_gcm.json").read_text())
    return [
        t
        for g in doc["testGroups"]
        if (g["keySize"], g["ivSize"], g["tagSize"]) == (256, 96, 128)
        for t in g["tests"]
    ]


def test_the_wycheproof_subset_for_our_parameters_is_not_empty() -> None:
    assert len(_cases()) > 20


@pytest.mark.parametrize("t", _cases(), ids=lambda t: f"tc{t['tcId']}")
def test_wycheproof_aes256_gcm_case(t: dict[str, Any]) -> None:
    key, iv, aad, msg, ct, tag = (bytes.fromhex(t[k]) for k in ("key", "iv", "aad", "msg", "ct", "tag"))
    if t["result"] == "valid":
        assert aead_seal(key, iv, aad, msg) == ct + tag
        assert aead_open(key, iv, aad, ct + tag) == msg
    else:
        with pytest.raises(DecryptionError):
            aead_open(key, iv, aad, ct + tag)


def test_ciphertext_shorter_than_a_tag_is_a_decryption_error() -> None:
    with pytest.raises(DecryptionError):
        aead_open(bytes(32), bytes(12), b"", bytes(15))
