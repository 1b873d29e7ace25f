/**
 * The message envelope: header, AES-256-GCM body under the case key, Ed25519 signature
 * (crypto/envelope.py; docs/protocol.md section 9).
 *
 *     header = 0x01 || lp16(case_id) || lp16(msg_id) || lp16(sender_device) || u32(epoch) || u64(sent_at_ms)
 *     env    = header || nonce(12) || u32(len(ct)) || ct || sig(64)
 *     AAD    = header;  sig = Ed25519(sender device, "samtal/msg-sig/v1" || everything before sig)
 *
 * Version 2 (messages stored in a case) adds `|| u32(counter) || prev(32)` to the header, with version byte
 * 0x02: the sender's place in the case's transcript (crypto/transcript.js checks it).
 * @module crypto/envelope
 */
import { MalformedError } from "./errors.js";
import { ascii, asBytes, b64u, concat, epochBytes, isId16, lp16, requireLen, u32, u64 } from "./encoding.js";
import { NONCE_LEN, TAG_LEN, aeadOpen, aeadSeal } from "./aead.js";
import { verifyStrict } from "./ed25519.js";
import { deviceSign } from "./keys.js";
import { decodeBody, encodeBody } from "./body.js";

export const VERSION = 1;
export const VERSION_TRANSCRIPT = 2;
export const PREV_LEN = 32;
/** "This device had seen no message of the case." */
export const NO_PREV = new Uint8Array(PREV_LEN);
export const MAX_ENVELOPE_BYTES = 65536;
const SIGNATURE_LEN = 64;
const MSG_SIG_LABEL = ascii("samtal/msg-sig/v1");
// Case ids travel in URLs and logs; a narrow ASCII alphabet keeps one spelling per case.
const CASE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The authenticated, unencrypted part of a message. `sent_at_ms` is a Number; in a parsed envelope a
 * value above 2^53 - 1 (no honest clock) is the nearest double, while `headerBytes` keeps the exact bytes.
 * @typedef {object} Header
 * @property {string} case_id
 * @property {string} msg_id
 * @property {string} sender_device
 * @property {number} epoch
 * @property {number} sent_at_ms (sealMessage also takes a BigInt)
 * @property {number} [counter] version 2: this device's messages in the case counting this one (from 1)
 * @property {Uint8Array} [prev] version 2: hash of the newest message of the case the device had seen
 */

/**
 * A parsed envelope; `raw` is the exact bytes it was parsed from (as stored and forwarded).
 * @typedef {object} Envelope
 * @property {Header} header
 * @property {Uint8Array} nonce
 * @property {Uint8Array} ciphertext
 * @property {Uint8Array} signature
 * @property {Uint8Array} raw
 * @property {Uint8Array} headerBytes the header as it appears in `raw` (the AES-GCM additional data)
 * @property {Uint8Array} signedPart `raw` without the signature
 */

/**
 * The header bytes, which are also the AES-GCM additional data. Checks the same rules as
 * parseEnvelope, so whatever is sealed can be parsed back.
 * @param {Header} header
 * @returns {Uint8Array}
 */
export function headerBytes(header) {
  const { case_id: caseId, msg_id: msgId, sender_device: sender, epoch, sent_at_ms: sentAt } = header;
  if (typeof caseId !== "string" || !CASE_ID_RE.test(caseId)) {
    throw new MalformedError("case_id must be 1..64 characters of [A-Za-z0-9_-]");
  }
  if (!isId16(msgId)) throw new MalformedError("msg_id must be 16 bytes in canonical base64url (22 characters)");
  if (!isId16(sender)) throw new MalformedError("sender_device must be a device id (22 characters base64url)");
  const counter = header.counter ?? 0;
  const prev = header.prev ?? null;
  if (counter && !(prev instanceof Uint8Array && prev.length === PREV_LEN)) {
    throw new MalformedError("a version 2 header names the previous message by its 32-byte hash");
  }
  if (!counter && prev !== null && prev.length !== 0) {
    throw new MalformedError("a version 1 header has no previous message (counter 0)");
  }
  const base = concat(
    new Uint8Array([counter ? VERSION_TRANSCRIPT : VERSION]), lp16(ascii(caseId)), lp16(ascii(msgId)),
    lp16(ascii(sender)), epochBytes(epoch), u64(sentAt),
  );
  return counter ? concat(base, u32(counter), prev) : base;
}

/**
 * A fresh message id: 16 random bytes, base64url (22 characters).
 * @returns {string}
 */
