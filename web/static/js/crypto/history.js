/**
 * History links: a newer key epoch seals an older one, so that a device given the newest epoch of a unit
 * key or a case key opens every older one too (crypto/history.py; docs/protocol.md section 17). The chain
 * points backwards only: an old key opens nothing newer.
 * @module crypto/history
 */
import { CryptoError, MalformedError } from "./errors.js";
import { ascii, bytesEqual, concat, epochBytes, lp16, requireLen, utf8 } from "./encoding.js";
import { NONCE_LEN, TAG_LEN, aeadOpen, aeadSeal, importAesKey } from "./aead.js";
import { N_ENC, hpkeOpen, hpkeSeal } from "./hpke.js";
import { importX25519Private, isAcceptableX25519Public, x25519PublicKey } from "./x25519.js";
import { verifyStrict } from "./ed25519.js";
import { deviceSign } from "./keys.js";

const KEY_LEN = 32;
const UNIT_HISTORY_LABEL = ascii("samtal/unit-history/v1");
const CASE_HISTORY_LABEL = ascii("samtal/case-history/v1");
const HISTORY_SIG_LABEL = ascii("samtal/history-sig/v1");
export const UNIT_LINK_LEN = N_ENC + KEY_LEN + TAG_LEN; // enc || ct
export const CASE_LINK_LEN = NONCE_LEN + KEY_LEN + TAG_LEN; // nonce || ct
const NO_AAD = new Uint8Array(0);

/** @param {number} epoch @param {number} sealedEpoch */
function epochs(epoch, sealedEpoch) {
  if (!(Number.isInteger(epoch) && Number.isInteger(sealedEpoch) && sealedEpoch >= 1 && sealedEpoch < epoch)) {
    throw new MalformedError("a history link seals an older epoch with a newer one");
  }
  return concat(epochBytes(epoch), epochBytes(sealedEpoch));
}

/** HPKE info of a unit link. @param {string} unitId @param {number} epoch @param {number} sealedEpoch */
export function unitHistoryInfo(unitId, epoch, sealedEpoch) {
  return concat(UNIT_HISTORY_LABEL, lp16(utf8(unitId)), epochs(epoch, sealedEpoch));
}

/** AES-GCM additional data of a case link. @param {string} caseId @param {number} epoch @param {number} sealedEpoch */
export function caseHistoryAad(caseId, epoch, sealedEpoch) {
  return concat(CASE_HISTORY_LABEL, lp16(utf8(caseId)), epochs(epoch, sealedEpoch));
}

/** @param {string} kind */
function linkLen(kind) {
  if (kind === "unit") return UNIT_LINK_LEN;
  if (kind === "case") return CASE_LINK_LEN;
  throw new MalformedError("history kind must be 'unit' or 'case'");
}

/**
 * Seal unit key `sealedEpoch`'s raw private key to unit key `epoch`'s public key: enc || ct (80 bytes).
 * @param {string} unitId @param {number} epoch @param {Uint8Array} unitPub @param {number} sealedEpoch
 * @param {Uint8Array} sealedPrivRaw @param {Uint8Array} [ikmE] for test vectors only
 */
export async function sealUnitHistory(unitId, epoch, unitPub, sealedEpoch, sealedPrivRaw, ikmE) {
  if (!isAcceptableX25519Public(unitPub)) throw new MalformedError("unit public key is of small order or not canonical");
  const { enc, ct } = await hpkeSeal(unitPub, unitHistoryInfo(unitId, epoch, sealedEpoch), NO_AAD,
    requireLen(sealedPrivRaw, KEY_LEN, "unit private key"), ikmE);
  return concat(enc, ct);
}

/**
 * Open a unit link with unit key `epoch` (a CryptoKey) and check the older key against its signed public key.
 * Returns the older epoch's raw private key: the caller imports it and wipes the bytes.
 * @param {string} unitId @param {number} epoch @param {CryptoKey} unitPriv @param {number} sealedEpoch
 * @param {Uint8Array} link @param {Uint8Array} expectedSealedPub
 */
export async function openUnitHistory(unitId, epoch, unitPriv, sealedEpoch, link, expectedSealedPub) {
  requireLen(link, UNIT_LINK_LEN, "unit history link");
  const raw = await hpkeOpen(unitPriv, link.slice(0, N_ENC), unitHistoryInfo(unitId, epoch, sealedEpoch), NO_AAD,
    link.slice(N_ENC));
  const pub = await x25519PublicKey(await importX25519Private(raw));
  if (!bytesEqual(pub, requireLen(expectedSealedPub, KEY_LEN, "unit_pub"))) {
    raw.fill(0);
    throw new CryptoError("the unit key in a history link does not match the epoch's public key");
  }
  return raw;
}

