"""The browser's unit identity and key log code (web/static/js/crypto/unitcert.js, merkle.js) in real Chromium,
on the same vectors as Python (tests/vectors/golden_trust.json): certificate bytes, chain verdicts (a revoked
device's certification no longer verifies, a changed identity is refused), leaves, roots and proofs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser import page, run  # noqa: F401 (the page fixture)

ROOT = Path(__file__).resolve().parent.parent
V = json.loads((ROOT / "tests" / "vectors" / "golden_trust.json").read_text(encoding="utf-8"))


def test_certificates_fingerprint_and_chains(page: Any) -> None:
    got = run(page, """
        const certs = arg.certificates.map(C.certFromJson);
        const out = {
          signed: certs.map((c) => hex(C.certSigningBytes(c.unitId, c.kind, c.subject, c.issuedAt))),
          verifies: await Promise.all(certs.map(C.certVerifies)),
          fingerprint: await C.unitFingerprint(arg.unit_id, C.unb64u(arg.identity.identity_key)),
          chains: [],
        };
        for (const ch of arg.chains) {
          const pinned = ch.pinned ? C.unb64u(ch.pinned) : null;
          const r = await outcome(() => C.evaluateChain(arg.unit_id, ch.certs.map((i) => certs[i]), pinned));
          if (!r.ok) { out.chains.push({ valid: false, error: r.error }); continue; }
          const t = r.value;
          out.chains.push({
            valid: true, current_key: C.b64u(t.currentKey),
            devices: [...t.devices.keys()].filter((d) => !t.revoked.has(d)).sort(), revoked: [...t.revoked].sort(),
            epochs: Object.fromEntries([...t.epochs].map(([e, k]) => [String(e), C.b64u(k)])),
            revoked_refused: [...t.revoked].every((d) => t.device(d) === null && t.device(d, true) !== null),
          });
        }
        return out;""", V)
    assert got["signed"] == [c["signed_hex"] for c in V["certificates"]]
    assert all(got["verifies"])
    assert got["fingerprint"] == V["identity"]["fingerprint"]
    for want, have in zip(V["chains"], got["chains"], strict=True):
        assert have["valid"] == want["valid"], want
        if not want["valid"]:
            assert have["error"] == ("UnitIdentityChanged" if want["error"] == "identity_changed" else "ChainError")
            continue
        assert have["current_key"] == want["current_key"]
        assert have["devices"] == sorted(want["devices"]) and have["revoked"] == sorted(want["revoked"])
        assert have["epochs"] == want["epochs"] and have["revoked_refused"] is True


def test_log_leaves_roots_proofs_and_head(page: Any) -> None:
    log = V["log"]
    got = run(page, """
        const leaves = arg.leaves.map((l) => unhex(l.leaf_hex));
        const hashes = await Promise.all(leaves.map(C.leafHash));
        const roots = [];
        for (let m = 0; m <= hashes.length; m++) roots.push(hex(await C.merkleRoot(hashes.slice(0, m))));
        const R = roots.map(unhex), P = (p) => p.map(unhex);
        const inclusion = [], consistency = [], bad = [];
        for (const p of arg.inclusion) inclusion.push(await C.verifyInclusion(hashes[p.index], p.index, p.size, P(p.proof), R[p.size]));
        for (const p of arg.consistency) consistency.push(await C.verifyConsistency(p.first, p.second, R[p.first], R[p.second], P(p.proof)));
        for (const p of arg.bad_proofs) bad.push(p.kind === "inclusion"
          ? await C.verifyInclusion(hashes[p.index], p.index, p.size, P(p.proof), R[p.size])
          : await C.verifyConsistency(p.first, p.second, R[p.first], R[p.second], P(p.proof)));
        const head = C.headFromJson(arg.head);
        return {
          hashes: hashes.map(hex), roots, inclusion, consistency, bad,
          signed: hex(C.headSigningBytes(head.size, head.root, head.timestamp)),
          head: await C.verifyHead(head, C.unb64u(arg.head.log_key)),
          other_size: await C.verifyHead({ ...head, size: head.size - 1 }, C.unb64u(arg.head.log_key)),
        };""", log)
    assert got["hashes"] == [x["leaf_hash_hex"] for x in log["leaves"]]
    assert got["roots"] == log["roots"]
    assert all(got["inclusion"]) and all(got["consistency"]) and not any(got["bad"])
    assert got["signed"] == log["head"]["signed_hex"] and got["head"] is True and got["other_size"] is False
