"""Golden vectors of the unit identity (docs/protocol.md §18) and the key transparency log (§19):
certificates, chains and what they entitle, log leaves, roots, inclusion and consistency proofs and a signed
tree head, from fixed inputs only (`SHA-256("samtal golden " || label)`), so regeneration is byte-identical.
Used by scripts/make_vectors.py (`trust`), the Python tests and the browser tests."""
from __future__ import annotations

import hashlib
from typing import Any

from crypto.encoding import b64u
from crypto.identityseal import identity_seed_info, seal_identity, seal_signing_bytes
from crypto.keys import DeviceKeys, x25519_public
from crypto.merkle import (
    consistency_proof,
    device_leaf_body,
    head_signing_bytes,
    inclusion_proof,
    leaf_bytes,
    leaf_hash,
    revoked_leaf_body,
    root,
    sign_head,
    unit_cert_leaf_body,
    unit_epoch_leaf_body,
)
from crypto.sign import ed25519_public
from crypto.unitcert import (
    UnitCert,
    device_subject,
    epoch_subject,
    identity_file,
    identity_subject,
    qr_payload,
    revoke_subject,
    sign_cert,
    unit_fingerprint,
)
from crypto.wrap import sign_unit_epoch

UNIT_ID = "enhet-barn-unga"
ISSUED_AT = 1767261600000
NOTE = ("Unit identity certificates (docs/protocol.md §18) and key transparency log (§19). Keys are derived as "
        "SHA-256('samtal golden ' || label). 'chains' list certificate indices in log order, the pinned key (or "
        "null) and the required verdict; 'log' gives leaves, roots per size, inclusion proofs (index, size) and "
        "consistency proofs (first, second), and 'bad_proofs' that MUST NOT verify. 'identity_seals': the identity "
        "seed sealed to a device (HPKE with the given ikm_e) and signed by the identity; 'bad_seals' MUST NOT "
        "verify.")


def _secret(label: str) -> bytes:
    return hashlib.sha256(b"samtal golden " + label.encode("utf-8")).digest()


def _cert_doc(cert: UnitCert) -> dict[str, Any]:
    return {**cert.to_json(), "signed_hex": cert.signed_bytes().hex()}


