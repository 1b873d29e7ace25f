/**
 * Key wrapping: unit keys to staff devices, case keys to citizen devices and unit keys, and the
 * signed records that stop a malicious server from substituting a key of its own (crypto/wrap.py;
 * docs/protocol.md sections 5 to 8).
 * @module crypto/wrap
 */
import { CryptoError, MalformedError } from "./errors.js";
import { ascii, b64u, bytesEqual, concat, epochBytes, isId16, lp16, requireLen, unb64u, utf8 } from "./encoding.js";
import { TAG_LEN, importAesKey } from "./aead.js";
import { N_ENC, hpkeOpen, hpkeSeal } from "./hpke.js";
import { isAcceptableX25519Public, importX25519Private, x25519PublicKey } from "./x25519.js";
import { importEd25519Seed, verifyStrict } from "./ed25519.js";
import { deviceSign } from "./keys.js";

const KEY_LEN = 32;
const WRAPPED_CT_LEN = KEY_LEN + TAG_LEN;
const UNIT_KEY_LABEL = ascii("samtal/unit-key/v1");
const CASE_KEY_LABEL = ascii("samtal/case-key/v1");
const WRAP_SIG_LABEL = ascii("samtal/wrap-sig/v1");
const UNIT_EPOCH_LABEL = ascii("samtal/unit-epoch/v1");
const ADDRESS_KEY_LABEL = ascii("samtal/address-key/v1");
const ADDRESS_SIGN_KEY_LABEL = ascii("samtal/address-sign-key/v1");
// Wrap kinds whose target is an exchange address and whose recipient is always a unit key epoch: its
// decryption key ("address") and its signing key ("address-sign").
const ADDRESS_KINDS = ["address", "address-sign"];
const WRAP_KINDS = ["unit", "case", ...ADDRESS_KINDS];
// What an unwrapped signing key signs once, to show it is the published key's (WebCrypto cannot compute an
// Ed25519 public key from a non-extractable private key).
const SIGN_KEY_CHECK = ascii("samtal/address-sign-key-check/v1");
// A case key wrapped to the unit key names the unit epoch: "unit:<epoch>", decimal without leading
// zeros so each epoch has exactly one spelling.
const UNIT_RECIPIENT_RE = /^unit:[1-9][0-9]{0,9}$/;
const NO_AAD = new Uint8Array(0);

/**
 * An HPKE-sealed 32-byte key: `enc` (32 bytes) and `ct` (48 bytes). Functions taking a WrappedKey also
 * accept the JSON form {enc: b64u, ct: b64u} as the API sends it.
 * @typedef {{enc: Uint8Array, ct: Uint8Array}} WrappedKey
 * @typedef {{enc: string, ct: string}} WrappedKeyJson
 */

/**
 * HPKE info for wrapping epoch `epoch` of a unit key.
 * @param {string} unitId @param {number} epoch
 */
export function unitKeyInfo(unitId, epoch) {
  return concat(UNIT_KEY_LABEL, lp16(utf8(unitId)), epochBytes(epoch));
}

/**
 * HPKE info for wrapping epoch `epoch` of a case key.
 * @param {string} caseId @param {number} epoch
 */
export function caseKeyInfo(caseId, epoch) {
  return concat(CASE_KEY_LABEL, lp16(utf8(caseId)), epochBytes(epoch));
}

/**
 * HPKE info for wrapping version `version` of an exchange address's X25519 private key to a unit key.
 * @param {string} address @param {number} version
 */
export function addressKeyInfo(address, version) {
  return concat(ADDRESS_KEY_LABEL, lp16(utf8(address)), epochBytes(version));
}

/**
 * HPKE info for wrapping version `version` of an exchange address's Ed25519 signing seed to a unit key.
 * @param {string} address @param {number} version
 */
export function addressSignKeyInfo(address, version) {
  return concat(ADDRESS_SIGN_KEY_LABEL, lp16(utf8(address)), epochBytes(version));
}

/**
 * Check a wrapped key's lengths, decoding the JSON form strictly if given; throws MalformedError.
 * @param {WrappedKey | WrappedKeyJson} wrapped
 * @returns {WrappedKey}
 */
export function wrappedFromJson(wrapped) {
  if (typeof wrapped !== "object" || wrapped === null) throw new MalformedError("wrapped key must be {enc, ct}");
  const decode = (/** @type {unknown} */ v) => (typeof v === "string" ? unb64u(v) : v);
  return {
    enc: requireLen(decode(wrapped.enc), N_ENC, "enc"),
    ct: requireLen(decode(wrapped.ct), WRAPPED_CT_LEN, "wrapped key ciphertext"),
  };
}

