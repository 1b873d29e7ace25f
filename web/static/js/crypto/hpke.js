/**
 * HPKE (RFC 9180) base mode for Samtal's one suite, on WebCrypto, step by step like crypto/hpke.py so
 * every intermediate value of the RFC vectors can be checked.
 *
 * Suite: DHKEM(X25519, HKDF-SHA256) = 0x0020, HKDF-SHA256 = 0x0001, AES-256-GCM = 0x0002.
 * WebCrypto's HKDF only does extract-then-expand in one call, and RFC 9180 needs LabeledExtract and
 * LabeledExpand separately, so both are built from HMAC-SHA256 (which is all HKDF is, RFC 5869).
 * @module crypto/hpke
 */
import { CryptoError, DecryptionError, MalformedError } from "./errors.js";
import { asBytes, ascii, concat, requireLen } from "./encoding.js";
import { KEY_LEN as N_K, NONCE_LEN as N_N, aeadOpen, aeadSeal, importAesKey } from "./aead.js";
import { importX25519Private, x25519, x25519PublicKey } from "./x25519.js";

export const N_SECRET = 32; // KEM shared secret length
export const N_ENC = 32; // X25519 public key = encapsulated key
const N_H = 32; // SHA-256 output

const KEM_SUITE_ID = ascii("KEM\x00\x20");
const HPKE_SUITE_ID = ascii("HPKE\x00\x20\x00\x01\x00\x02");
const VERSION_LABEL = ascii("HPKE-v1");
const MODE_BASE = 0x00;
// RFC 9180 5.2: the sequence number must not wrap; 2^96 - 1 is the first value that may not be used.
const MAX_SEQ = (1n << BigInt(8 * N_N)) - 1n;

/**
 * HMAC-SHA256(key, data). An empty key is replaced by 32 zero bytes: HMAC pads keys with zeros to the
 * block size, so the result is the same, and WebCrypto refuses zero-length HMAC keys (HKDF's default
 * salt is exactly this case).
 * @param {Uint8Array} key @param {Uint8Array} data
 */
