"""The key transparency log's tree (docs/protocol.md §19): RFC 9162 Merkle tree hashing, inclusion and
consistency proofs and their verification, the log's leaves and its signed tree heads.

    leaf hash = SHA-256(0x00 || leaf)        node hash = SHA-256(0x01 || left || right)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .encoding import b64u, lp16, require_len, u32, u64, unb64u_len, utf8
from .errors import MalformedError
from .sign import sign, verify_strict

_LEAF_LABEL = b"samtal/log-leaf/v1"
_HEAD_LABEL = b"samtal/tree-head/v1"
LEAF_KINDS = ("device", "revoked", "unit-epoch", "unit-cert")
MAX_PROOF = 64  # a tree of fewer than 2^63 leaves never needs a longer path


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 9162 §2.1.1)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(root(hashes[:k]), root(hashes[k:]))


def inclusion_proof(index: int, hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1): the audit path of leaf `index` in the tree of `hashes`."""
    if not 0 <= index < len(hashes):
        raise MalformedError("leaf index outside the tree")
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return inclusion_proof(index, hashes[:k]) + [root(hashes[k:])]
    return inclusion_proof(index - k, hashes[k:]) + [root(hashes[:k])]


def consistency_proof(first: int, hashes: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1) between the tree of the first `first` leaves and all of them."""
    if not 0 < first <= len(hashes):
        raise MalformedError("the first tree must be non-empty and not larger than the second")
    return _subproof(first, hashes, True)


def _subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [root(hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(m, hashes[:k], whole) + [root(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [root(hashes[:k])]


def verify_inclusion(leaf_h: bytes, index: int, size: int, proof: list[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2; False for anything that does not check out."""
    if not 0 <= index < size or len(proof) > MAX_PROOF:
        return False
    fn, sn, r = index, size - 1, leaf_h
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2; False for anything that does not check out."""
    if not 0 < first <= second or len(proof) > MAX_PROOF:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is the start of the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# -- leaves --------------------------------------------------------------------------------------------------
def leaf_bytes(kind: str, logged_at: int, body: bytes) -> bytes:
    if kind not in LEAF_KINDS:
        raise MalformedError("unknown log leaf kind")
    return _LEAF_LABEL + lp16(kind.encode("ascii")) + u64(logged_at) + lp16(body)


def device_leaf_body(user_id: str, device_id: str, sign_pub: bytes, kem_pub: bytes) -> bytes:
    return (lp16(utf8(user_id)) + lp16(device_id.encode("ascii")) + require_len(sign_pub, 32, "sign_pub")
            + require_len(kem_pub, 32, "kem_pub"))


def revoked_leaf_body(user_id: str, device_id: str) -> bytes:
    return lp16(utf8(user_id)) + lp16(device_id.encode("ascii"))


def unit_epoch_leaf_body(unit_id: str, epoch: int, unit_pub: bytes, created_by_device: str, signature: bytes) -> bytes:
    return (lp16(utf8(unit_id)) + u32(epoch) + require_len(unit_pub, 32, "unit_pub")
            + lp16(created_by_device.encode("ascii")) + require_len(signature, 64, "signature"))


def unit_cert_leaf_body(cert_signed: bytes, signature: bytes) -> bytes:
    return lp16(cert_signed) + require_len(signature, 64, "signature")


@dataclass(frozen=True)
class Leaf:
    kind: str
    logged_at: int
    body: bytes


def parse_leaf(leaf: bytes) -> Leaf:
    """Split a leaf into kind, time and body (the body's fields are read by the monitor)."""
    if not leaf.startswith(_LEAF_LABEL):
        raise MalformedError("not a Samtal log leaf")
    rest = leaf[len(_LEAF_LABEL):]
    n = int.from_bytes(rest[:2], "big")
    kind = rest[2:2 + n].decode("ascii", "replace")
    rest = rest[2 + n:]
    if kind not in LEAF_KINDS or len(rest) < 10:
        raise MalformedError("unknown or truncated log leaf")
    logged_at = int.from_bytes(rest[:8], "big")
    m = int.from_bytes(rest[8:10], "big")
    if len(rest) != 10 + m:
        raise MalformedError("truncated log leaf")
    return Leaf(kind, logged_at, rest[10:])


def _text(raw: bytes) -> str:
    # A leaf comes from a server that may lie; bytes that are not UTF-8 are a malformed leaf, not a crash of
    # the monitor that reads it.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("a text field of a leaf is not UTF-8") from None


def read_fields(body: bytes, spec: str) -> list[Any]:
    """Read a leaf body by a spec of 's' (lp16 text), 'b' (lp16 bytes), '4' (u32), 'k' (32 bytes), 'g' (64)."""
    out: list[Any] = []
    at = 0
    for f in spec:
        if f in "sb":
            n = int.from_bytes(body[at:at + 2], "big")
            raw = body[at + 2:at + 2 + n]
            if len(raw) != n:
                raise MalformedError("truncated field")
            out.append(_text(raw) if f == "s" else raw)
            at += 2 + n
        else:
            size = {"4": 4, "k": 32, "g": 64}[f]
            raw = body[at:at + size]
            if len(raw) != size:
                raise MalformedError("truncated field")
            out.append(int.from_bytes(raw, "big") if f == "4" else raw)
            at += size
    if at != len(body):
        raise MalformedError("trailing bytes in a leaf body")
    return out


# -- signed tree heads ------------------------------------------------------------------------------------------
def head_signing_bytes(size: int, root_hash: bytes, timestamp: int) -> bytes:
    return _HEAD_LABEL + u64(size) + require_len(root_hash, 32, "root") + u64(timestamp)


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes
    timestamp: int
    signature: bytes

    def verifies(self, log_key: bytes) -> bool:
        try:
            return verify_strict(log_key, head_signing_bytes(self.size, self.root, self.timestamp), self.signature)
        except MalformedError:
            return False

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "root": b64u(self.root), "timestamp": self.timestamp,
                "signature": b64u(self.signature)}

    @classmethod
    def from_json(cls, d: Any) -> TreeHead:
        if not isinstance(d, dict) or not isinstance(d.get("size"), int) or not isinstance(d.get("timestamp"), int):
            raise MalformedError("a tree head is {size, root, timestamp, signature}")
        if not isinstance(d.get("root"), str) or not isinstance(d.get("signature"), str):
            raise MalformedError("a tree head is {size, root, timestamp, signature}")
        return cls(d["size"], unb64u_len(d["root"], 32, "root"), d["timestamp"],
                   unb64u_len(d["signature"], 64, "signature"))


def sign_head(log_seed: bytes, size: int, root_hash: bytes, timestamp: int) -> TreeHead:
    return TreeHead(size, root_hash, timestamp, sign(log_seed, head_signing_bytes(size, root_hash, timestamp)))


def is_fork(a: TreeHead, b: TreeHead) -> bool:
    """Two heads signed by the log key for the same size with different roots prove the log forked
    (two different heads of different sizes are checked with a consistency proof instead)."""
    return a.size == b.size and a.root != b.root