/**
 * The JSON form {enc: b64u, ct: b64u}.
 * @param {WrappedKey} wrapped
 * @returns {WrappedKeyJson}
 */
export function wrappedToJson(wrapped) {
  const w = wrappedFromJson(wrapped);
  return { enc: b64u(w.enc), ct: b64u(w.ct) };
}

/**
 * @param {Uint8Array} key @param {Uint8Array} info @param {Uint8Array} recipientPub @param {Uint8Array} [ikmE]
 * @returns {Promise<WrappedKey>}
 */
async function wrap(key, info, recipientPub, ikmE) {
  requireLen(key, KEY_LEN, "key to wrap");
  if (!isAcceptableX25519Public(recipientPub)) {
    throw new MalformedError("recipient public key is of small order or not canonical");
  }
  return hpkeSeal(recipientPub, info, NO_AAD, key, ikmE);
}

/**
 * @param {CryptoKey} priv @param {Uint8Array} info @param {WrappedKey | WrappedKeyJson} wrapped
 * @returns {Promise<Uint8Array>} 32 bytes (the length is fixed by the ciphertext length)
 */
function unwrap(priv, info, wrapped) {
  const { enc, ct } = wrappedFromJson(wrapped);
  return hpkeOpen(priv, enc, info, NO_AAD, ct);
}

/**
 * Wrap a unit's raw X25519 private key of one epoch to a staff device. `ikmE` is for test vectors only.
 * @param {Uint8Array} unitPrivRaw @param {string} unitId @param {number} epoch
 * @param {Uint8Array} deviceKemPub @param {Uint8Array} [ikmE]
 * @returns {Promise<WrappedKey>}
 */
export function wrapUnitKey(unitPrivRaw, unitId, epoch, deviceKemPub, ikmE) {
  return wrap(unitPrivRaw, unitKeyInfo(unitId, epoch), deviceKemPub, ikmE);
}

/**
 * Unwrap a unit private key into a non-extractable X25519 CryptoKey, after checking that it matches
 * the unit's published (signed) public key. Without the check a server could hand the device a unit
 * key of its own, and the device would then wrap case keys to the server.
 * @param {CryptoKey} deviceKemPriv @param {string} unitId @param {number} epoch
 * @param {WrappedKey | WrappedKeyJson} wrapped @param {Uint8Array} expectedUnitPub
 * @returns {Promise<CryptoKey>}
 * @throws {DecryptionError} wrong device key, unit or epoch; {CryptoError} unexpected unit key
 */
export function unwrapUnitKey(deviceKemPriv, unitId, epoch, wrapped, expectedUnitPub) {
  return unwrapX25519(deviceKemPriv, unitKeyInfo(unitId, epoch), wrapped, expectedUnitPub, "unit");
}

/**
 * Unwrap a raw X25519 private key into a non-extractable CryptoKey and check its public key.
 * @param {CryptoKey} priv @param {Uint8Array} info @param {WrappedKey | WrappedKeyJson} wrapped
 * @param {Uint8Array} expectedPub @param {string} what "unit" or "address", for the error
 * @returns {Promise<CryptoKey>}
 */
async function unwrapX25519(priv, info, wrapped, expectedPub, what) {
  const expected = requireLen(expectedPub, KEY_LEN, `expected ${what} public key`);
  const raw = await unwrap(priv, info, wrapped);
  try {
    const key = await importX25519Private(raw);
    if (!bytesEqual(await x25519PublicKey(key), expected)) {
      throw new CryptoError(`unwrapped ${what} key does not match the expected ${what} public key`);
    }
    return key;
  } finally {
    raw.fill(0); // best effort: the raw key should not outlive its import
  }
}

/**
 * Wrap a raw 32-byte case key to a citizen device's KEM key or to a unit key. `ikmE` is for test vectors only.
 * @param {Uint8Array} caseKeyRaw @param {string} caseId @param {number} epoch
 * @param {Uint8Array} recipientKemPub @param {Uint8Array} [ikmE]
 * @returns {Promise<WrappedKey>}
 */
export function wrapCaseKey(caseKeyRaw, caseId, epoch, recipientKemPub, ikmE) {
  return wrap(caseKeyRaw, caseKeyInfo(caseId, epoch), recipientKemPub, ikmE);
}

/**
 * Unwrap a case key into a non-extractable AES-256-GCM CryptoKey (encrypt and decrypt).
 * @param {CryptoKey} recipientPriv device KEM key or unit key @param {string} caseId @param {number} epoch
 * @param {WrappedKey | WrappedKeyJson} wrapped
 * @returns {Promise<CryptoKey>}
 * @throws {DecryptionError} for a wrong key, case or epoch
 */
