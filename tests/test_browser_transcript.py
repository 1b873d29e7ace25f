"""The checked transcript in real Chromium (web/static/js/crypto/transcript.js): version 2 envelopes sealed
byte for byte as tests/vectors/golden_transcript.json has them, and every transcript verdict the same as
Python's (tests/test_crypto_transcript.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser import page, run  # noqa: F401 (the page fixture)

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "golden_transcript.json").read_text(encoding="utf-8"))
GOLDEN = json.loads((ROOT / "tests" / "vectors" / "golden_envelopes.json").read_text(encoding="utf-8"))


def test_version_2_envelopes_seal_byte_identical_and_hash_like_python(page: Any) -> None:
    got = run(page, """
        const devices = await goldenDevices(arg.devices);
        const caseKey = await C.importCaseKeyForTest(unhex(arg.caseKeyHex));
        const out = [];
        for (const e of arg.envelopes) {
          const env = C.parseEnvelope(unhex(e.env_hex));
          const item = { hash: hex(await C.messageHash(env.raw)), version: env.raw[0],
                         verifies: await C.verifyEnvelope(env, devices[e.sender_device_id].signPub),
                         body: await C.openMessage(caseKey, env) };
          if (e.header) {
            const header = { ...e.header, prev: unhex(e.header.prev_hex) };
            delete header.prev_hex;
            item.sealed = hex(await C.sealMessage(caseKey, header, e.body, devices[e.sender_device_id], unhex(e.nonce_hex)));
            item.header_hex = hex(C.headerBytes(header));
            item.counter = env.header.counter;
            item.prev = hex(env.header.prev);
          }
          out.push(item);
        }
        const malformed = [];
        for (const m of arg.malformed) malformed.push(await outcome(() => C.parseEnvelope(unhex(m.env_hex))));
        return { out, malformed };""", {"devices": GOLDEN["devices"], "caseKeyHex": VECTORS["case_key_hex"],
                                       "envelopes": VECTORS["envelopes"], "malformed": VECTORS["malformed"]})
    for e, g in zip(VECTORS["envelopes"], got["out"], strict=True):
        assert g["hash"] == e["hash_hex"] and g["verifies"] is True and g["body"]["type"] == "text", e["label"]
        if "header" in e:
            assert (g["sealed"], g["header_hex"], g["version"]) == (e["env_hex"], e["header_hex"], 2), e["label"]
            assert (g["counter"], g["prev"]) == (e["header"]["counter"], e["header"]["prev_hex"])
        else:
            assert g["version"] == 1
    assert got["malformed"] == [{"ok": False, "error": "MalformedError"}] * len(VECTORS["malformed"])


def test_transcript_verdicts_equal_the_vectors(page: Any) -> None:
    got = run(page, """
        const parsed = await Promise.all(arg.envelopes.map(async (e) => {
          const env = C.parseEnvelope(unhex(e.env_hex));
          return { env, hash: await C.messageHash(env.raw) };
        }));
        return arg.cases.map((c) => {
          const entries = c.messages.map(({ seq, envelope }) => {
            const { env, hash } = parsed[envelope];
            return { seq, msgId: env.header.msg_id, device: env.header.sender_device, counter: env.header.counter ?? 0,
                     prev: env.header.prev ?? C.NO_PREV, hash };
          });
          const memory = c.memory && { lastHash: unhex(c.memory.last_hash_hex), ownCounter: c.memory.own_counter };
          return C.checkTranscript(entries, memory, c.own_device);
        });""", {"envelopes": VECTORS["envelopes"], "cases": VECTORS["cases"]})
    for case, verdict in zip(VECTORS["cases"], got, strict=True):
        assert verdict == case["expect"], case["description"]
