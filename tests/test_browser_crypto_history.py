"""History links in the browser (web/static/js/crypto/history.js): byte-identical to crypto/history.py on the
golden vectors (tests/vectors/golden_history.json), in real Chromium."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser import page, run  # noqa: F401 (the page fixture)
from tests.test_browser_crypto import GOLDEN, VECTORS

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")

HISTORY = json.loads((VECTORS / "golden_history.json").read_text(encoding="utf-8"))


def test_history_links_seal_byte_identical_open_and_verify(page: Any) -> None:  # noqa: F811
    got = run(page, """
        const h = arg.h, staff = await golden(arg.staff), out = [];
        const unitKey = (e) => C.importX25519Private(unhex(h.unit_keys[e].unit_priv_hex));
        const caseKey = (e) => C.importCaseKeyForTest(unhex(h.case_keys[e].case_key_hex));
        for (const l of h.unit_links) {
          const link = unhex(l.link_hex);
          out.push({
            sealed: hex(await C.sealUnitHistory(h.unit_id, l.epoch, unhex(l.unit_pub_hex), l.sealed_epoch,
              unhex(h.unit_keys[l.sealed_epoch].unit_priv_hex), unhex(l.ikm_e_hex))),
            info: hex(C.unitHistoryInfo(h.unit_id, l.epoch, l.sealed_epoch)),
            opened: hex(await C.openUnitHistory(h.unit_id, l.epoch, await unitKey(l.epoch), l.sealed_epoch, link,
              unhex(l.sealed_pub_hex))),
            signed: hex(C.historySigningBytes("unit", h.unit_id, l.epoch, l.sealed_epoch, link)),
            signature: hex(await C.signHistory(staff, "unit", h.unit_id, l.epoch, l.sealed_epoch, link)),
            verifies: await C.verifyHistory(staff, unhex(l.signature_hex), "unit", h.unit_id, l.epoch, l.sealed_epoch, link),
            other: await C.verifyHistory(staff, unhex(l.signature_hex), "case", h.unit_id, l.epoch, l.sealed_epoch, link),
          });
        }
        for (const l of h.case_links) {
          const link = unhex(l.link_hex);
          out.push({
            sealed: hex(await C.sealCaseHistory(h.case_id, l.epoch, await caseKey(l.epoch), l.sealed_epoch,
              unhex(h.case_keys[l.sealed_epoch].case_key_hex), unhex(l.nonce_hex))),
            aad: hex(C.caseHistoryAad(h.case_id, l.epoch, l.sealed_epoch)),
            opened: hex(await C.openCaseHistory(h.case_id, l.epoch, await caseKey(l.epoch), l.sealed_epoch, link)),
            signed: hex(C.historySigningBytes("case", h.case_id, l.epoch, l.sealed_epoch, link)),
            signature: hex(await C.signHistory(staff, "case", h.case_id, l.epoch, l.sealed_epoch, link)),
            verifies: await C.verifyHistory(staff, unhex(l.signature_hex), "case", h.case_id, l.epoch, l.sealed_epoch, link),
            other: await C.verifyHistory(staff, unhex(l.signature_hex), "case", h.case_id, l.epoch + 1, l.sealed_epoch, link),
          });
        }
        const negative = [];
        for (const n of h.negative) {
          negative.push(await outcome(async () => n.kind === "case"
            ? C.openCaseHistory(h.case_id, n.epoch, await caseKey(n.key_epoch), n.sealed_epoch, unhex(n.link_hex))
            : C.openUnitHistory(h.unit_id, n.epoch, await unitKey(n.key_epoch), n.sealed_epoch, unhex(n.link_hex),
              unhex(n.expected_pub_hex))));
        }
        return { out, negative };""", {"h": HISTORY, "staff": GOLDEN["devices"]["staff"]})
    for g, link in zip(got["out"], HISTORY["unit_links"] + HISTORY["case_links"]):
        keys = HISTORY["unit_keys"] if link["kind"] == "unit" else HISTORY["case_keys"]
        older = keys[str(link["sealed_epoch"])]
        assert g["sealed"] == link["link_hex"]
        assert g["opened"] == older.get("unit_priv_hex", older.get("case_key_hex"))
        assert g.get("info", g.get("aad")) == link.get("info_hex", link.get("aad_hex"))
        assert (g["signed"], g["signature"]) == (link["signed_hex"], link["signature_hex"])
        assert g["verifies"] is True and g["other"] is False
    errors = {"decryption_fails": "DecryptionError", "wrong_key": "CryptoError", "malformed": "MalformedError"}
    assert [n.get("error") for n in got["negative"]] == [errors[n["expect"]] for n in HISTORY["negative"]]