def build_trust() -> dict[str, Any]:
    seed1, seed2, log_seed = _secret("unit identity 1"), _secret("unit identity 2"), _secret("key log")
    id1, id2 = ed25519_public(seed1), ed25519_public(seed2)
    staff = DeviceKeys.from_private(_secret("staff sign_seed"), _secret("staff kem_priv"))
    other = DeviceKeys.from_private(_secret("bo sign_seed"), _secret("bo kem_priv"))
    unit_pub = x25519_public(_secret("unit key epoch 1"))
    unit_pub2 = x25519_public(_secret("unit key epoch 2"))
    intruder = _secret("intruder identity")

    def at(n: int) -> int:
        return ISSUED_AT + n * 1000

    certs = [
        sign_cert(seed1, UNIT_ID, "identity", identity_subject(id1), at(0)),                                  # 0
        sign_cert(seed1, UNIT_ID, "device", device_subject(staff.public.device_id, staff.public,
                                                           "handlaggare-anna"), at(1)),                        # 1
        sign_cert(seed1, UNIT_ID, "epoch", epoch_subject(1, unit_pub), at(2)),                                  # 2
        sign_cert(seed1, UNIT_ID, "device", device_subject(other.public.device_id, other.public,
                                                           "handlaggare-bo"), at(3)),                          # 3
        sign_cert(seed1, UNIT_ID, "revoke", revoke_subject(other.public.device_id), at(4)),                     # 4
        sign_cert(seed1, UNIT_ID, "handover", identity_subject(id2), at(5)),                                    # 5
        sign_cert(seed2, UNIT_ID, "epoch", epoch_subject(2, unit_pub2), at(6)),                                 # 6
        sign_cert(seed1, UNIT_ID, "epoch", epoch_subject(2, unit_pub2), at(7)),      # 7: by the old key, too late
        sign_cert(intruder, UNIT_ID, "identity", identity_subject(ed25519_public(intruder)), at(8)),            # 8
        sign_cert(intruder, UNIT_ID, "device", device_subject(other.public.device_id, other.public,
                                                              "handlaggare-bo"), at(9)),                       # 9
    ]
    staff_id, other_id = staff.public.device_id, other.public.device_id
    chains = [
        {"certs": [0, 1, 2], "pinned": None, "valid": True, "current_key": b64u(id1), "devices": [staff_id],
         "revoked": [], "epochs": {"1": b64u(unit_pub)}},
        {"certs": [0, 1, 2, 3, 4], "pinned": b64u(id1), "valid": True, "current_key": b64u(id1),
         "devices": [staff_id], "revoked": [other_id], "epochs": {"1": b64u(unit_pub)}},
        {"certs": [0, 1, 2, 3, 4, 5, 6], "pinned": b64u(id1), "valid": True, "current_key": b64u(id2),
         "devices": [staff_id], "revoked": [other_id], "epochs": {"1": b64u(unit_pub), "2": b64u(unit_pub2)}},
        {"certs": [0, 1, 2, 5, 7], "pinned": None, "valid": False, "error": "chain",
         "why": "a key that was handed over signs nothing after its hand-over"},
        {"certs": [8, 9], "pinned": b64u(id1), "valid": False, "error": "identity_changed",
         "why": "another genesis: the pinned key is not in the chain"},
        {"certs": [8, 9], "pinned": None, "valid": True, "current_key": b64u(ed25519_public(intruder)),
         "devices": [other_id], "revoked": [], "epochs": {},
         "why": "without a pin a new identity is trusted on first use; the published file and the letter decide"},
        {"certs": [1, 2], "pinned": None, "valid": False, "error": "chain", "why": "no genesis first"},
        {"certs": [0, 8], "pinned": None, "valid": False, "error": "chain", "why": "a second genesis"},
    ]
    epoch_sig = sign_unit_epoch(staff, UNIT_ID, 1, unit_pub)
    leaves = [
        leaf_bytes("device", at(10), device_leaf_body("medborgare-1", staff_id, staff.public.sign_pub,
                                                      staff.public.kem_pub)),
        leaf_bytes("revoked", at(11), revoked_leaf_body("handlaggare-bo", other_id)),
        leaf_bytes("unit-epoch", at(12), unit_epoch_leaf_body(UNIT_ID, 1, unit_pub, staff_id, epoch_sig)),
    ] + [leaf_bytes("unit-cert", at(13 + i), unit_cert_leaf_body(c.signed_bytes(), c.signature))
         for i, c in enumerate(certs[:4])]
    hashes = [leaf_hash(x) for x in leaves]
    n = len(hashes)
    head = sign_head(log_seed, n, root(hashes), at(20))
    good_inclusion = inclusion_proof(2, hashes)
    good_consistency = consistency_proof(3, hashes)
    ikm_e = _secret("ikm_e identity seal staff")
    wrapped, seal_sig = seal_identity(seed1, UNIT_ID, staff_id, staff.public.kem_pub, ikm_e=ikm_e)
    seal = {"identity_key": b64u(id1), "recipient": staff_id, "recipient_kem_priv_hex": staff.kem_priv.hex(),
            "ikm_e_hex": ikm_e.hex(), "info_hex": identity_seed_info(UNIT_ID, id1).hex(), **wrapped.to_json(),
            "signed_hex": seal_signing_bytes(UNIT_ID, id1, staff_id, wrapped).hex(), "signature": b64u(seal_sig),
            "seed_hex": seed1.hex()}
    bad_seals = [
        {**seal, "recipient": other_id, "why": "a seal made for another device"},
        {**seal, "identity_key": b64u(id2), "why": "checked against another identity key (after a hand-over)"},
        {**seal, "signature": b64u(sign_cert(seed2, UNIT_ID, "identity", identity_subject(id2), 0).signature),
         "why": "a signature that is not over this seal"},
    ]
    return {
        "note": NOTE,
        "unit_id": UNIT_ID,
        "identity": {
            "seed_hex": seed1.hex(), "identity_key": b64u(id1), "fingerprint": unit_fingerprint(UNIT_ID, id1),
            "qr": qr_payload(UNIT_ID, id1), "file": identity_file(UNIT_ID, seed1, "Barn och unga"),
            "next_seed_hex": seed2.hex(), "next_identity_key": b64u(id2),
        },
        "devices": {"staff": {"device_id": staff_id, **staff.public.to_json()},
                    "bo": {"device_id": other_id, **other.public.to_json()}},
        "certificates": [_cert_doc(c) for c in certs],
        "identity_seals": [seal],
        "bad_seals": bad_seals,
        "chains": chains,
        "log": {
            "leaves": [{"leaf_hex": x.hex(), "leaf_hash_hex": h.hex()} for x, h in zip(leaves, hashes, strict=True)],
            "roots": [root(hashes[:m]).hex() for m in range(n + 1)],
            "inclusion": [{"index": i, "size": s, "proof": [p.hex() for p in inclusion_proof(i, hashes[:s])]}
                          for s in range(1, n + 1) for i in range(s)],
            "consistency": [{"first": m, "second": s, "proof": [p.hex() for p in consistency_proof(m, hashes[:s])]}
                            for s in range(1, n + 1) for m in range(1, s + 1)],
            "head": {"log_seed_hex": log_seed.hex(), "log_key": b64u(ed25519_public(log_seed)),
                     "signed_hex": head_signing_bytes(head.size, head.root, head.timestamp).hex(), **head.to_json()},
            "bad_proofs": [
                {"kind": "inclusion", "index": 2, "size": n, "proof": [p.hex() for p in good_inclusion[:-1]],
                 "why": "a path one short"},
                {"kind": "inclusion", "index": 3, "size": n, "proof": [p.hex() for p in good_inclusion],
                 "why": "another leaf's path"},
                {"kind": "consistency", "first": 3, "second": n, "proof": [p.hex() for p in good_consistency[1:]],
                 "why": "a proof missing its first hash"},
                {"kind": "consistency", "first": 4, "second": n, "proof": [p.hex() for p in good_consistency],
                 "why": "the proof of another size"},
            ],
        },
    }
