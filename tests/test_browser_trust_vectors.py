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


def test_identity_seals_and_the_municipality_file(page: Any) -> None:
    """The unit identity seed sealed to a device and signed by the identity (§18, Holders): the browser makes the
    same bytes, opens them to the seed, refuses the bad ones; and it checks the municipality's file."""
    got = run(page, """
        const out = { seals: [], bad: [] };
        for (const s of arg.identity_seals) {
          const seed = unhex(s.seed_hex);
          const kem = await C.importX25519Private(unhex(s.recipient_kem_priv_hex));
          const kemPub = await C.x25519PublicKey(kem);
          const made = await C.sealIdentity(seed, arg.unit_id, s.recipient, kemPub, unhex(s.ikm_e_hex));
          const key = C.unb64u(s.identity_key);
          const wrapped = { enc: C.unb64u(s.enc), ct: C.unb64u(s.ct) };
          out.seals.push({
            info: hex(C.identitySeedInfo(arg.unit_id, key)), enc: C.b64u(made.wrapped.enc), ct: C.b64u(made.wrapped.ct),
            signature: C.b64u(made.signature), signed: hex(C.sealSigningBytes(arg.unit_id, key, s.recipient, wrapped)),
            opened: hex(await C.openIdentitySeal(kem, arg.unit_id, s.recipient, key, wrapped, C.unb64u(s.signature))),
          });
        }
        for (const s of arg.bad_seals) {
          const kem = await C.importX25519Private(unhex(s.recipient_kem_priv_hex));
          const wrapped = { enc: C.unb64u(s.enc), ct: C.unb64u(s.ct) };
          const key = C.unb64u(s.identity_key), sig = C.unb64u(s.signature);
          out.bad.push({ verifies: await C.verifyIdentitySeal(key, arg.unit_id, s.recipient, wrapped, sig),
            opened: (await outcome(() => C.openIdentitySeal(kem, arg.unit_id, s.recipient, key, wrapped, sig))).ok });
        }
        const file = arg.identity.file;
        out.file = C.b64u(await C.verifyIdentityFile(file, arg.unit_id));
        out.forged = (await outcome(() => C.verifyIdentityFile({ ...file, identity_key: arg.identity.next_identity_key },
          arg.unit_id))).ok;
        const made = await C.identityFile(await C.identityKeyFromSeed(unhex(arg.identity.seed_hex)), arg.unit_id,
          file.name);
        out.made = made;
        return out;""", V)
    for want, have in zip(V["identity_seals"], got["seals"], strict=True):
        assert have == {"info": want["info_hex"], "enc": want["enc"], "ct": want["ct"], "signature": want["signature"],
                        "signed": want["signed_hex"], "opened": want["seed_hex"]}
    assert got["bad"] == [{"verifies": False, "opened": False}] * len(V["bad_seals"])
    assert got["file"] == V["identity"]["identity_key"] and got["forged"] is False
    assert got["made"] == V["identity"]["file"]  # the key ceremony's file is the Python holder's, byte for byte