export function newMsgId() {
  return b64u(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * Encrypt, authenticate and sign a message; returns the envelope bytes.
 * `nonce` is for test vectors only: a random 96-bit nonce per message keeps the GCM collision risk
 * negligible for far more messages than one case key epoch will ever carry.
 * @param {CryptoKey} caseKey AES-256-GCM key of `header.epoch`
 * @param {Header} header
 * @param {Record<string, unknown>} body
 * @param {import("./keys.js").DeviceKeys} keys the sending device; must be `header.sender_device`
 * @param {Uint8Array} [nonce]
 * @returns {Promise<Uint8Array>}
 */
export async function sealMessage(caseKey, header, body, keys, nonce) {
  const aad = headerBytes(header);
  if (header.sender_device !== keys.id) {
    // Recipients look up the verifying key by sender_device; a mismatch makes the message unverifiable.
    throw new MalformedError("header.sender_device is not the id of the signing device");
  }
  const iv = nonce === undefined
    ? crypto.getRandomValues(new Uint8Array(NONCE_LEN))
    : requireLen(nonce, NONCE_LEN, "nonce");
  const ct = await aeadSeal(caseKey, iv, aad, encodeBody(body));
  const signedPart = concat(aad, iv, u32(ct.length), ct);
  if (signedPart.length + SIGNATURE_LEN > MAX_ENVELOPE_BYTES) {
    throw new MalformedError(`envelope would exceed ${MAX_ENVELOPE_BYTES} bytes`);
  }
  return concat(signedPart, await deviceSign(keys, concat(MSG_SIG_LABEL, signedPart)));
}

/** Consumes bytes front to back; every short read is a MalformedError. */
class Reader {
  /** @param {Uint8Array} data */
  constructor(data) {
    this.data = data;
    this.pos = 0;
  }

  /** @param {number} n */
  take(n) {
    if (n > this.data.length - this.pos) throw new MalformedError("envelope truncated");
    this.pos += n;
    return this.data.slice(this.pos - n, this.pos);
  }

  /** @param {number} size @returns {bigint} */
  uint(size) {
    return this.take(size).reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  }

  /** A length-prefixed header field as Latin-1 text: the field rules then admit only ASCII. */
  text16() {
    return String.fromCharCode(...this.take(Number(this.uint(2))));
  }
}

/**
 * Parse and check the shape of an envelope (no keys needed).
 * @param {Uint8Array} bytes
 * @returns {Envelope}
 * @throws {MalformedError}
 */
export function parseEnvelope(bytes) {
  // A private copy: later changes by the caller cannot reach the parsed envelope.
  const data = new Uint8Array(asBytes(bytes, "an envelope"));
  if (data.length > MAX_ENVELOPE_BYTES) throw new MalformedError(`envelope larger than ${MAX_ENVELOPE_BYTES} bytes`);
  const r = new Reader(data);
  const version = Number(r.uint(1));
  if (version !== VERSION && version !== VERSION_TRANSCRIPT) {
    throw new MalformedError(`unsupported envelope version ${version}`);
  }
  const header = {
    case_id: r.text16(),
    msg_id: r.text16(),
    sender_device: r.text16(),
    epoch: Number(r.uint(4)),
    sent_at_ms: 0,
  };
  const sentAt = r.uint(8);
  if (version === VERSION_TRANSCRIPT) {
    header.counter = Number(r.uint(4));
    if (header.counter === 0) throw new MalformedError("a version 2 envelope counts its sender's messages from 1");
    header.prev = r.take(PREV_LEN);
  }
  headerBytes({ ...header, sent_at_ms: sentAt }); // the field rules, on the exact value
  header.sent_at_ms = Number(sentAt);
  const headerEnd = r.pos;
  const nonce = r.take(NONCE_LEN);
  const ctLen = Number(r.uint(4));
  if (ctLen < TAG_LEN) throw new MalformedError("ciphertext shorter than the GCM tag");
  const ciphertext = r.take(ctLen);
  const signature = r.take(SIGNATURE_LEN);
  if (r.pos !== data.length) throw new MalformedError("trailing bytes after the signature");
  return Object.freeze({
    header: Object.freeze(header),
    nonce,
    ciphertext,
    signature,
    raw: data,
    headerBytes: data.slice(0, headerEnd),
    signedPart: data.slice(0, data.length - SIGNATURE_LEN),
  });
}

/**
 * Strictly verify the sender's signature. The caller must have looked the key up by
 * env.header.sender_device (and checked that device is a participant of the case).
 * @param {Envelope} env
 * @param {Uint8Array | {signPub: Uint8Array}} senderSignPub
 * @returns {Promise<boolean>}
 */
export async function verifyEnvelope(env, senderSignPub) {
  const pub = senderSignPub instanceof Uint8Array ? senderSignPub : senderSignPub?.signPub;
  if (!(env?.signedPart instanceof Uint8Array)) return false;
  return verifyStrict(pub, concat(MSG_SIG_LABEL, env.signedPart), env.signature);
}

/**
 * Decrypt and parse the body with the case key of env.header.epoch. Throws DecryptionError for a
 * wrong key or any tampering with header, nonce or ciphertext, and MalformedError if the plaintext is
 * not a JSON object. It does not check the signature: call verifyEnvelope as well.
 * @param {CryptoKey} caseKey
 * @param {Envelope} env
 * @returns {Promise<Record<string, unknown>>}
 */
export async function openMessage(caseKey, env) {
  return decodeBody(await aeadOpen(caseKey, env.nonce, env.headerBytes, env.ciphertext));
}
