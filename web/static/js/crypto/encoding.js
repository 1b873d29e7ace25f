/**
 * Byte encodings shared by every Samtal format: strict base64url, UTF-8 without silent repair,
 * length-prefixed big-endian fields. Mirrors crypto/encoding.py.
 * @module crypto/encoding
 */
import { MalformedError } from "./errors.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DECODE = new Map([...ALPHABET].map((ch, i) => [ch, i]));
// 16 bytes in canonical base64url: 21 free characters, then one whose low 4 bits are zero.
const ID16_RE = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/**
 * Encode bytes as base64url without "=" padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function b64u(bytes) {
  const data = asBytes(bytes, "b64u input");
  let out = "";
  for (let i = 0; i < data.length; i += 3) {
    const n = (data[i] << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((data.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/**
 * Decode base64url strictly: no padding, no other characters, no non-canonical trailing bits.
 * Strictness matters because ids and keys are compared as strings: two spellings of the same bytes
 * would let one key or message appear under two names.
 * @param {string} text
 * @returns {Uint8Array}
 * @throws {MalformedError}
 */
export function unb64u(text) {
  if (typeof text !== "string") throw new MalformedError("not base64url (expected a string)");
  if (text.length % 4 === 1) throw new MalformedError("impossible base64url length");
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let pos = 0;
  for (const ch of text) {
    const v = DECODE.get(ch);
    if (v === undefined) throw new MalformedError("not base64url (alphabet A-Z a-z 0-9 - _, no padding)");
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = (acc >> bits) & 0xff;
    }
  }
  // Left-over bits of the last character carry no data; a canonical encoder writes them as zero.
  if ((acc & ((1 << bits) - 1)) !== 0) {
    throw new MalformedError("non-canonical base64url (unused trailing bits are set)");
  }
  return out;
}

/**
 * Decode strict base64url and require an exact byte length (for keys, nonces and ids).
 * @param {string} text @param {number} length @param {string} what
 * @returns {Uint8Array}
 */
export function unb64uLen(text, length, what) {
  const data = unb64u(text);
  if (data.length !== length) throw new MalformedError(`${what} must be ${length} bytes, got ${data.length}`);
  return data;
}

/**
 * Accept a Uint8Array (or an ArrayBuffer, as WebCrypto returns) and nothing else.
 * @param {unknown} data @param {string} what
 * @returns {Uint8Array}
 */
export function asBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new MalformedError(`${what} must be a Uint8Array`);
}

/**
 * Check that a binary argument has exactly `length` bytes.
 * @param {unknown} data @param {number} length @param {string} what
 * @returns {Uint8Array}
 */
export function requireLen(data, length, what) {
  const bytes = data instanceof Uint8Array || data instanceof ArrayBuffer ? asBytes(data, what) : null;
  if (bytes?.length === length) return bytes;
  throw new MalformedError(`${what} must be ${length} bytes`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True if a string has no lone surrogates, i.e. is encodable as UTF-8 without loss.
 * @param {string} text
 */
export function isWellFormed(text) {
  return typeof text.isWellFormed === "function" ? text.isWellFormed() : !LONE_SURROGATE.test(text);
}

/**
 * Encode text as UTF-8. TextEncoder silently turns a lone surrogate into U+FFFD, which would sign
 * something else than the caller's string, so refuse instead (Python raises here too).
 * @param {string} text
 * @returns {Uint8Array}
 */
export function utf8(text) {
  if (typeof text !== "string") throw new MalformedError("expected a string");
  if (!isWellFormed(text)) throw new MalformedError("string is not encodable as UTF-8");
  return new TextEncoder().encode(text);
}

/**
 * Concatenate byte strings.
 * @param {...Uint8Array} parts
 * @returns {Uint8Array}
 */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/**
 * Prefix bytes with their length as uint16 big-endian, so concatenated fields cannot be re-split.
 * @param {Uint8Array} data
 * @returns {Uint8Array}
 */
export function lp16(data) {
  const bytes = asBytes(data, "lp16 field");
  if (bytes.length > 0xffff) throw new MalformedError("field longer than 65535 bytes");
  return concat(new Uint8Array([bytes.length >> 8, bytes.length & 0xff]), bytes);
}

/**
 * Big-endian unsigned integer of `size` bytes; `n` is a Number (safe integer) or a BigInt.
 * @param {number|bigint} n @param {number} size
 * @returns {Uint8Array}
 */
function uint(n, size) {
  // A boolean or a float where a count was meant is a bug, not a number (Python refuses bool too).
  const ok = typeof n === "bigint" || Number.isSafeInteger(n);
  let v = ok ? BigInt(n) : -1n;
  if (v < 0n || v >= 1n << BigInt(8 * size)) throw new MalformedError(`expected an integer in 0..2^${8 * size}-1`);
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** @param {number|bigint} n 0 <= n < 2^32 @returns {Uint8Array} 4 bytes big-endian */
export const u32 = (n) => uint(n, 4);

/** @param {number|bigint} n 0 <= n < 2^64 @returns {Uint8Array} 8 bytes big-endian */
export const u64 = (n) => uint(n, 8);

/**
 * Encode a key epoch as u32. Epochs are numbered from 1, so 0 never names a real key.
 * @param {number} epoch
 */
export function epochBytes(epoch) {
  if (typeof epoch !== "number" || !Number.isInteger(epoch) || epoch < 1) {
    throw new MalformedError("epochs are integers starting at 1");
  }
  return u32(epoch);
}

/**
 * True if `text` is the canonical base64url spelling of 16 bytes (device ids, message ids).
 * @param {unknown} text
 */
export function isId16(text) {
  return typeof text === "string" && ID16_RE.test(text);
}

/**
 * Compare two byte strings without an early exit (as far as JavaScript allows).
 * @param {Uint8Array} a @param {Uint8Array} b
 */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * The little-endian integer of a byte string (keys and signatures are little-endian inside).
 * @param {Uint8Array} bytes
 * @returns {bigint}
 */
export function intLE(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/**
 * The ASCII bytes of a label (labels are ASCII by construction).
 * @param {string} text
 */
export const ascii = (text) => new TextEncoder().encode(text);
