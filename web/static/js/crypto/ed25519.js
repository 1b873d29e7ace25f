/**
 * Ed25519 on WebCrypto, with strict verification so that server and browsers accept exactly the same
 * signatures (docs/protocol.md section 4; crypto/sign.py).
 * @module crypto/ed25519
 */
import { intLE } from "./encoding.js";
import { ED25519_SMALL_ORDER_Y, L, P } from "./points.js";

const ED25519 = { name: "Ed25519" };
const KEY_LEN = 32;
const SIGNATURE_LEN = 64;

/**
 * True if a 32-byte point encoding is of small order or not canonical (y >= p), or is not 32 bytes.
 * Used for public keys and for the R half of signatures.
 * @param {Uint8Array} point
 */
export function isSmallOrderOrNoncanonical(point) {
  if (!(point instanceof Uint8Array) || point.length !== KEY_LEN) return true;
  const y = intLE(point) & ((1n << 255n) - 1n);
  return y >= P || ED25519_SMALL_ORDER_Y.has(y);
}

/**
 * Verify an Ed25519 signature strictly; resolves to false, never rejects, for anything not valid.
 *
 * The checks of protocol section 4 (lengths, small-order or non-canonical A and R, S >= L) run here
 * before WebCrypto: implementations differ on exactly these edge cases (OpenSSL accepts the identity
 * key with R = identity and S = 0 for every message), and Samtal needs one verdict everywhere.
 * The equation itself is WebCrypto's cofactorless check, as libsodium does on the server.
 * @param {Uint8Array} publicKey 32 bytes
 * @param {Uint8Array} message
 * @param {Uint8Array} signature 64 bytes
 * @returns {Promise<boolean>}
 */
export async function verifyStrict(publicKey, message, signature) {
  try {
    if (![publicKey, message, signature].every((x) => x instanceof Uint8Array)) return false;
    if (publicKey.length !== KEY_LEN || signature.length !== SIGNATURE_LEN) return false;
    if (isSmallOrderOrNoncanonical(publicKey) || isSmallOrderOrNoncanonical(signature.subarray(0, 32))) return false;
    if (intLE(signature.subarray(32)) >= L) return false;
    const key = await crypto.subtle.importKey("raw", publicKey, ED25519, false, ["verify"]);
    return await crypto.subtle.verify(ED25519, key, signature, message);
  } catch {
    return false; // e.g. a browser without Ed25519 in WebCrypto: refuse rather than throw
  }
}

/**
 * Sign with an Ed25519 private CryptoKey (Ed25519 is deterministic: same key and message, same bytes).
 * @param {CryptoKey} privateKey
 * @param {Uint8Array} message
 * @returns {Promise<Uint8Array>} 64 bytes
 */
export async function ed25519Sign(privateKey, message) {
  return new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, message));
}

// PKCS#8 PrivateKeyInfo for id-Ed25519 (1.3.101.112) with a 32-byte seed: the only way WebCrypto
// imports a raw Ed25519 private key.
const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/**
 * Import a 32-byte Ed25519 seed as a private CryptoKey (PKCS#8).
 * @param {Uint8Array} seed
 * @param {boolean} extractable
 * @returns {Promise<CryptoKey>}
 */
export function importEd25519Seed(seed, extractable) {
  const der = new Uint8Array([...PKCS8_ED25519, ...seed]);
  return crypto.subtle.importKey("pkcs8", der, ED25519, extractable, ["sign"]);
}

/**
 * Import a raw 32-byte Ed25519 public key for verification.
 * @param {Uint8Array} publicKey
 * @returns {Promise<CryptoKey>}
 */
export function importEd25519Public(publicKey) {
  return crypto.subtle.importKey("raw", publicKey, ED25519, true, ["verify"]);
}
