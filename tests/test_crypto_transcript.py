"""The checked transcript (docs/protocol.md §9 version 2, §20): version 2 envelopes and the transcript verdicts
regenerate from tests/vectors/golden_transcript.json, and the envelope's new fields are parsed strictly."""
import importlib.util
import json
from pathlib import Path

import pytest

from crypto.envelope import NO_PREV, Header, open_message, parse_envelope, seal_message, verify_envelope
from crypto.errors import MalformedError
from crypto.keys import DeviceKeys
from crypto.transcript import Entry, Memory, check, message_hash

ROOT = Path(__file__).resolve().parent.parent
PATH = ROOT / "tests" / "vectors" / "golden_transcript.json"
VECTORS = json.loads(PATH.read_text(encoding="utf-8"))
GOLDEN = json.loads((ROOT / "tests" / "vectors" / "golden_envelopes.json").read_text(encoding="utf-8"))


def _devices() -> dict[str, DeviceKeys]:
    return {d["device_id"]: DeviceKeys.from_private(bytes.fromhex(d["sign_seed_hex"]), bytes.fromhex(d["kem_priv_hex"]))
            for d in GOLDEN["devices"].values()}


def test_transcript_vectors_regenerate_byte_for_byte() -> None:
    spec = importlib.util.spec_from_file_location("make_vectors", ROOT / "scripts" / "make_vectors.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render_transcript() == PATH.read_text(encoding="utf-8")


def test_version_2_envelopes_seal_byte_identical_verify_and_open() -> None:
    devices, key = _devices(), bytes.fromhex(VECTORS["case_key_hex"])
    for e in VECTORS["envelopes"]:
        if "header" not in e:
            continue  # the version 1 one comes from golden_envelopes.json
        h = e["header"]
        header = Header(h["case_id"], h["msg_id"], h["sender_device"], h["epoch"], h["sent_at_ms"], h["counter"],
                        bytes.fromhex(h["prev_hex"]))
        raw = seal_message(key, header, e["body"], devices[e["sender_device_id"]], nonce=bytes.fromhex(e["nonce_hex"]))
        assert raw.hex() == e["env_hex"] and header.to_bytes().hex() == e["header_hex"]
        env = parse_envelope(raw)
        assert env.header == header and env.raw[0] == 2
        assert verify_envelope(env, devices[e["sender_device_id"]].public.sign_pub)
        assert open_message(key, env) == e["body"] and message_hash(raw).hex() == e["hash_hex"]


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["description"])
def test_transcript_verdicts(case: dict) -> None:
    parsed = [parse_envelope(bytes.fromhex(e["env_hex"])) for e in VECTORS["envelopes"]]
    entries = [Entry(m["seq"], parsed[m["envelope"]].header.msg_id, parsed[m["envelope"]].header.sender_device,
                     parsed[m["envelope"]].header.counter, parsed[m["envelope"]].header.prev or NO_PREV,
                     message_hash(parsed[m["envelope"]].raw)) for m in case["messages"]]
    memory = case["memory"]
    mem = None if memory is None else Memory(bytes.fromhex(memory["last_hash_hex"]), memory["own_counter"])
    verdict = check(entries, mem, case["own_device"])
    assert {"problems": [[p.to_json() for p in ps] for ps in verdict.problems], "unchecked": verdict.unchecked,
            "case": [p.to_json() for p in verdict.case]} == case["expect"]


@pytest.mark.parametrize("bad", VECTORS["malformed"], ids=lambda b: b["description"])
def test_malformed_version_2_envelopes_are_refused(bad: dict) -> None:
    with pytest.raises(MalformedError):
        parse_envelope(bytes.fromhex(bad["env_hex"]))


def test_header_refuses_a_counter_without_a_32_byte_prev_and_a_prev_without_a_counter() -> None:
    base = ("case-1", "A" * 22, "B" * 21 + "Q", 1, 0)
    with pytest.raises(MalformedError):
        Header(*base, 1, b"")
    with pytest.raises(MalformedError):
        Header(*base, 0, NO_PREV)
    assert Header(*base).to_bytes()[0] == 1 and Header(*base, 1, NO_PREV).to_bytes()[0] == 2