/**
 * Seal case key `sealedEpoch` (raw) under case key `epoch` (a CryptoKey, or its raw bytes): nonce || ct (60 bytes).
 * @param {string} caseId @param {number} epoch @param {CryptoKey | Uint8Array} caseKey @param {number} sealedEpoch
 * @param {Uint8Array} sealedKeyRaw @param {Uint8Array} [nonce] for test vectors only
 */
export async function sealCaseHistory(caseId, epoch, caseKey, sealedEpoch, sealedKeyRaw, nonce) {
  const iv = nonce === undefined ? crypto.getRandomValues(new Uint8Array(NONCE_LEN)) : requireLen(nonce, NONCE_LEN, "nonce");
  const key = caseKey instanceof Uint8Array ? await importAesKey(caseKey) : caseKey;
  return concat(iv, await aeadSeal(key, iv, caseHistoryAad(caseId, epoch, sealedEpoch),
    requireLen(sealedKeyRaw, KEY_LEN, "case key")));
}

/**
 * Open a case link with case key `epoch` (a CryptoKey); the older key's raw bytes (the caller imports them).
 * @param {string} caseId @param {number} epoch @param {CryptoKey} caseKey @param {number} sealedEpoch @param {Uint8Array} link
 */
export function openCaseHistory(caseId, epoch, caseKey, sealedEpoch, link) {
  requireLen(link, CASE_LINK_LEN, "case history link");
  return aeadOpen(caseKey, link.slice(0, NONCE_LEN), caseHistoryAad(caseId, epoch, sealedEpoch), link.slice(NONCE_LEN));
}

/**
 * Open a case link into a non-extractable AES-256-GCM CryptoKey (the raw bytes are wiped).
 * @param {string} caseId @param {number} epoch @param {CryptoKey} caseKey @param {number} sealedEpoch @param {Uint8Array} link
 */
export async function openCaseHistoryKey(caseId, epoch, caseKey, sealedEpoch, link) {
  const raw = await openCaseHistory(caseId, epoch, caseKey, sealedEpoch, link);
  try {
    return await importAesKey(raw);
  } finally {
    raw.fill(0);
  }
}

/**
 * Open a unit link into a non-extractable X25519 CryptoKey, checked against the older epoch's public key.
 * @param {string} unitId @param {number} epoch @param {CryptoKey} unitPriv @param {number} sealedEpoch
 * @param {Uint8Array} link @param {Uint8Array} expectedSealedPub
 */
export async function openUnitHistoryKey(unitId, epoch, unitPriv, sealedEpoch, link, expectedSealedPub) {
  const raw = await openUnitHistory(unitId, epoch, unitPriv, sealedEpoch, link, expectedSealedPub);
  try {
    return await importX25519Private(raw);
  } finally {
    raw.fill(0);
  }
}

/**
 * The bytes the device that made a link signs.
 * @param {"unit" | "case"} kind @param {string} targetId @param {number} epoch @param {number} sealedEpoch @param {Uint8Array} link
 */
export function historySigningBytes(kind, targetId, epoch, sealedEpoch, link) {
  requireLen(link, linkLen(kind), `${kind} history link`);
  return concat(HISTORY_SIG_LABEL, lp16(utf8(kind)), lp16(utf8(targetId)), epochs(epoch, sealedEpoch), lp16(link));
}

/**
 * @param {import("./keys.js").DeviceKeys} keys @param {"unit" | "case"} kind @param {string} targetId
 * @param {number} epoch @param {number} sealedEpoch @param {Uint8Array} link
 */
export function signHistory(keys, kind, targetId, epoch, sealedEpoch, link) {
  return deviceSign(keys, historySigningBytes(kind, targetId, epoch, sealedEpoch, link));
}

/**
 * Verify a link's signature strictly; false (never an exception) for malformed fields too.
 * @param {{signPub: Uint8Array}} signer @param {Uint8Array} signature @param {"unit" | "case"} kind
 * @param {string} targetId @param {number} epoch @param {number} sealedEpoch @param {Uint8Array} link
 */
export async function verifyHistory(signer, signature, kind, targetId, epoch, sealedEpoch, link) {
  let signed;
  try {
    signed = historySigningBytes(kind, targetId, epoch, sealedEpoch, link);
  } catch {
    return false;
  }
  return verifyStrict(signer.signPub, signed, signature);
}