async function hmac(key, data) {
  const hmacKey = key.length ? key : new Uint8Array(N_H);
  const k = await crypto.subtle.importKey("raw", hmacKey, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/**
 * RFC 5869 HKDF-Expand with SHA-256.
 * @param {Uint8Array} prk @param {Uint8Array} info @param {number} length
 */
async function expand(prk, info, length) {
  const out = new Uint8Array(length);
  let t = new Uint8Array(0);
  for (let i = 1, pos = 0; pos < length; i++, pos += N_H) {
    t = await hmac(prk, concat(t, info, new Uint8Array([i])));
    out.set(t.subarray(0, Math.min(N_H, length - pos)), pos);
  }
  return out;
}

/**
 * RFC 9180 LabeledExtract.
 * @param {Uint8Array} suiteId @param {Uint8Array} salt @param {string} label @param {Uint8Array} ikm
 */
export function labeledExtract(suiteId, salt, label, ikm) {
  return hmac(salt, concat(VERSION_LABEL, suiteId, ascii(label), ikm));
}

/**
 * RFC 9180 LabeledExpand.
 * @param {Uint8Array} suiteId @param {Uint8Array} prk @param {string} label @param {Uint8Array} info
 * @param {number} length
 */
export function labeledExpand(suiteId, prk, label, info, length) {
  if (!Number.isInteger(length) || length < 1 || length > 255 * N_H) {
    throw new MalformedError("HKDF-SHA256 output length must be 1..8160");
  }
  const labeledInfo = concat(new Uint8Array([length >> 8, length & 0xff]), VERSION_LABEL, suiteId, ascii(label), info);
  return expand(prk, labeledInfo, length);
}

/**
 * RFC 9180 DeriveKeyPair for X25519. `skRaw` is returned for the RFC vectors only; `sk` is a
 * non-extractable CryptoKey.
 * @param {Uint8Array} ikm at least 32 bytes
 * @returns {Promise<{skRaw: Uint8Array, sk: CryptoKey, pk: Uint8Array}>}
 */
export async function deriveKeyPair(ikm) {
  if (asBytes(ikm, "ikm").length < N_SECRET) throw new MalformedError("DeriveKeyPair needs at least 32 bytes of ikm");
  const dkpPrk = await labeledExtract(KEM_SUITE_ID, new Uint8Array(0), "dkp_prk", ikm);
  const skRaw = await labeledExpand(KEM_SUITE_ID, dkpPrk, "sk", new Uint8Array(0), 32);
  const sk = await importX25519Private(skRaw);
  return { skRaw, sk, pk: await x25519PublicKey(sk) };
}

/** @param {Uint8Array} dhOut @param {Uint8Array} kemContext */
async function extractAndExpand(dhOut, kemContext) {
  const eaePrk = await labeledExtract(KEM_SUITE_ID, new Uint8Array(0), "eae_prk", dhOut);
  return labeledExpand(KEM_SUITE_ID, eaePrk, "shared_secret", kemContext, N_SECRET);
}

/**
 * DHKEM Encap. `ikmE` makes the ephemeral key deterministic (test vectors only).
 * @param {Uint8Array} pkR @param {Uint8Array} [ikmE]
 * @returns {Promise<{sharedSecret: Uint8Array, enc: Uint8Array}>}
 */
export async function encap(pkR, ikmE) {
  requireLen(pkR, N_ENC, "recipient public key");
  const { sk, pk } = await deriveKeyPair(ikmE ?? crypto.getRandomValues(new Uint8Array(N_SECRET)));
  return { sharedSecret: await extractAndExpand(await x25519(sk, pkR), concat(pk, pkR)), enc: pk };
}

/**
 * DHKEM Decap.
 * @param {Uint8Array} enc @param {CryptoKey} skR
 * @returns {Promise<Uint8Array>} the shared secret
 */
export async function decap(enc, skR) {
  requireLen(enc, N_ENC, "enc");
  const pkR = await x25519PublicKey(skR);
  let dhOut;
  try {
    dhOut = await x25519(skR, enc);
  } catch (exc) {
    // A small-order enc is just another ciphertext that cannot be opened, so report it as one.
    throw new DecryptionError(/** @type {Error} */ (exc).message, { cause: exc });
  }
  return extractAndExpand(dhOut, concat(enc, pkR));
}

/**
 * An HPKE encryption context (RFC 9180 5.2). The raw secrets are fields so the RFC vectors can be
 * checked; a context lives only as long as one wrap or unwrap.
 */
export class HpkeContext {
  /** @type {bigint} */ seq = 0n;
  #aesKey;
  // Operations run one after another in call order: the nonce depends on the sequence number, and
  // two overlapping calls must never use the same one.
  /** @type {Promise<unknown>} */ #queue = Promise.resolve();

  /**
   * @param {{sharedSecret: Uint8Array, secret: Uint8Array, key: Uint8Array, baseNonce: Uint8Array,
   *          exporterSecret: Uint8Array, keyScheduleContext: Uint8Array}} values
   * @param {CryptoKey} aesKey `values.key` imported for AES-GCM
   */
  constructor(values, aesKey) {
    this.sharedSecret = values.sharedSecret;
    this.secret = values.secret;
    this.key = values.key;
    this.baseNonce = values.baseNonce;
    this.exporterSecret = values.exporterSecret;
    this.keyScheduleContext = values.keyScheduleContext;
    this.#aesKey = aesKey;
  }

  #nonce() {
    if (this.seq >= MAX_SEQ) throw new CryptoError("HPKE message limit reached");
    const nonce = new Uint8Array(this.baseNonce);
    let s = this.seq;
    for (let i = N_N - 1; i >= 0 && s > 0n; i--, s >>= 8n) nonce[i] ^= Number(s & 0xffn);
    return nonce;
  }

  /**
   * @template T @param {() => Promise<T>} operation @returns {Promise<T>}
   */
  #serial(operation) {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }

  /**
   * Encrypt the next message of this context.
   * @param {Uint8Array} aad @param {Uint8Array} pt @returns {Promise<Uint8Array>}
   */
  seal(aad, pt) {
    return this.#serial(async () => {
      const ct = await aeadSeal(this.#aesKey, this.#nonce(), aad, pt);
      this.seq += 1n;
      return ct;
    });
  }

  /**
   * Decrypt the next message; the sequence number advances only on success (as in the RFC).
   * @param {Uint8Array} aad @param {Uint8Array} ct @returns {Promise<Uint8Array>}
   */
  open(aad, ct) {
    return this.#serial(async () => {
      const pt = await aeadOpen(this.#aesKey, this.#nonce(), aad, ct);
      this.seq += 1n;
      return pt;
    });
  }

  /**
   * RFC 9180 secret export.
   * @param {Uint8Array} exporterContext @param {number} length @returns {Promise<Uint8Array>}
   */
  export(exporterContext, length) {
    const context = asBytes(exporterContext, "exporter context");
    return labeledExpand(HPKE_SUITE_ID, this.exporterSecret, "sec", context, length);
  }
}

