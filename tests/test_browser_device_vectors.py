"""The browser's citizen device proofs (web/static/js/crypto/devicelink.js) in real Chromium, on the same vectors
as Python (tests/vectors/golden_devices.json, docs/protocol.md §21): nonces, the link certificate, ID tokens
signed with EdDSA, RS256 and ES256, a token signed by a key that is not the provider's, and every verdict."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser import page, run  # noqa: F401 (the page fixture)

ROOT = Path(__file__).resolve().parent.parent
V = json.loads((ROOT / "tests" / "vectors" / "golden_devices.json").read_text(encoding="utf-8"))


def test_nonces_link_and_verdicts(page: Any) -> None:
    got = run(page, """
        const out = { nonces: [], cases: [] };
        for (const n of arg.nonces) {
          out.nonces.push(await C.signinNonce({ signPub: C.unb64u(n.sign_pub), kemPub: C.unb64u(n.kem_pub) },
            C.unb64u(n.salt)));
        }
        const device = await C.citizenDeviceFromJson(arg.views.find((v) => v.id === arg.link.device));
        out.signed = hex(C.linkSigned(arg.user_id, device, device.id, arg.link.issued_at));
        out.code = await C.linkCode(device);
        for (const c of arg.cases) {
          const devices = [];
          for (const i of c.devices) devices.push(await C.citizenDeviceFromJson(arg[c.views][i]));
          const v = await C.evaluateDevices(arg.user_id, devices, arg.providers, c.pinned);
          const sorted = (m) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
          out.cases.push({ proven: sorted(v.proven), unproven: sorted(v.unproven), person: v.person });
        }
        return out;""", V)
    assert got["nonces"] == [n["nonce"] for n in V["nonces"]]
    assert got["signed"] == V["link"]["signed_hex"] and got["code"] == V["link"]["code"]
    for case, have in zip(V["cases"], got["cases"], strict=True):
        assert have == case["verdict"], case["description"]
