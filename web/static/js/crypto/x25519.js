/**
 * X25519 on WebCrypto: key import without extraction, the public key of a private CryptoKey, and
 * Diffie-Hellman that refuses the all-zero output (crypto/keys.py, crypto/hpke.py `dh`).
 * @module crypto/x25519
 */
import { CryptoError } from "./errors.js";
import { intLE, requireLen } from "./encoding.js";
import { P, X25519_SMALL_ORDER_U } from "./points.js";

const X25519 = { name: "X25519" };
const KEY_LEN = 32;
// PKCS#8 PrivateKeyInfo for id-X25519 (1.3.101.110) with a 32-byte private key.
const PKCS8_X25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];
const BASEPOINT = Uint8Array.from({ length: KEY_LEN }, (_, i) => (i === 0 ? 9 : 0)); // u = 9

/** @type {Promise<CryptoKey> | null} */
let basepointKey = null;

/**
 * Import a raw 32-byte X25519 private key as a non-extractable CryptoKey for deriveBits.
 * @param {Uint8Array} raw
 * @returns {Promise<CryptoKey>}
 */
export function importX25519Private(raw) {
  const der = new Uint8Array([...PKCS8_X25519, ...requireLen(raw, KEY_LEN, "X25519 private key")]);
  return crypto.subtle.importKey("pkcs8", der, X25519, false, ["deriveBits"]);
}

/**
 * Import a raw 32-byte X25519 public key.
 * @param {Uint8Array} pub
 * @returns {Promise<CryptoKey>}
 */
export function importX25519Public(pub) {
  return crypto.subtle.importKey("raw", requireLen(pub, KEY_LEN, "X25519 public key"), X25519, true, []);
}

/**
 * The public key of a private CryptoKey, computed as X25519(priv, 9) so that the private key never
 * has to be extractable.
 * @param {CryptoKey} priv
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export async function x25519PublicKey(priv) {
  basepointKey ??= importX25519Public(BASEPOINT);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: await basepointKey }, priv, 256));
}

/**
 * X25519(priv, pub), refusing an all-zero output: with a small-order peer key the "shared" secret is
 * known to whoever chose that key (RFC 9180 7.1.4). Chromium refuses it already; we check again so we
 * never depend on that.
 * @param {CryptoKey} priv
 * @param {Uint8Array} pub 32 bytes
 * @returns {Promise<Uint8Array>} the 32-byte shared secret
 * @throws {CryptoError}
 */
export async function x25519(priv, pub) {
  requireLen(pub, KEY_LEN, "X25519 public key");
  let shared;
  try {
    const pubKey = await importX25519Public(pub);
    shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: pubKey }, priv, 256));
  } catch (exc) {
    throw new CryptoError("X25519 failed (all-zero shared secret from a small-order public key)", { cause: exc });
  }
  if (shared.every((b) => b === 0)) {
    throw new CryptoError("X25519 produced the all-zero shared secret (small-order public key)");
  }
  return shared;
}

/**
 * True for a canonical X25519 public key that is not of small order. RFC 7748 DH accepts any 32 bytes;
 * a key directory can be stricter because honest devices only publish canonical large-order keys.
 * @param {Uint8Array} pub
 */
export function isAcceptableX25519Public(pub) {
  if (!(pub instanceof Uint8Array) || pub.length !== KEY_LEN) return false;
  const u = intLE(pub);
  return u < P && !X25519_SMALL_ORDER_U.has(u);
}
