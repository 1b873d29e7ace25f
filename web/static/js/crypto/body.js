/**
 * The message body: canonical JSON out, strict JSON in (docs/protocol.md section 10; encode_body and
 * decode_body in crypto/envelope.py).
 *
 * encodeBody produces exactly Python's json.dumps(body, separators=(",", ":"), ensure_ascii=False,
 * sort_keys=True) for bodies of strings, booleans, null, arrays, objects and integers up to 2^53.
 * Other numbers may differ, because JavaScript has only doubles: 1.0 is written "1" (Python keeps
 * "1.0" for a float), 1e16 "10000000000000000" (Python "1e+16"), -0 "0". Receivers accept any
 * spelling, so this only matters for byte-exact test vectors, and version 1 bodies hold only strings.
 * @module crypto/body
 */
import { MalformedError } from "./errors.js";
import { isWellFormed, utf8 } from "./encoding.js";

/**
 * Order strings by Unicode code point, as Python sorts keys. JavaScript compares UTF-16 code units,
 * which puts astral characters (surrogate pairs) before U+E000..U+FFFF; shift surrogates above them.
 * @param {string} a @param {string} b
 */
function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** @param {unknown} value */
function isPlainObject(value) {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * @param {unknown} value
 * @param {Set<object>} ancestors the containers being written, to refuse cycles as Python does
 * @returns {string}
 */
function canonical(value, ancestors) {
  if (value === null || value === true || value === false) return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new MalformedError("NaN and Infinity are not JSON");
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    // JSON.stringify would write a lone surrogate as \udXXX; Python cannot encode it: refuse both ways.
    if (!isWellFormed(value)) throw new MalformedError("string is not encodable as UTF-8");
    return JSON.stringify(value); // same escapes as Python: \" \\ \b \f \n \r \t, other controls \u00xx
  }
  if (typeof value !== "object" || !(Array.isArray(value) || isPlainObject(value))) {
    throw new MalformedError(`body is not encodable as JSON: ${typeof value} value`);
  }
  if (ancestors.has(value)) throw new MalformedError("body is not encodable as JSON: circular reference");
  if (Object.getOwnPropertySymbols(value).length) throw new MalformedError("body has symbol keys");
  ancestors.add(value);
  let text;
  if (Array.isArray(value)) {
    text = "[" + Array.from(value, (item) => canonical(item, ancestors)).join(",") + "]";
  } else {
    const rec = /** @type {Record<string, unknown>} */ (value);
    const members = Object.keys(rec).sort(compareCodePoints)
      .map((k) => canonical(k, ancestors) + ":" + canonical(rec[k], ancestors));
    text = "{" + members.join(",") + "}";
  }
  ancestors.delete(value);
  return text;
}

/**
 * Canonical UTF-8 JSON of a body: compact, keys sorted, non-ASCII kept as UTF-8, no NaN.
 * @param {Record<string, unknown>} body
 * @returns {Uint8Array}
 * @throws {MalformedError} for anything not representable (undefined, functions, NaN, lone surrogates)
 */
export function encodeBody(body) {
  if (!isPlainObject(body)) throw new MalformedError("a message body is a JSON object");
  return utf8(canonical(body, new Set()));
}

/**
 * Throw if any object in a valid JSON text has the same key twice. JSON.parse keeps the last one
 * silently, Python refuses (parsers disagree about which one wins), so scan the text: after
 * JSON.parse accepted it, every '"' outside a string starts a string, and a string followed by ':'
 * is a key.
 * @param {string} text
 */
function rejectDuplicateKeys(text) {
  /** @type {(Set<string> | null)[]} */
  const open = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") open.push(new Set());
    else if (c === "[") open.push(null);
    else if (c === "}" || c === "]") open.pop();
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const keys = open[open.length - 1];
      let next = end + 1;
      while (" \t\n\r".includes(text[next] ?? "x")) next++;
      if (keys && text[next] === ":") {
        const key = JSON.parse(text.slice(i, end + 1));
        if (keys.has(key)) throw new MalformedError("duplicate key in body");
        keys.add(key);
      }
      i = end;
    }
  }
}

/**
 * Parse a decrypted body. Any JSON object is accepted (the sender's encoder need not be ours), but not
 * invalid UTF-8, a byte order mark, duplicate keys or NaN/Infinity, exactly as Python.
 * @param {Uint8Array} plaintext
 * @returns {Record<string, unknown>}
 */
export function decodeBody(plaintext) {
  let body;
  try {
    // ignoreBOM keeps a BOM in the text, where JSON.parse refuses it like Python's json.loads.
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plaintext);
    body = JSON.parse(text);
    rejectDuplicateKeys(text);
  } catch (exc) {
    if (exc instanceof MalformedError) throw exc;
    throw new MalformedError("body is not UTF-8 JSON", { cause: exc });
  }
  if (!isPlainObject(body)) throw new MalformedError("body is not a JSON object");
  return body;
}