export async function unwrapCaseKey(recipientPriv, caseId, epoch, wrapped) {
  const raw = await unwrap(recipientPriv, caseKeyInfo(caseId, epoch), wrapped);
  try {
    return await importAesKey(raw);
  } finally {
    raw.fill(0);
  }
}

/**
 * Import a raw case key (test vectors, and the round trip tests that play a staff device).
 * @param {Uint8Array} raw 32 bytes
 * @returns {Promise<CryptoKey>} AES-256-GCM, non-extractable
 */
export function importCaseKeyForTest(raw) {
  return importAesKey(raw);
}

/**
 * Wrap an exchange address's raw X25519 private key to a unit key epoch's public key. `ikmE` is for tests only.
 * @param {Uint8Array} addressPrivRaw @param {string} address @param {number} version
 * @param {Uint8Array} unitPub @param {Uint8Array} [ikmE]
 * @returns {Promise<WrappedKey>}
 */
export function wrapAddressKey(addressPrivRaw, address, version, unitPub, ikmE) {
  return wrap(addressPrivRaw, addressKeyInfo(address, version), unitPub, ikmE);
}

/**
 * Unwrap an exchange address's private key with the unit key into a non-extractable X25519 CryptoKey,
 * after checking it matches the address's published public key. The raw key exists only for the import.
 * @param {CryptoKey} unitPriv @param {string} address @param {number} version
 * @param {WrappedKey | WrappedKeyJson} wrapped @param {Uint8Array} expectedPub
 * @returns {Promise<CryptoKey>}
 */
export function unwrapAddressKey(unitPriv, address, version, wrapped, expectedPub) {
  return unwrapX25519(unitPriv, addressKeyInfo(address, version), wrapped, expectedPub, "address");
}

/**
 * Wrap an exchange address's 32-byte Ed25519 signing seed to a unit key epoch's public key. `ikmE` is for tests only.
 * @param {Uint8Array} seed @param {string} address @param {number} version
 * @param {Uint8Array} unitPub @param {Uint8Array} [ikmE]
 * @returns {Promise<WrappedKey>}
 */
export function wrapAddressSignKey(seed, address, version, unitPub, ikmE) {
  return wrap(seed, addressSignKeyInfo(address, version), unitPub, ikmE);
}

/**
 * A non-extractable Ed25519 CryptoKey from a signing seed, checked to be the key of `expectedPub`: it must
 * sign something that verifies with that key (WebCrypto cannot compute the public key of a non-extractable
 * private key).
 * @param {Uint8Array} seed @param {Uint8Array} expectedPub
 */
async function checkedSignKey(seed, expectedPub) {
  const key = await importEd25519Seed(seed, false);
  const check = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, SIGN_KEY_CHECK));
  if (!await verifyStrict(expectedPub, SIGN_KEY_CHECK, check)) {
    throw new CryptoError("unwrapped address signing key does not match the address's public key");
  }
  return key;
}

/**
 * Unwrap an exchange address's signing seed with the unit key into a non-extractable Ed25519 CryptoKey,
 * after checking it is the key of the address's published public key. The raw seed exists only for the import.
 * @param {CryptoKey} unitPriv @param {string} address @param {number} version
 * @param {WrappedKey | WrappedKeyJson} wrapped @param {Uint8Array} expectedPub the Ed25519 public key
 * @returns {Promise<CryptoKey>}
 * @throws {DecryptionError} wrong unit key, address or version; {CryptoError} not the published key
 */
export async function unwrapAddressSignKey(unitPriv, address, version, wrapped, expectedPub) {
  const expected = requireLen(expectedPub, KEY_LEN, "expected address signing public key");
  const seed = await unwrap(unitPriv, addressSignKeyInfo(address, version), wrapped);
  try {
    return await checkedSignKey(seed, expected);
  } finally {
    seed.fill(0); // best effort: the raw key should not outlive its import
  }
}

/**
 * Open an address key wrap of either kind to its raw 32 bytes, checked against the address's public key,
 * to wrap it again to a newer unit key epoch after a rotation. The caller overwrites the bytes after use.
 * @param {CryptoKey} unitPriv @param {"address" | "address-sign"} kind @param {string} address
 * @param {number} version @param {WrappedKey | WrappedKeyJson} wrapped @param {Uint8Array} expectedPub
 * @returns {Promise<Uint8Array>}
 */
export async function openAddressKeyWrap(unitPriv, kind, address, version, wrapped, expectedPub) {
  const expected = requireLen(expectedPub, KEY_LEN, `expected ${kind} public key`);
  const sign = kind === "address-sign";
  const raw = await unwrap(unitPriv, sign ? addressSignKeyInfo(address, version) : addressKeyInfo(address, version),
    wrapped);
  try {
    if (sign) await checkedSignKey(raw, expected);
    else if (!bytesEqual(await x25519PublicKey(await importX25519Private(raw)), expected)) {
      throw new CryptoError("unwrapped address key does not match the address's public key");
    }
  } catch (error) {
    raw.fill(0);
    throw error;
  }
  return raw;
}

