/**
 * Curve constants and the small-order blocklists for Ed25519 and X25519, as in crypto/points.py.
 * @module crypto/points
 */

/** The field prime of Curve25519 / edwards25519. */
export const P = 2n ** 255n - 19n;
/** Order of the prime-order subgroup (RFC 8032). */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** @param {string} hexLE little-endian hex of 32 bytes @returns {bigint} */
function le(hexLE) {
  return BigInt("0x" + (hexLE.match(/../g) ?? []).reverse().join(""));
}

/**
 * Ed25519: y coordinates of the eight small-order points (identity, order 2, the two of order 4 share
 * y = 0, and the two y values of the order-8 points). Compared with the sign bit masked off, so both
 * signs of x, including "negative zero" encodings, are caught; y >= p is rejected as a class.
 */
export const ED25519_SMALL_ORDER_Y = new Set([
  0n, 1n, P - 1n,
  le("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
  le("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
]);

/** X25519: canonical u-coordinates of small order (libsodium's blocklist). */
export const X25519_SMALL_ORDER_U = new Set([
  0n, 1n, P - 1n,
  le("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
  le("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
]);
