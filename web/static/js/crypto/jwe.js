/**
 * Compact JWE (RFC 7516) for the agency exchange, with the exchange's one choice of algorithms
 * (docs/exchange.md): ECDH-ES+A256KW (RFC 7518 4.6) with an X25519 (RFC 8037) or P-256 ephemeral key, and
 * A256GCM content encryption. Everything is WebCrypto: X25519 or ECDH deriveBits, the Concat KDF with
 * SHA-256, AES-KW for the content key, AES-GCM with the protected header as AAD. Decryption opens what
 * agencies send to the unit; encryption makes what the unit sends to an agency. chat/exchange/jose.py
 * (joserfc) and Node's jose make and open the same; tests check they agree.
 * @module crypto/jwe
 */
import { CryptoError, DecryptionError, MalformedError } from "./errors.js";
import { ascii, b64u, concat, u32, unb64u, utf8 } from "./encoding.js";
import { isAcceptableX25519Public, x25519 } from "./x25519.js";

export const KEY_WRAP_ALG = "ECDH-ES+A256KW";
export const CONTENT_ENC = "A256GCM";
const KEY_BITS = 256;

/**
 * The protected header of a compact JWE, without decrypting.
 * @param {string} token
 * @returns {Record<string, any>}
 */
export function jweHeader(token) {
  const parts = String(token).split(".");
  if (parts.length !== 5) throw new MalformedError("not a compact JWE");
  let header;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(unb64u(parts[0])));
  } catch {
    throw new MalformedError("the JWE's protected header is not base64url JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new MalformedError("the JWE's protected header is not a JSON object");
  }
  return header;
}

/** @param {Uint8Array} data */
const lp32 = (data) => concat(u32(data.length), data);

/**
 * RFC 7518 4.6.2: the Concat KDF (NIST SP 800-56A) with SHA-256, for a 256-bit key wrapping key.
 * @param {Uint8Array} z the shared secret @param {string} algorithm the header's alg
 * @param {Uint8Array} apu @param {Uint8Array} apv
 */
export async function concatKdf(z, algorithm, apu, apv) {
  const otherInfo = concat(lp32(ascii(algorithm)), lp32(apu), lp32(apv), u32(KEY_BITS));
  // One round: SHA-256 gives exactly the 256 bits needed.
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(u32(1), z, otherInfo)));
}

/**
 * An ECDH P-256 public key from a JWK's x and y; MalformedError when they are not a point on the curve.
 * @param {Record<string, any>} jwk @param {string} what for the error
 */
async function importP256Public(jwk, what) {
  try {
    return await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
      { name: "ECDH", namedCurve: "P-256" }, false, []);
  } catch (error) {
    throw new MalformedError(`${what} is not a point on the curve`, { cause: error });
  }
}

/**
 * The shared secret Z with the recipient's private key and the header's ephemeral public key (epk).
 * @param {CryptoKey} priv X25519 or ECDH P-256 private key @param {Record<string, any>} epk
 */
async function sharedSecret(priv, epk) {
  const curve = priv.algorithm.name === "X25519" ? "X25519" : priv.algorithm.namedCurve;
  if (typeof epk !== "object" || epk === null || epk.crv !== curve) {
    throw new MalformedError("the JWE's ephemeral key is not on the recipient key's curve");
  }
  if (curve === "X25519") {
    if (epk.kty !== "OKP" || typeof epk.x !== "string") throw new MalformedError("epk must be an OKP X25519 key");
    return x25519(priv, unb64u(epk.x));
  }
  if (curve !== "P-256" || epk.kty !== "EC") throw new MalformedError("epk must be an EC P-256 key");
  const pub = await importP256Public(epk, "the JWE's ephemeral P-256 key");
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: pub }, priv, KEY_BITS));
}

/**
 * Decrypt a compact JWE made with ECDH-ES+A256KW and A256GCM to `priv`.
 * @param {string} token the compact JWE
 * @param {CryptoKey} priv the recipient's X25519 (or ECDH P-256) private key
 * @returns {Promise<{header: Record<string, any>, plaintext: Uint8Array}>}
 * @throws {MalformedError} not such a JWE; {DecryptionError} the key or the ciphertext does not fit
 */
