/**
 * AES-256-GCM with a 96-bit nonce and 128-bit tag: the one AEAD used by HPKE and by message envelopes
 * (crypto/aead.py).
 * @module crypto/aead
 */
import { DecryptionError, MalformedError } from "./errors.js";
import { asBytes, requireLen } from "./encoding.js";

export const KEY_LEN = 32;
export const NONCE_LEN = 12;
export const TAG_LEN = 16;

/**
 * Import 32 raw bytes as a non-extractable AES-256-GCM key (case keys, HPKE keys).
 * @param {Uint8Array} raw
 * @returns {Promise<CryptoKey>}
 */
export function importAesKey(raw) {
  return crypto.subtle.importKey("raw", requireLen(raw, KEY_LEN, "AES-256-GCM key"), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** @param {unknown} key */
function requireAesKey(key) {
  const alg = key instanceof CryptoKey ? /** @type {AesKeyAlgorithm} */ (key.algorithm) : null;
  if (alg?.name !== "AES-GCM" || alg.length !== 256) throw new MalformedError("key must be an AES-256-GCM CryptoKey");
  return /** @type {CryptoKey} */ (key);
}

/** @param {Uint8Array} nonce @param {Uint8Array} aad @returns {AesGcmParams} */
function gcm(nonce, aad) {
  return { name: "AES-GCM", iv: requireLen(nonce, NONCE_LEN, "AES-GCM nonce"), additionalData: asBytes(aad, "aad") };
}

/**
 * Encrypt and authenticate; returns ciphertext || 16-byte tag.
 * @param {CryptoKey} key @param {Uint8Array} nonce @param {Uint8Array} aad @param {Uint8Array} pt
 * @returns {Promise<Uint8Array>}
 */
export async function aeadSeal(key, nonce, aad, pt) {
  return new Uint8Array(await crypto.subtle.encrypt(gcm(nonce, aad), requireAesKey(key), asBytes(pt, "plaintext")));
}

/**
 * Verify and decrypt ciphertext || tag; throws DecryptionError without revealing any plaintext.
 * @param {CryptoKey} key @param {Uint8Array} nonce @param {Uint8Array} aad @param {Uint8Array} ct
 * @returns {Promise<Uint8Array>}
 */
export async function aeadOpen(key, nonce, aad, ct) {
  const params = gcm(nonce, aad);
  const data = asBytes(ct, "ciphertext");
  requireAesKey(key);
  try {
    // WebCrypto refuses a ciphertext shorter than the tag with the same OperationError as a bad tag.
    return new Uint8Array(await crypto.subtle.decrypt(params, key, data));
  } catch (exc) {
    throw new DecryptionError("authentication failed", { cause: exc });
  }
}