/** @param {string} kind @param {unknown} recipientId */
function checkRecipient(kind, recipientId) {
  if (isId16(recipientId) && !ADDRESS_KINDS.includes(kind)) return;
  if ((kind === "case" || ADDRESS_KINDS.includes(kind)) && typeof recipientId === "string"
    && UNIT_RECIPIENT_RE.test(recipientId)) {
    epochBytes(Number(recipientId.slice(5))); // range check: a unit epoch fits in u32
    return;
  }
  throw new MalformedError("recipient must be a device id, or 'unit:<epoch>' for a case or address key");
}

/**
 * The bytes a wrapping device signs: which key (kind, target, epoch), for whom, and the exact wrap.
 * @param {"unit" | "case" | "address" | "address-sign"} kind @param {string} targetId @param {number} epoch @param {string} recipientId
 * @param {WrappedKey | WrappedKeyJson} wrapped
 */
export function wrapSigningBytes(kind, targetId, epoch, recipientId, wrapped) {
  if (!WRAP_KINDS.includes(kind)) {
    throw new MalformedError("wrap kind must be 'unit', 'case', 'address' or 'address-sign'");
  }
  checkRecipient(kind, recipientId);
  const { enc, ct } = wrappedFromJson(wrapped);
  return concat(WRAP_SIG_LABEL, lp16(utf8(kind)), lp16(utf8(targetId)), epochBytes(epoch),
    lp16(utf8(recipientId)), lp16(enc), lp16(ct));
}

/**
 * Sign a wrap record with the wrapping device's key.
 * @param {import("./keys.js").DeviceKeys} keys @param {"unit" | "case" | "address" | "address-sign"} kind @param {string} targetId
 * @param {number} epoch @param {string} recipientId @param {WrappedKey | WrappedKeyJson} wrapped
 * @returns {Promise<Uint8Array>}
 */
export function signWrap(keys, kind, targetId, epoch, recipientId, wrapped) {
  return deviceSign(keys, wrapSigningBytes(kind, targetId, epoch, recipientId, wrapped));
}

/** @param {{signPub: Uint8Array} | Uint8Array} signer */
const signPubOf = (signer) => (signer instanceof Uint8Array ? signer : signer?.signPub);

/**
 * Verify a wrap record strictly; false (never an exception) for malformed fields too.
 * @param {{signPub: Uint8Array} | Uint8Array} signerPub the signer's public keys (or its sign_pub)
 * @param {Uint8Array} signature @param {"unit" | "case" | "address" | "address-sign"} kind @param {string} targetId @param {number} epoch
 * @param {string} recipientId @param {WrappedKey | WrappedKeyJson} wrapped
 * @returns {Promise<boolean>}
 */
export async function verifyWrap(signerPub, signature, kind, targetId, epoch, recipientId, wrapped) {
  let signed;
  try {
    signed = wrapSigningBytes(kind, targetId, epoch, recipientId, wrapped);
  } catch {
    return false;
  }
  return verifyStrict(signPubOf(signerPub), signed, signature);
}

/**
 * The bytes signed to publish a unit key epoch.
 * @param {string} unitId @param {number} epoch @param {Uint8Array} unitPub 32 bytes
 */
export function unitEpochSigningBytes(unitId, epoch, unitPub) {
  return concat(UNIT_EPOCH_LABEL, lp16(utf8(unitId)), epochBytes(epoch), requireLen(unitPub, KEY_LEN, "unit_pub"));
}

/**
 * Sign the publication of a unit key epoch (done by the device that created the epoch).
 * @param {import("./keys.js").DeviceKeys} keys @param {string} unitId @param {number} epoch @param {Uint8Array} unitPub
 * @returns {Promise<Uint8Array>}
 */
export function signUnitEpoch(keys, unitId, epoch, unitPub) {
  return deviceSign(keys, unitEpochSigningBytes(unitId, epoch, unitPub));
}

/**
 * Verify a unit epoch publication strictly; false for malformed fields too.
 * @param {Uint8Array | {signPub: Uint8Array}} signerSignPub @param {Uint8Array} sig @param {string} unitId
 * @param {number} epoch @param {Uint8Array} unitPub
 * @returns {Promise<boolean>}
 */
export async function verifyUnitEpoch(signerSignPub, sig, unitId, epoch, unitPub) {
  let signed;
  try {
    signed = unitEpochSigningBytes(unitId, epoch, unitPub);
  } catch {
    return false;
  }
  return verifyStrict(signPubOf(signerSignPub), signed, sig);
}
