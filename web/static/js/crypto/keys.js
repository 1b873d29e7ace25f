/**
 * Device keys (one Ed25519 signing key and one X25519 KEM key per browser profile), device ids,
 * safety numbers and registration proofs (crypto/keys.py; docs/protocol.md section 3).
 *
 * Private keys are non-extractable CryptoKeys: script in the page can use them but never read them,
 * and IndexedDB stores the CryptoKey objects themselves, not their bytes.
 * @module crypto/keys
 */
import { MalformedError } from "./errors.js";
import { ascii, b64u, concat, isId16, lp16, unb64uLen, utf8 } from "./encoding.js";
import {
  ed25519Sign, importEd25519Public, importEd25519Seed, isSmallOrderOrNoncanonical, verifyStrict,
} from "./ed25519.js";
import { importX25519Private, importX25519Public, isAcceptableX25519Public, x25519PublicKey } from "./x25519.js";

const KEY_LEN = 32;
const STORED_VERSION = 1;
const DEVICE_ID_LABEL = ascii("samtal/device-id/v1");
const FINGERPRINT_LABEL = ascii("samtal/fingerprint/v1");
const REGISTRATION_LABEL = ascii("samtal/device-reg/v1");

/**
 * @typedef {object} DevicePublicKeys
 * @property {Uint8Array} signPub Ed25519 public key, 32 bytes
 * @property {Uint8Array} kemPub X25519 public key, 32 bytes
 */

/**
 * @typedef {object} DeviceKeys
 * @property {CryptoKeyPair} sign Ed25519; the private key is non-extractable
 * @property {CryptoKeyPair} kem X25519; the private key is non-extractable
 * @property {Uint8Array} signPub
 * @property {Uint8Array} kemPub
 * @property {string} id the device id (22 characters)
 */

/**
 * The structured-cloneable form for IndexedDB (CryptoKeys clone as keys, still non-extractable).
 * @typedef {object} StoredDeviceKeys
 * @property {number} version
 * @property {CryptoKeyPair} sign
 * @property {CryptoKeyPair} kem
 * @property {Uint8Array} signPub
 * @property {Uint8Array} kemPub
 * @property {string} id
 */

/**
 * Refuse public keys that verify anything (small-order Ed25519) or leak what is encrypted to them
 * (small-order X25519), or that have a second spelling. Honest devices never make such keys.
 * @param {Uint8Array} signPub @param {Uint8Array} kemPub
 */
function checkDevicePublic(signPub, kemPub) {
  if (!(signPub instanceof Uint8Array) || signPub.length !== KEY_LEN || isSmallOrderOrNoncanonical(signPub)) {
    throw new MalformedError("sign_pub is not 32 bytes, of small order or not canonically encoded");
  }
  if (!isAcceptableX25519Public(kemPub)) {
    throw new MalformedError("kem_pub is not 32 bytes, of small order or not canonically encoded");
  }
}

/** @param {Uint8Array} label @param {Uint8Array} signPub @param {Uint8Array} kemPub */
async function labelledHash(label, signPub, kemPub) {
  checkDevicePublic(signPub, kemPub);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(label, signPub, kemPub)));
}

/**
 * The device id: 16 bytes of SHA-256 over both public keys, base64url (22 characters).
 * @param {Uint8Array} signPub @param {Uint8Array} kemPub
 * @returns {Promise<string>}
 */
export async function deviceId(signPub, kemPub) {
  return b64u((await labelledHash(DEVICE_ID_LABEL, signPub, kemPub)).subarray(0, 16));
}

/**
 * The safety number people compare out of band: six groups of five digits.
 * @param {Uint8Array} signPub @param {Uint8Array} kemPub
 * @returns {Promise<string>}
 */
export async function fingerprint(signPub, kemPub) {
  const digest = await labelledHash(FINGERPRINT_LABEL, signPub, kemPub);
  const groups = [];
  for (let i = 0; i < 30; i += 5) {
    // 40 bits fit a Number exactly (< 2^53).
    const chunk = digest.subarray(i, i + 5).reduce((n, b) => n * 256 + b, 0);
    groups.push(String(chunk % 100000).padStart(5, "0"));
  }
  return groups.join(" ");
}

/**
 * Parse and validate the public JSON form {"sign_pub": b64u, "kem_pub": b64u}.
 * @param {unknown} d
 * @returns {DevicePublicKeys}
 */
export function devicePublicFromJson(d) {
  if (typeof d !== "object" || d === null) throw new MalformedError("device keys must be a JSON object");
  const { sign_pub: s, kem_pub: k } = /** @type {Record<string, unknown>} */ (d);
  if (typeof s !== "string" || typeof k !== "string") {
    throw new MalformedError("missing or non-string sign_pub or kem_pub");
  }
  const pub = { signPub: unb64uLen(s, KEY_LEN, "sign_pub"), kemPub: unb64uLen(k, KEY_LEN, "kem_pub") };
  checkDevicePublic(pub.signPub, pub.kemPub);
  return pub;
}

/**
 * The public JSON form used by the HTTP API.
 * @param {DevicePublicKeys} pub
 * @returns {{sign_pub: string, kem_pub: string}}
 */
export function devicePublicToJson(pub) {
  return { sign_pub: b64u(pub.signPub), kem_pub: b64u(pub.kemPub) };
}

/**
 * @param {CryptoKeyPair} sign @param {CryptoKeyPair} kem @param {Uint8Array} signPub @param {Uint8Array} kemPub
 * @returns {Promise<DeviceKeys>}
 */
