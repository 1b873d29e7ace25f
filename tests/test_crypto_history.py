"""History links (crypto/history.py, docs/protocol.md section 17): the golden vectors regenerate byte for byte,
every link opens to the older epoch's key and verifies, and a link used for anything else fails."""
import importlib.util
import json
from pathlib import Path

import pytest

from crypto.errors import CryptoError, DecryptionError, MalformedError
from crypto.history import (
    history_signing_bytes,
    open_case_history,
    open_unit_history,
    seal_case_history,
    seal_unit_history,
    verify_history,
)
from crypto.keys import DeviceKeys, generate_x25519
from crypto.wrap import new_case_key

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
HISTORY = json.loads((VECTORS / "golden_history.json").read_text(encoding="utf-8"))
STAFF = json.loads((VECTORS / "golden_envelopes.json").read_text(encoding="utf-8"))["devices"]["staff"]


def _staff() -> DeviceKeys:
    return DeviceKeys.from_private(bytes.fromhex(STAFF["sign_seed_hex"]), bytes.fromhex(STAFF["kem_priv_hex"]))


def test_history_vectors_regenerate_byte_for_byte() -> None:
    spec = importlib.util.spec_from_file_location("make_vectors", ROOT / "scripts" / "make_vectors.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render_history() == (VECTORS / "golden_history.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("link", HISTORY["unit_links"], ids=lambda d: f"{d['epoch']}->{d['sealed_epoch']}")
def test_unit_links_open_to_the_older_epoch_and_verify(link: dict) -> None:
    keys = HISTORY["unit_keys"]
    priv = bytes.fromhex(keys[str(link["epoch"])]["unit_priv_hex"])
    opened = open_unit_history(HISTORY["unit_id"], link["epoch"], priv, link["sealed_epoch"],
                               bytes.fromhex(link["link_hex"]), bytes.fromhex(link["sealed_pub_hex"]))
    assert opened.hex() == keys[str(link["sealed_epoch"])]["unit_priv_hex"]
    staff = _staff()
    assert staff.public.device_id == link["signer_device_id"]
    assert history_signing_bytes("unit", HISTORY["unit_id"], link["epoch"], link["sealed_epoch"],
                                 bytes.fromhex(link["link_hex"])).hex() == link["signed_hex"]
    assert verify_history(staff.public, bytes.fromhex(link["signature_hex"]), "unit", HISTORY["unit_id"],
                          link["epoch"], link["sealed_epoch"], bytes.fromhex(link["link_hex"]))
    assert not verify_history(staff.public, bytes.fromhex(link["signature_hex"]), "unit", HISTORY["unit_id"],
                              link["epoch"] + 1, link["sealed_epoch"], bytes.fromhex(link["link_hex"]))


@pytest.mark.parametrize("link", HISTORY["case_links"], ids=lambda d: f"{d['epoch']}->{d['sealed_epoch']}")
def test_case_links_open_to_the_older_epoch_and_verify(link: dict) -> None:
    keys = HISTORY["case_keys"]
    key = bytes.fromhex(keys[str(link["epoch"])]["case_key_hex"])
    opened = open_case_history(HISTORY["case_id"], link["epoch"], key, link["sealed_epoch"],
                               bytes.fromhex(link["link_hex"]))
    assert opened.hex() == keys[str(link["sealed_epoch"])]["case_key_hex"]
    again = seal_case_history(HISTORY["case_id"], link["epoch"], key, link["sealed_epoch"], opened,
                              nonce=bytes.fromhex(link["nonce_hex"]))
    assert again.hex() == link["link_hex"]
    assert verify_history(_staff().public, bytes.fromhex(link["signature_hex"]), "case", HISTORY["case_id"],
                          link["epoch"], link["sealed_epoch"], bytes.fromhex(link["link_hex"]))


@pytest.mark.parametrize("case", HISTORY["negative"], ids=lambda d: d["description"])
def test_negative_links_fail_as_stated(case: dict) -> None:
    link = bytes.fromhex(case["link_hex"])
    errors = {"decryption_fails": DecryptionError, "wrong_key": CryptoError, "malformed": MalformedError}
    with pytest.raises(errors[case["expect"]]):
        if case["kind"] == "case":
            key = bytes.fromhex(HISTORY["case_keys"][str(case["key_epoch"])]["case_key_hex"])
            open_case_history(HISTORY["case_id"], case["epoch"], key, case["sealed_epoch"], link)
        else:
            priv = bytes.fromhex(HISTORY["unit_keys"][str(case["key_epoch"])]["unit_priv_hex"])
            open_unit_history(HISTORY["unit_id"], case["epoch"], priv, case["sealed_epoch"], link,
                              bytes.fromhex(case["expected_pub_hex"]))


def test_a_chain_of_fresh_keys_opens_backwards_only() -> None:
    """Epoch 3 opens 2 and, through it, 1; epoch 1 (what a revoked device kept) opens nothing newer."""
    privs = [generate_x25519() for _ in range(3)]
    links = {e: seal_unit_history("u", e, privs[e - 1][1], e - 1, privs[e - 2][0]) for e in (2, 3)}
    two = open_unit_history("u", 3, privs[2][0], 2, links[3], privs[1][1])
    assert open_unit_history("u", 2, two, 1, links[2], privs[0][1]) == privs[0][0]
    with pytest.raises(DecryptionError):
        open_unit_history("u", 3, privs[0][0], 2, links[3], privs[1][1])
    keys = [new_case_key() for _ in range(2)]
    link = seal_case_history("c", 2, keys[1], 1, keys[0])
    with pytest.raises(DecryptionError):
        open_case_history("c", 2, keys[0], 1, link)
    with pytest.raises(MalformedError):
        seal_case_history("c", 2, keys[1], 2, keys[0])
