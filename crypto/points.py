"""Curve constants and the small-order blocklists for Ed25519 and X25519, kept in one place."""
from __future__ import annotations

P = 2**255 - 19  # the field prime of Curve25519 / edwards25519
L = 2**252 + 27742317777372353535851937790883648493  # order of the prime-order subgroup (RFC 8032)


def _le(hex_le: str) -> int:
    return int.from_bytes(bytes.fromhex(hex_le), "little")


# Ed25519: y coordinates of the eight small-order points (the 8-torsion): y = 1 (identity), y = p - 1
# (order 2), y = 0 (two points of order 4) and the two y values of the four points of order 8. Each y
# stands for both signs of x: compare with the sign bit masked off and also "negative zero" encodings
# are caught. Non-canonical y >= p (which include p and p + 1, aliases of 0 and 1) are rejected as a class.
# Together that is the set libsodium blocks in ge25519_has_small_order().
ED25519_SMALL_ORDER_Y = frozenset(
    {0, 1, P - 1}
    | {_le("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
       _le("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")}
)

# X25519: u-coordinates of small order (libsodium's crypto_scalarmult blocklist, canonical part). A peer
# key among these forces the shared secret to a value the attacker knows (all zero).
X25519_SMALL_ORDER_U = frozenset(
    {0, 1, P - 1}
    | {_le("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
       _le("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")}
)