export async function decryptJwe(token, priv) {
  const header = jweHeader(token);
  const [protectedB64, encryptedKeyB64, ivB64, ciphertextB64, tagB64] = token.split(".");
  if (header.alg !== KEY_WRAP_ALG || header.enc !== CONTENT_ENC) {
    throw new MalformedError(`the JWE must use alg ${KEY_WRAP_ALG} and enc ${CONTENT_ENC}`);
  }
  if (header.crit !== undefined || header.zip !== undefined) {
    throw new MalformedError("no critical header parameters or compression are understood");
  }
  const optional = (/** @type {unknown} */ v) => (v === undefined ? new Uint8Array(0) : unb64u(String(v)));
  const iv = unb64u(ivB64);
  const tag = unb64u(tagB64);
  const encryptedKey = unb64u(encryptedKeyB64);
  if (iv.length !== 12 || tag.length !== 16 || encryptedKey.length !== 40) {
    throw new MalformedError("the JWE's iv, tag or encrypted key has the wrong length");
  }
  const z = await sharedSecret(priv, header.epk);
  const kekRaw = await concatKdf(z, header.alg, optional(header.apu), optional(header.apv));
  z.fill(0);
  const kek = await crypto.subtle.importKey("raw", kekRaw, "AES-KW", false, ["unwrapKey"]);
  kekRaw.fill(0);
  let cek;
  try {
    cek = await crypto.subtle.unwrapKey("raw", encryptedKey, kek, "AES-KW", "AES-GCM", false, ["decrypt"]);
  } catch (error) {
    throw new DecryptionError("the JWE's content key does not unwrap with this key", { cause: error });
  }
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: ascii(protectedB64), tagLength: 128 }, cek,
      concat(unb64u(ciphertextB64), tag));
    return { header, plaintext: new Uint8Array(plaintext) };
  } catch (error) {
    throw new DecryptionError("the JWE's content does not decrypt", { cause: error });
  }
}

/**
 * A fresh ephemeral key pair on the recipient key's curve: its public JWK (the header's epk) and the shared
 * secret Z with the recipient's public key.
 * @param {Record<string, any>} jwk the recipient's public JWK (X25519 or P-256)
 * @returns {Promise<{epk: Record<string, string>, z: Uint8Array}>}
 */
async function ephemeralAgreement(jwk) {
  if (jwk?.kty === "OKP" && jwk.crv === "X25519" && typeof jwk.x === "string") {
    const pub = unb64u(jwk.x);
    if (!isAcceptableX25519Public(pub)) throw new MalformedError("the recipient's X25519 key is not acceptable");
    const pair = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    const epk = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return { epk: { kty: "OKP", crv: "X25519", x: b64u(epk) }, z: await x25519(pair.privateKey, pub) };
  }
  if (jwk?.kty === "EC" && jwk.crv === "P-256") {
    const pub = await importP256Public(jwk, "the recipient's P-256 key");
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
    const { x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const z = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: pub }, pair.privateKey, KEY_BITS));
    return { epk: { kty: "EC", crv: "P-256", x, y }, z };
  }
  throw new MalformedError("the recipient's key must be an X25519 or P-256 public JWK");
}

/**
 * Encrypt to a recipient's public key (an agency's `enc` key from the verified directory): a compact JWE
 * with protected header {"alg":"ECDH-ES+A256KW","enc":"A256GCM","kid","cty":"json","epk"}, no apu/apv,
 * a random content key wrapped with AES-KW, a random 96-bit IV.
 * @param {Uint8Array} plaintext
 * @param {Record<string, any>} recipientJwk the public JWK, with its kid
 * @returns {Promise<string>}
 */
export async function encryptJwe(plaintext, recipientJwk) {
  if (typeof recipientJwk?.kid !== "string") throw new MalformedError("the recipient's key has no kid");
  const { epk, z } = await ephemeralAgreement(recipientJwk);
  const header = { alg: KEY_WRAP_ALG, enc: CONTENT_ENC, kid: recipientJwk.kid, cty: "json", epk };
  const protectedB64 = b64u(utf8(JSON.stringify(header)));
  const kekRaw = await concatKdf(z, KEY_WRAP_ALG, new Uint8Array(0), new Uint8Array(0));
  z.fill(0);
  const kek = await crypto.subtle.importKey("raw", kekRaw, "AES-KW", false, ["wrapKey"]);
  kekRaw.fill(0);
  // Extractable only so that AES-KW can wrap it; it is dropped when this function returns.
  const cek = await crypto.subtle.generateKey({ name: "AES-GCM", length: KEY_BITS }, true, ["encrypt"]);
  const encryptedKey = new Uint8Array(await crypto.subtle.wrapKey("raw", cek, kek, "AES-KW"));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: ascii(protectedB64), tagLength: 128 }, cek, plaintext));
  const tagAt = sealed.length - 16;
  return [protectedB64, b64u(encryptedKey), b64u(iv), b64u(sealed.subarray(0, tagAt)), b64u(sealed.subarray(tagAt))]
    .join(".");
}

/**
 * base64url SHA-256 of a compact JOSE token's ASCII bytes (the envelope's content_sha256).
 * @param {string} token
 */
export async function sha256B64u(token) {
  return b64u(new Uint8Array(await crypto.subtle.digest("SHA-256", ascii(token))));
}

/**
 * Import a P-256 private JWK (with x and y) for ECDH, non-extractable: agencies' keys in tests.
 * @param {Record<string, string>} jwk
 */
export function importP256Private(jwk) {
  if (jwk?.kty !== "EC" || jwk.crv !== "P-256") throw new CryptoError("not a P-256 private key");
  return crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d },
    { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
}
