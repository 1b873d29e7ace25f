/**
 * Sealed records: applications, journal entries and the citizen's supplements, each under a random key of
 * its own that readers obtain through signed grants (crypto/record.py; docs/protocol.md section 15).
 *
 *     header = 0x01 || lp16(kind) || lp16(record_id) || lp16(unit_id) || lp16(case_id) || lp16(author_device)
 *              || u64(created_at_ms)
 *     record = header || nonce(12) || u32(len(ct)) || ct || sig(64)
 *     grant  = HPKE(record key) to "unit:<epoch>" or a device  |  AES-GCM(record key) under "case:<epoch>"
 * @module crypto/record
 */
import { MalformedError } from "./errors.js";
import { ascii, asBytes, b64u, concat, epochBytes, isId16, lp16, requireLen, u32, u64, utf8 } from "./encoding.js";
import { NONCE_LEN, TAG_LEN, aeadOpen, aeadSeal, importAesKey } from "./aead.js";
import { N_ENC, hpkeOpen, hpkeSeal } from "./hpke.js";
import { isAcceptableX25519Public } from "./x25519.js";
import { verifyStrict } from "./ed25519.js";
import { deviceSign } from "./keys.js";
import { decodeBody, encodeBody } from "./body.js";

export const RECORD_VERSION = 1;
export const MAX_RECORD_BYTES = 1 << 20;
const KEY_LEN = 32;
const SIGNATURE_LEN = 64;
export const KEY_GRANT_LEN = N_ENC + KEY_LEN + TAG_LEN;
export const CASE_GRANT_LEN = NONCE_LEN + KEY_LEN + TAG_LEN;
const RECORD_SIG_LABEL = ascii("samtal/record-sig/v1");
const RECORD_KEY_LABEL = ascii("samtal/record-key/v1");
const RECORD_SHARE_LABEL = ascii("samtal/record-share/v1");
const GRANT_SIG_LABEL = ascii("samtal/record-grant/v1");
const KIND_RE = /^[a-z0-9._-]{1,40}$/;
const CASE_ID_RE = /^[A-Za-z0-9_-]{0,64}$/;
const EPOCH_RECIPIENT_RE = /^(unit|case):([1-9][0-9]{0,9})$/;
const NO_AAD = new Uint8Array(0);

/**
 * @typedef {object} RecordHeader
 * @property {string} kind e.g. "application", "journal.entry"
 * @property {string} record_id 22-character id
 * @property {string} unit_id
 * @property {string} case_id "" while the record is in no case
 * @property {string} author_device
 * @property {number} created_at_ms
 */

/**
 * The header bytes (also the AES-GCM additional data), checking the same rules as parseRecord.
 * @param {RecordHeader} h
 */
export function recordHeaderBytes(h) {
  if (typeof h.kind !== "string" || !KIND_RE.test(h.kind)) throw new MalformedError("kind must be 1..40 of [a-z0-9._-]");
  if (!isId16(h.record_id)) throw new MalformedError("record_id must be a 22-character id");
  const unit = utf8(h.unit_id);
  if (unit.length < 1 || unit.length > 200) throw new MalformedError("unit_id must be 1..200 bytes of UTF-8");
  if (typeof h.case_id !== "string" || !CASE_ID_RE.test(h.case_id)) throw new MalformedError("bad case_id");
  if (!isId16(h.author_device)) throw new MalformedError("author_device must be a device id");
  return concat(new Uint8Array([RECORD_VERSION]), lp16(ascii(h.kind)), lp16(ascii(h.record_id)), lp16(unit),
    lp16(ascii(h.case_id)), lp16(ascii(h.author_device)), u64(h.created_at_ms));
}