/**
 * RFC 9180 KeySchedule for mode_base (empty psk and psk_id).
 * @param {Uint8Array} sharedSecret @param {Uint8Array} info
 * @returns {Promise<HpkeContext>}
 */
export async function keySchedule(sharedSecret, info) {
  const empty = new Uint8Array(0);
  const pskIdHash = await labeledExtract(HPKE_SUITE_ID, empty, "psk_id_hash", empty);
  const infoHash = await labeledExtract(HPKE_SUITE_ID, empty, "info_hash", asBytes(info, "info"));
  const keyScheduleContext = concat(new Uint8Array([MODE_BASE]), pskIdHash, infoHash);
  const secret = await labeledExtract(HPKE_SUITE_ID, sharedSecret, "secret", empty);
  const key = await labeledExpand(HPKE_SUITE_ID, secret, "key", keyScheduleContext, N_K);
  const values = {
    sharedSecret,
    secret,
    key,
    baseNonce: await labeledExpand(HPKE_SUITE_ID, secret, "base_nonce", keyScheduleContext, N_N),
    exporterSecret: await labeledExpand(HPKE_SUITE_ID, secret, "exp", keyScheduleContext, N_H),
    keyScheduleContext,
  };
  return new HpkeContext(values, await importAesKey(key));
}

/**
 * SetupBaseS. Pass `ikmE` only to reproduce test vectors.
 * @param {Uint8Array} pkR @param {Uint8Array} info @param {Uint8Array} [ikmE]
 * @returns {Promise<{enc: Uint8Array, ctx: HpkeContext}>}
 */
export async function hpkeSetupSender(pkR, info, ikmE) {
  const { sharedSecret, enc } = await encap(pkR, ikmE);
  return { enc, ctx: await keySchedule(sharedSecret, info) };
}

/**
 * SetupBaseR: the receiver's context for an encapsulated key.
 * @param {Uint8Array} enc @param {CryptoKey} skR @param {Uint8Array} info
 * @returns {Promise<HpkeContext>}
 */
export async function hpkeSetupReceiver(enc, skR, info) {
  return keySchedule(await decap(enc, skR), info);
}

/**
 * Single-shot SealBase.
 * @param {Uint8Array} pkR @param {Uint8Array} info @param {Uint8Array} aad @param {Uint8Array} pt
 * @param {Uint8Array} [ikmE] test vectors only
 * @returns {Promise<{enc: Uint8Array, ct: Uint8Array}>}
 */
export async function hpkeSeal(pkR, info, aad, pt, ikmE) {
  const { enc, ctx } = await hpkeSetupSender(pkR, info, ikmE);
  return { enc, ct: await ctx.seal(aad, pt) };
}

/**
 * Single-shot OpenBase; throws DecryptionError if the ciphertext does not authenticate.
 * @param {CryptoKey} skR @param {Uint8Array} enc @param {Uint8Array} info @param {Uint8Array} aad
 * @param {Uint8Array} ct
 * @returns {Promise<Uint8Array>}
 */
export async function hpkeOpen(skR, enc, info, aad, ct) {
  return (await hpkeSetupReceiver(enc, skR, info)).open(aad, ct);
}