async function assemble(sign, kem, signPub, kemPub) {
  return Object.freeze({ sign, kem, signPub, kemPub, id: await deviceId(signPub, kemPub) });
}

/**
 * Create a new device with fresh keys; both private keys are non-extractable.
 * @returns {Promise<DeviceKeys>}
 */
export async function generateDeviceKeys() {
  const generate = (/** @type {string} */ name, /** @type {KeyUsage[]} */ usages) =>
    /** @type {Promise<CryptoKeyPair>} */ (crypto.subtle.generateKey({ name }, false, usages));
  const sign = await generate("Ed25519", ["sign", "verify"]);
  const kem = await generate("X25519", ["deriveBits"]);
  const signPub = new Uint8Array(await crypto.subtle.exportKey("raw", sign.publicKey));
  const kemPub = new Uint8Array(await crypto.subtle.exportKey("raw", kem.publicKey));
  return assemble(sign, kem, signPub, kemPub);
}

/**
 * Rebuild a device from raw private keys (the golden vectors, a CLI key file). For tests only: the
 * seed passes through page memory, and the Ed25519 public key is read from a short-lived extractable
 * copy because WebCrypto has no other way to derive it. The keys returned are non-extractable.
 * @param {Uint8Array} signSeed 32 bytes
 * @param {Uint8Array} kemPriv 32 bytes
 * @returns {Promise<DeviceKeys>}
 */
export async function importDeviceKeysForTest(signSeed, kemPriv) {
  const jwk = await crypto.subtle.exportKey("jwk", await importEd25519Seed(signSeed, true));
  const signPub = unb64uLen(/** @type {string} */ (jwk.x), KEY_LEN, "Ed25519 public key");
  const kemPrivateKey = await importX25519Private(kemPriv);
  const kemPub = await x25519PublicKey(kemPrivateKey);
  const sign = { privateKey: await importEd25519Seed(signSeed, false), publicKey: await importEd25519Public(signPub) };
  const kem = { privateKey: kemPrivateKey, publicKey: await importX25519Public(kemPub) };
  return assemble(sign, kem, signPub, kemPub);
}

/**
 * The object to put into IndexedDB (synchronous; CryptoKeys and Uint8Arrays are structured-cloneable).
 * @param {DeviceKeys} keys
 * @returns {StoredDeviceKeys}
 */
export function deviceKeysToStored(keys) {
  const { sign, kem, signPub, kemPub, id } = keys;
  return {
    version: STORED_VERSION,
    sign: { privateKey: sign.privateKey, publicKey: sign.publicKey },
    kem: { privateKey: kem.privateKey, publicKey: kem.publicKey },
    signPub: new Uint8Array(signPub),
    kemPub: new Uint8Array(kemPub),
    id,
  };
}

/**
 * @param {unknown} key @param {string} algorithm @param {KeyType} type
 */
function isKey(key, algorithm, type) {
  return key instanceof CryptoKey && key.algorithm.name === algorithm && key.type === type
    && (type === "public" || !key.extractable);
}

/**
 * Rebuild DeviceKeys from what IndexedDB returned (synchronous). Checks the shape, the key types and
 * that the private keys are non-extractable; throws MalformedError for anything else, so a damaged or
 * foreign record is never used as this device's identity.
 * @param {unknown} stored
 * @returns {DeviceKeys}
 */
export function deviceKeysFromStored(stored) {
  const s = /** @type {Partial<StoredDeviceKeys> | null} */ (stored);
  const ok = typeof s === "object" && s !== null && s.version === STORED_VERSION
    && isKey(s.sign?.privateKey, "Ed25519", "private") && isKey(s.sign?.publicKey, "Ed25519", "public")
    && isKey(s.kem?.privateKey, "X25519", "private") && isKey(s.kem?.publicKey, "X25519", "public")
    && isId16(s.id);
  if (!ok) throw new MalformedError("not a stored device key record of version 1");
  const { sign, kem, signPub, kemPub, id } = /** @type {StoredDeviceKeys} */ (s);
  checkDevicePublic(signPub, kemPub);
  return Object.freeze({
    sign: { privateKey: sign.privateKey, publicKey: sign.publicKey },
    kem: { privateKey: kem.privateKey, publicKey: kem.publicKey },
    signPub,
    kemPub,
    id,
  });
}

/**
 * Ed25519-sign `message` with this device's key.
 * @param {DeviceKeys} keys @param {Uint8Array} message
 * @returns {Promise<Uint8Array>}
 */
export function deviceSign(keys, message) {
  return ed25519Sign(keys.sign.privateKey, message);
}

/** @param {string} userId @param {DevicePublicKeys} pub */
function registrationBytes(userId, pub) {
  return concat(REGISTRATION_LABEL, lp16(utf8(userId)), pub.signPub, pub.kemPub);
}

/**
 * Sign the binding of this device's two public keys to a user account.
 * @param {DeviceKeys} keys @param {string} userId
 * @returns {Promise<Uint8Array>} 64 bytes
 */
export function registrationProof(keys, userId) {
  return deviceSign(keys, registrationBytes(userId, keys));
}

/**
 * Check a registration proof strictly; false for any invalid or malformed input.
 * @param {DevicePublicKeys} pub @param {string} userId @param {Uint8Array} proof
 * @returns {Promise<boolean>}
 */
export async function verifyRegistrationProof(pub, userId, proof) {
  let signed;
  try {
    signed = registrationBytes(userId, pub);
  } catch {
    return false;
  }
  return verifyStrict(pub.signPub, signed, proof);
}