/** A fresh record id (16 random bytes, base64url). */
export function newRecordId() {
  return b64u(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * A fresh record key as raw bytes: the author needs them once more to make grants; zero them afterwards.
 * @returns {Uint8Array}
 */
export function newRecordKey() {
  return crypto.getRandomValues(new Uint8Array(KEY_LEN));
}

/** @param {Uint8Array | CryptoKey} key */
async function aesKey(key) {
  return key instanceof CryptoKey ? key : importAesKey(requireLen(key, KEY_LEN, "record key"));
}

/**
 * Encrypt and sign a record. `nonce` is for tests only.
 * @param {Uint8Array | CryptoKey} recordKey @param {RecordHeader} header @param {Record<string, unknown>} body
 * @param {import("./keys.js").DeviceKeys} keys the author's device @param {Uint8Array} [nonce]
 * @returns {Promise<Uint8Array>}
 */
export async function sealRecord(recordKey, header, body, keys, nonce) {
  if (header.author_device !== keys.id) throw new MalformedError("header.author_device is not the signing device");
  const aad = recordHeaderBytes(header);
  const iv = nonce === undefined ? crypto.getRandomValues(new Uint8Array(NONCE_LEN)) : requireLen(nonce, NONCE_LEN, "nonce");
  const ct = await aeadSeal(await aesKey(recordKey), iv, aad, encodeBody(body));
  const signedPart = concat(aad, iv, u32(ct.length), ct);
  if (signedPart.length + SIGNATURE_LEN > MAX_RECORD_BYTES) throw new MalformedError("record would exceed 1 MiB");
  return concat(signedPart, await deviceSign(keys, concat(RECORD_SIG_LABEL, signedPart)));
}

/**
 * Parse and check the shape of a record (no keys needed).
 * @param {Uint8Array} bytes
 * @returns {{header: RecordHeader, nonce: Uint8Array, ciphertext: Uint8Array, signature: Uint8Array,
 *   raw: Uint8Array, headerBytes: Uint8Array, signedPart: Uint8Array}}
 */
export function parseRecord(bytes) {
  const data = new Uint8Array(asBytes(bytes, "a record"));
  if (data.length > MAX_RECORD_BYTES) throw new MalformedError("record larger than 1 MiB");
  let pos = 0;
  const take = (/** @type {number} */ n) => {
    if (n > data.length - pos) throw new MalformedError("record truncated");
    pos += n;
    return data.slice(pos - n, pos);
  };
  const uint = (/** @type {number} */ n) => take(n).reduce((v, b) => (v << 8n) | BigInt(b), 0n);
  const field = () => take(Number(uint(2)));
  const latin1 = () => String.fromCharCode(...field()); // the field rules then admit only ASCII
  if (Number(uint(1)) !== RECORD_VERSION) throw new MalformedError("unsupported record version");
  const kind = latin1();
  const recordId = latin1();
  let unitId;
  try {
    unitId = new TextDecoder("utf-8", { fatal: true }).decode(field());
  } catch {
    throw new MalformedError("unit_id is not UTF-8");
  }
  const caseId = latin1();
  const author = latin1();
  const createdAt = uint(8);
  const header = { kind, record_id: recordId, unit_id: unitId, case_id: caseId, author_device: author, created_at_ms: 0 };
  recordHeaderBytes({ ...header, created_at_ms: createdAt }); // the field rules, on the exact value
  header.created_at_ms = Number(createdAt);
  const headerEnd = pos;
  const nonce = take(NONCE_LEN);
  const ctLen = Number(uint(4));
  if (ctLen < TAG_LEN) throw new MalformedError("ciphertext shorter than the GCM tag");
  const ciphertext = take(ctLen);
  const signature = take(SIGNATURE_LEN);
  if (pos !== data.length) throw new MalformedError("trailing bytes after the signature");
  return Object.freeze({
    header: Object.freeze(header), nonce, ciphertext, signature, raw: data,
    headerBytes: data.slice(0, headerEnd), signedPart: data.slice(0, data.length - SIGNATURE_LEN),
  });
}

/**
 * Strictly verify the author's signature (look the key up by header.author_device first).
 * @param {ReturnType<typeof parseRecord>} rec @param {Uint8Array | {signPub: Uint8Array}} authorSignPub
 */
export function verifyRecord(rec, authorSignPub) {
  const pub = authorSignPub instanceof Uint8Array ? authorSignPub : authorSignPub?.signPub;
  return verifyStrict(pub, concat(RECORD_SIG_LABEL, rec.signedPart), rec.signature);
}

/**
 * Decrypt and parse the body; DecryptionError for a wrong key or tampering. Check verifyRecord as well.
 * @param {Uint8Array | CryptoKey} recordKey @param {ReturnType<typeof parseRecord>} rec
 */
export async function openRecord(recordKey, rec) {
  return decodeBody(await aeadOpen(await aesKey(recordKey), rec.nonce, rec.headerBytes, rec.ciphertext));
}

const recordKeyInfo = (/** @type {string} */ recordId) => concat(RECORD_KEY_LABEL, lp16(utf8(recordId)));
const shareAad = (/** @type {string} */ recordId, /** @type {string} */ caseId, /** @type {number} */ epoch) =>
  concat(RECORD_SHARE_LABEL, lp16(utf8(recordId)), lp16(utf8(caseId)), epochBytes(epoch));

/**
 * A grant for "unit:<epoch>" (the unit epoch's public key) or a device id (its KEM public key).
 * @param {Uint8Array} recordKeyRaw @param {string} recordId @param {Uint8Array} recipientKemPub
 * @param {Uint8Array} [ikmE] tests only
 */
export async function grantToKey(recordKeyRaw, recordId, recipientKemPub, ikmE) {
  requireLen(recordKeyRaw, KEY_LEN, "record key");
  if (!isAcceptableX25519Public(recipientKemPub)) throw new MalformedError("recipient public key is not acceptable");
  const { enc, ct } = await hpkeSeal(recipientKemPub, recordKeyInfo(recordId), NO_AAD, recordKeyRaw, ikmE);
  return concat(enc, ct);
}

/**
 * The raw record key from a unit or device grant.
 * @param {CryptoKey} kemPriv the unit key or the device's KEM key @param {string} recordId @param {Uint8Array} grant
 */
export function openKeyGrant(kemPriv, recordId, grant) {
  requireLen(grant, KEY_GRANT_LEN, "key grant");
  return hpkeOpen(kemPriv, grant.slice(0, N_ENC), recordKeyInfo(recordId), NO_AAD, grant.slice(N_ENC));
}

/**
 * A grant for "case:<epoch>": the record key under that case key epoch (publishing to the citizen).
 * @param {Uint8Array} recordKeyRaw @param {string} recordId @param {string} caseId @param {number} epoch
 * @param {CryptoKey} caseKey @param {Uint8Array} [nonce] tests only
 */
export async function grantToCase(recordKeyRaw, recordId, caseId, epoch, caseKey, nonce) {
  requireLen(recordKeyRaw, KEY_LEN, "record key");
  const iv = nonce === undefined ? crypto.getRandomValues(new Uint8Array(NONCE_LEN)) : requireLen(nonce, NONCE_LEN, "nonce");
  return concat(iv, await aeadSeal(caseKey, iv, shareAad(recordId, caseId, epoch), recordKeyRaw));
}

/**
 * The raw record key from a case grant.
 * @param {CryptoKey} caseKey @param {string} recordId @param {string} caseId @param {number} epoch @param {Uint8Array} grant
 */
export function openCaseGrant(caseKey, recordId, caseId, epoch, grant) {
  requireLen(grant, CASE_GRANT_LEN, "case grant");
  return aeadOpen(caseKey, grant.slice(0, NONCE_LEN), shareAad(recordId, caseId, epoch), grant.slice(NONCE_LEN));
}

/**
 * "unit", "case" or "device"; MalformedError for anything else.
 * @param {unknown} recipient
 */
export function grantRecipientKind(recipient) {
  if (isId16(recipient)) return "device";
  const m = typeof recipient === "string" ? EPOCH_RECIPIENT_RE.exec(recipient) : null;
  if (!m) throw new MalformedError("grant recipient must be a device id, 'unit:<epoch>' or 'case:<epoch>'");
  epochBytes(Number(m[2]));
  return m[1];
}

/** @param {string} recordId @param {string} recipient @param {Uint8Array} grant */
function grantSigningBytes(recordId, recipient, grant) {
  if (!isId16(recordId)) throw new MalformedError("record_id must be a 22-character id");
  requireLen(grant, grantRecipientKind(recipient) === "case" ? CASE_GRANT_LEN : KEY_GRANT_LEN, "grant");
  return concat(GRANT_SIG_LABEL, lp16(utf8(recordId)), lp16(utf8(recipient)), lp16(grant));
}

/**
 * Sign a grant with the granting device's key.
 * @param {import("./keys.js").DeviceKeys} keys @param {string} recordId @param {string} recipient @param {Uint8Array} grant
 */
export function signGrant(keys, recordId, recipient, grant) {
  return deviceSign(keys, grantSigningBytes(recordId, recipient, grant));
}

/**
 * Verify a grant's signature strictly; false (never an exception) for malformed fields too.
 * @param {Uint8Array | {signPub: Uint8Array}} signer @param {Uint8Array} signature @param {string} recordId
 * @param {string} recipient @param {Uint8Array} grant
 */
export async function verifyGrant(signer, signature, recordId, recipient, grant) {
  let signed;
  try {
    signed = grantSigningBytes(recordId, recipient, grant);
  } catch {
    return false;
  }
  return verifyStrict(signer instanceof Uint8Array ? signer : signer?.signPub, signed, signature);
}
